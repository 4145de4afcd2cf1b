package dev.beacon.runner.core.domain;

/** Terminal outcome of one execution (one cell). */
public enum ExecutionStatus {
    SUCCEEDED, FAILED, TIMED_OUT, CANCELLED
}
