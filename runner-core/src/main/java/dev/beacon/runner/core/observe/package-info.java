/** Metrics and log correlation. */
@NullMarked
package dev.beacon.runner.core.observe;

import org.jspecify.annotations.NullMarked;
