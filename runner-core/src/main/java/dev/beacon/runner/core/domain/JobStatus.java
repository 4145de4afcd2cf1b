package dev.beacon.runner.core.domain;

import java.util.Set;

/**
 * Life cycle of a job: {@code QUEUED → RUNNING → SUCCEEDED | PARTIAL | FAILED | CANCELLED | TIMED_OUT}.
 * The allowed transitions live here and nowhere else; stores enforce them with compare-and-set.
 */
public enum JobStatus {
    QUEUED, RUNNING, SUCCEEDED, PARTIAL, FAILED, CANCELLED, TIMED_OUT;

    public boolean isTerminal() {
        return this != QUEUED && this != RUNNING;
    }

    /** Whether a job in this status may move to {@code next}. */
    public boolean canTransitionTo(JobStatus next) {
        return switch (this) {
            // A queued job can be cancelled, or fail before it ever runs (for example a spec that no
            // longer matches the configured endpoints after a restart).
            case QUEUED -> Set.of(RUNNING, CANCELLED, FAILED).contains(next);
            case RUNNING -> next.isTerminal();
            default -> false;
        };
    }

    /** The statuses a job may be in just before it moves to {@code next}. */
    public static Set<JobStatus> predecessorsOf(JobStatus next) {
        var result = java.util.EnumSet.noneOf(JobStatus.class);
        for (JobStatus s : values()) {
            if (s.canTransitionTo(next)) {
                result.add(s);
            }
        }
        return result;
    }
}
