package dev.beacon.runner.core.store;

/** Outcome of storing a job: {@code created} is false when an identical earlier submission was found. */
public record Submission(JobRecord job, boolean created) {
}
