/** Boot auto-configurations that embed the runner in a host: database, persistence, engine, services, routes, dashboard and health. */
@NullMarked
package dev.beacon.runner.web.autoconfigure;

import org.jspecify.annotations.NullMarked;
