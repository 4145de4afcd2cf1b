/** The sealed {@link JobEvent} family and its stored, numbered form. */
@NullMarked
package dev.beacon.runner.core.event;

import org.jspecify.annotations.NullMarked;
