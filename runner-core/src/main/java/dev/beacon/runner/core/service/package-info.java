/** The use cases behind the API: {@link JobService}, comparisons, drift between runs and evidence. */
@NullMarked
package dev.beacon.runner.core.service;

import org.jspecify.annotations.NullMarked;
