/** The job spec, its reader with field-by-field validation, and the layout of its cells. */
@NullMarked
package dev.beacon.runner.core.spec;

import org.jspecify.annotations.NullMarked;
