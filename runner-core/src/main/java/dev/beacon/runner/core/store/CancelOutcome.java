package dev.beacon.runner.core.store;

/**
 * Result of a cancel request.
 * {@code CANCELLED}: the job was queued and is now cancelled, every cell stored {@code CANCELLED}.
 * {@code REQUESTED}: the job is running; its owner was asked to stop and will finish it.
 * {@code ALREADY_TERMINAL}: nothing to cancel. {@code NOT_FOUND}: no such job.
 */
public enum CancelOutcome {
    CANCELLED, REQUESTED, ALREADY_TERMINAL, NOT_FOUND
}
