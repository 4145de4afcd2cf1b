/** The execution plan of a job: its questions and cells in run order. */
@NullMarked
package dev.beacon.runner.core.plan;

import org.jspecify.annotations.NullMarked;
