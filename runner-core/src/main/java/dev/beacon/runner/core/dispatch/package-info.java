/** Claiming and leasing jobs for one instance: {@link JobDispatcher} and its periodic loops. */
@NullMarked
package dev.beacon.runner.core.dispatch;

import org.jspecify.annotations.NullMarked;
