package dev.beacon.runner.persistence.testing;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.store.NewJob;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Job specs, new jobs and results for store tests. */
public final class Jobs {

    private Jobs() {
    }

    /** A spec of {@code questions} questions asked of one model in {@code regions} regions. */
    public static JobSpec spec(String name, int questions, int regions) {
        List<Question> qs = new ArrayList<>();
        for (int i = 0; i < questions; i++) {
            qs.add(new Question("q" + i, "Question number " + i + "?"));
        }
        List<String> rs = new ArrayList<>();
        for (int i = 0; i < regions; i++) {
            rs.add("r" + i);
        }
        return new JobSpec(name, qs, List.of(new ModelSelection("model-a", rs)), InferenceParams.DEFAULT,
                JobLimits.DEFAULT, 0.67, Map.of("test", name));
    }

    /** As {@link #spec(String, int, int)}, each question asked {@code samples} times of every region. */
    public static JobSpec spec(String name, int questions, int regions, int samples) {
        JobSpec one = spec(name, questions, regions);
        return new JobSpec(one.name(), one.questions(), one.models(), one.params(), one.limits(), one.minSuccessRate(),
                one.metadata(), samples);
    }

    /** A new job of {@link #spec} created at {@code at}. */
    public static NewJob newJob(JobSpec spec, String idempotencyKey, Instant at) {
        return new NewJob(JobId.random(), spec, idempotencyKey, at);
    }

    /** A SUCCEEDED result for {@code cell}, with an output and a receipt. */
    public static ExecutionResult succeeded(Cell cell, Instant at) {
        return new ExecutionResult(cell, "sim-" + cell.endpoint().region(), ExecutionStatus.SUCCEEDED, 1,
                at.minusMillis(120), at, 120L, new InferenceOutput("Answer to " + cell, "stop", new TokenUsage(12, 34)),
                null, new Receipt("req", "out", "key-1", "sig"));
    }

    /** A FAILED result for {@code cell}. */
    public static ExecutionResult failed(Cell cell, Instant at) {
        return new ExecutionResult(cell, "sim-" + cell.endpoint().region(), ExecutionStatus.FAILED, 3,
                at.minusMillis(900), at, 900L, null, new ExecutionError("HTTP_503", "unavailable"), null);
    }
}
