/** The run of one job ({@link JobRunner}, {@link CellExecutor}): retries, timeouts, per-provider limits, the {@link JobJournal} port. */
@NullMarked
package dev.beacon.runner.core.engine;

import org.jspecify.annotations.NullMarked;
