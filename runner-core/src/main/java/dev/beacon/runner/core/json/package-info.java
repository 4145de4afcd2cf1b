/** The JSON of specs, events and stored rows. */
@NullMarked
package dev.beacon.runner.core.json;

import org.jspecify.annotations.NullMarked;
