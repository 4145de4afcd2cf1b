/** The use cases behind the API: {@link JobService} (jobs, their events, comparisons and drift from analysis) and evidence. */
@NullMarked
package dev.beacon.runner.core.service;

import org.jspecify.annotations.NullMarked;
