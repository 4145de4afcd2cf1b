package dev.beacon.runner.core.plan;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.spec.JobSpec;
import java.util.List;
import java.util.Objects;

/** A job ready to run: its questions in order, each with the cells to fill. */
public record ExecutionPlan(JobId jobId, JobSpec spec, List<EndpointId> endpoints, List<PlannedQuestion> questions) {

    public ExecutionPlan {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(spec, "spec");
        endpoints = List.copyOf(endpoints);
        questions = List.copyOf(questions);
    }

    /** Questions × endpoints × samples. */
    public int cellCount() {
        return endpoints.size() * questions.size() * spec.samples();
    }
}
