/** The dashboard page and its route. */
@NullMarked
package dev.beacon.runner.web.dashboard;

import org.jspecify.annotations.NullMarked;
