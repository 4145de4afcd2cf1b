package dev.beacon.runner.core.spec;

import dev.beacon.runner.core.domain.Question;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A job as submitted, with every server default already applied; this normalised form is what is
 * stored, compared for idempotent re-submission, and run.
 *
 * @param metadata the submitter's own fields, kept as given; none ({@code Map.of()}) when given {@code null}
 * @param samples  how often each question is asked of each endpoint, 1 to {@value #MAX_SAMPLES}
 */
public record JobSpec(
        String name,
        List<Question> questions,
        List<ModelSelection> models,
        InferenceParams params,
        JobLimits limits,
        double minSuccessRate,
        Map<String, Object> metadata,
        int samples) {

    /** The most samples a job may ask for per question and endpoint. */
    public static final int MAX_SAMPLES = 50;

    /** A one-sample job, as every job was before samples existed. */
    public JobSpec(String name, List<Question> questions, List<ModelSelection> models, InferenceParams params, JobLimits limits,
                   double minSuccessRate, @Nullable Map<String, Object> metadata) {
        this(name, questions, models, params, limits, minSuccessRate, metadata, 1);
    }

    // Not compact: metadata may be given as null (none), but is never null here.
    public JobSpec(String name, List<Question> questions, List<ModelSelection> models, InferenceParams params, JobLimits limits,
                   double minSuccessRate, @Nullable Map<String, Object> metadata, int samples) {
        Objects.requireNonNull(name, "name");
        questions = List.copyOf(questions);
        models = List.copyOf(models);
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(limits, "limits");
        Map<String, Object> meta = metadata == null ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
        if (questions.isEmpty()) {
            throw new IllegalArgumentException("questions must not be empty");
        }
        if (models.isEmpty()) {
            throw new IllegalArgumentException("models must not be empty");
        }
        if (!(minSuccessRate >= 0 && minSuccessRate <= 1)) {
            throw new IllegalArgumentException("minSuccessRate must be between 0 and 1, but was " + minSuccessRate);
        }
        if (samples < 1 || samples > MAX_SAMPLES) {
            throw new IllegalArgumentException("samples must be between 1 and " + MAX_SAMPLES + ", but was " + samples);
        }
        this.name = name;
        this.questions = questions;
        this.models = models;
        this.params = params;
        this.limits = limits;
        this.minSuccessRate = minSuccessRate;
        this.metadata = meta;
        this.samples = samples;
    }
}
