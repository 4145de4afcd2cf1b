/** The storage ports ({@link JobStore}, {@link EvidenceStore}, {@link JobSignals}) and the records they exchange. */
@NullMarked
package dev.beacon.runner.core.store;

import org.jspecify.annotations.NullMarked;
