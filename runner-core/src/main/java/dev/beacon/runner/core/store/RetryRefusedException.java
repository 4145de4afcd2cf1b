package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;

/** A retry the store will not make: the source is unknown, still running, or has nothing to run again. */
public final class RetryRefusedException extends RuntimeException {

    /** Why a retry was refused. */
    public enum Reason { SOURCE_NOT_FOUND, SOURCE_NOT_TERMINAL, NOTHING_TO_RETRY }

    private final JobId source;
    private final Reason reason;

    public RetryRefusedException(JobId source, Reason reason, String message) {
        super(message);
        this.source = source;
        this.reason = reason;
    }

    public JobId source() {
        return source;
    }

    public Reason reason() {
        return reason;
    }
}
