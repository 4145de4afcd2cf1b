/** Endpoint sets and their providers: the catalog of what a job may call, and how. */
@NullMarked
package dev.beacon.runner.core.endpoint;

import org.jspecify.annotations.NullMarked;
