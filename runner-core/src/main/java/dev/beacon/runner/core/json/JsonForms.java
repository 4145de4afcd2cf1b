package dev.beacon.runner.core.json;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionError;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.JobStatus;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.domain.TokenUsage;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JacksonModule;
import tools.jackson.databind.cfg.DateTimeFeature;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The written JSON forms of {@link JobJson}, bound from the domain records: which fields, in which
 * order, and what is left out. The order is part of the contract (spec text is hashed, stored columns
 * and bundles are compared byte for byte), so every bound type names its order here instead of
 * inheriting it from its record's component order in another package.
 *
 * <p>The mapper is this class's own, never a caller's, so a host's settings (naming strategy, null
 * inclusion, date format) cannot change a byte. Instants and durations are ISO-8601 text exactly as
 * their {@code toString()} writes them; absent values are written as JSON {@code null}.
 */
final class JsonForms {

    private final JsonMapper binder;

    /** The forms; {@code probes} are extra modules, for tests that watch which serializers get built. */
    JsonForms(JacksonModule... probes) {
        binder = JsonMapper.builder()
                .addModules(probes)
                .disable(DateTimeFeature.WRITE_DATES_AS_TIMESTAMPS, DateTimeFeature.WRITE_DURATIONS_AS_TIMESTAMPS,
                        DateTimeFeature.TRUNCATE_TO_MSECS_ON_WRITE)
                // Metadata may hold JSON trees (a caller's own ObjectNode): their keys are sorted too, like a map's.
                .enable(JsonNodeFeature.WRITE_PROPERTIES_SORTED)
                .addMixIn(JobSpec.class, SpecForm.class)
                .addMixIn(Question.class, QuestionForm.class)
                .addMixIn(ModelSelection.class, ModelForm.class)
                .addMixIn(InferenceParams.class, ParamsForm.class)
                .addMixIn(JobLimits.class, LimitsForm.class)
                .addMixIn(InferenceOutput.class, OutputForm.class)
                .addMixIn(TokenUsage.class, UsageForm.class)
                .addMixIn(ExecutionError.class, ErrorForm.class)
                .addMixIn(Provenance.class, ProvenanceForm.class)
                .addMixIn(Receipt.class, ReceiptForm.class)
                .addMixIn(Seal.class, SealForm.class)
                .addMixIn(ExecutionCounts.class, CountsForm.class)
                .addMixIn(JobId.class, JobIdForm.class)
                .addMixIn(JobEvent.JobQueued.class, JobQueuedForm.class)
                .addMixIn(JobEvent.JobStarted.class, JobStartedForm.class)
                .addMixIn(JobEvent.QuestionStarted.class, QuestionStartedForm.class)
                .addMixIn(JobEvent.QuestionFinished.class, QuestionFinishedForm.class)
                .addMixIn(JobEvent.JobFinished.class, JobFinishedForm.class)
                .build();
        warmUp();
    }

    /**
     * The tree of a form: a spec or a record bound as it is (output, receipt, provenance, seal, counts),
     * or what {@link #view} or {@link #data} make.
     */
    ObjectNode tree(Object form) {
        return binder.valueToTree(Objects.requireNonNull(form, "form"));
    }

    /** The compact text of a form, written straight from the values: the text of {@link #tree}, without building it. */
    String text(Object form) {
        return binder.writeValueAsString(Objects.requireNonNull(form, "form"));
    }

    /** The form of an execution view. */
    static Object view(ExecutionResult result) {
        return ExecutionView.of(result);
    }

    /** The form of an event's {@code data}. */
    static Object data(StoredEvent stored) {
        return EventData.of(stored);
    }

    // ---------------------------------------------------------------- forms that are not a record as it is

    /** The execution view: the cell flattened into the view, and provenance beside the output rather than in it. */
    @JsonPropertyOrder({"questionId", "modelId", "region", "sample", "providerId", "status", "attempts", "startedAt",
            "completedAt", "latencyMs", "output", "error", "provenance", "carriedFrom", "receipt"})
    private record ExecutionView(String questionId, String modelId, String region, int sample, @Nullable String providerId,
                                 ExecutionStatus status, int attempts, @Nullable Instant startedAt, Instant completedAt,
                                 @Nullable Long latencyMs, @Nullable InferenceOutput output, @Nullable ExecutionError error,
                                 @Nullable Provenance provenance, @Nullable JobId carriedFrom, @Nullable Receipt receipt) {

        static ExecutionView of(ExecutionResult r) {
            Cell cell = r.cell();
            // Every output has a provenance object (NONE: all null), a cell without an output has none.
            Provenance provenance = r.output() == null ? null : r.output().provenance();
            return new ExecutionView(cell.questionId(), cell.endpoint().model(), cell.endpoint().region(), cell.sample(),
                    r.providerId(), r.status(), r.attempts(), r.startedAt(), r.completedAt(), r.latencyMs(), r.output(),
                    r.error(), provenance, r.carriedFrom(), r.receipt());
        }
    }

    /**
     * An event's data: the row's job and seq, the type, then the event's own fields. Each event of the
     * sealed hierarchy is bound by its runtime type, unwrapped; an {@code execution.finished} carries
     * its execution view, flattened, rather than a {@code result} object.
     */
    @JsonPropertyOrder({"jobId", "seq", "type"})
    private record EventData(JobId jobId, long seq, String type, @JsonUnwrapped Object fields) {

        static EventData of(StoredEvent stored) {
            Object fields = stored.event() instanceof JobEvent.ExecutionFinished finished
                    ? ExecutionView.of(finished.result()) : stored.event();
            return new EventData(stored.jobId(), stored.seq(), stored.type(), fields);
        }
    }

    // ---------------------------------------------------------------- field order of the records bound as they are

    @JsonPropertyOrder({"name", "questions", "models", "samples", "params", "limits", "minSuccessRate", "metadata"})
    private interface SpecForm {
        /** Left out at 1, so a one-sample spec (every spec stored before samples existed) keeps its text and hash. */
        @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = OneSample.class)
        int samples();

        /**
         * Sorted at every depth (the format reaches nested maps) so that equal specs give equal text. Not
         * {@code ORDER_MAP_ENTRIES_BY_KEYS} for the whole mapper: provenance headers keep their order.
         */
        @JsonFormat(with = JsonFormat.Feature.WRITE_SORTED_MAP_ENTRIES)
        Map<String, Object> metadata();
    }

    /** Jackson's {@code CUSTOM} inclusion leaves out a value this filter {@code equals}. */
    private static final class OneSample {
        @Override
        public boolean equals(Object value) {
            return Integer.valueOf(1).equals(value);
        }

        @Override
        public int hashCode() {
            return 1;
        }
    }

    @JsonPropertyOrder({"id", "text"}) private interface QuestionForm { }
    @JsonPropertyOrder({"id", "regions"}) private interface ModelForm { }
    @JsonPropertyOrder({"temperature", "maxTokens", "seed", "systemPrompt"}) private interface ParamsForm { }
    @JsonPropertyOrder({"concurrency", "executionTimeout", "jobTimeout", "maxAttempts"}) private interface LimitsForm { }
    @JsonPropertyOrder({"promptTokens", "completionTokens"}) private interface UsageForm { }
    @JsonPropertyOrder({"code", "message"}) private interface ErrorForm { }
    @JsonPropertyOrder({"requestSha256", "outputSha256", "runnerKeyId", "signature", "version"}) private interface ReceiptForm { }
    @JsonPropertyOrder({"merkleRoot", "leaves", "runnerKeyId", "signature", "sealedAt"}) private interface SealForm { }
    @JsonPropertyOrder({"succeeded", "failed", "timedOut", "cancelled", "pending"}) private interface CountsForm { }
    @JsonPropertyOrder({"cells"}) private interface JobQueuedForm { }
    @JsonPropertyOrder({"runner"}) private interface JobStartedForm { }
    @JsonPropertyOrder({"questionId", "index", "total"}) private interface QuestionStartedForm { }
    @JsonPropertyOrder({"questionId", "index", "counts"}) private interface QuestionFinishedForm { }
    @JsonPropertyOrder({"status", "counts", "seal"}) private interface JobFinishedForm { }

    /** Provenance is written beside the output (in the view) and in a column of its own, never inside it. */
    @JsonPropertyOrder({"text", "finishReason", "usage"})
    @JsonIgnoreProperties("provenance")
    private interface OutputForm {
    }

    /** {@code isEmpty()} is no field; headers keep their order. */
    @JsonPropertyOrder({"servedModel", "systemFingerprint", "responseId", "headers"})
    @JsonIgnoreProperties("empty")
    private interface ProvenanceForm {
    }

    /** A job id is its UUID text. */
    private interface JobIdForm {
        @JsonValue
        String toString();
    }

    // ---------------------------------------------------------------- warm-up

    /**
     * Writes one of each form, so that the serializers are built here, on the constructing thread. Jackson
     * builds a serializer at the first write of a type and resolves it holding the monitor of the mapper's
     * serializer cache; the first writes happen on event loops (a database driver's, the HTTP server's),
     * several at once, where waiting for that monitor blocks the loop. The values have the runtime types
     * the runner's own have: a serializer is built per list class and element type (immutable lists of one
     * or two elements have another class than longer ones), and metadata holds what reading JSON makes.
     */
    private void warmUp() {
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("list", new ArrayList<>(List.of("s", 1, 2L, 1.5, true)));
        nested.put("none", null);
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("map", nested);
        JobSpec spec = new JobSpec("warm-up", List.of(new Question("a", "A?"), new Question("b", "B?"), new Question("c", "C?")),
                List.of(new ModelSelection("m", List.of("r")), new ModelSelection("n", List.of("r", "s", "t")),
                        new ModelSelection("o", List.of("r", "s"))),
                new InferenceParams(0.5, 1, 1L, "p"), new JobLimits(1, Duration.ofSeconds(1), Duration.ofSeconds(1), 1), 1.0,
                metadata, 2);
        List<Object> forms = new ArrayList<>(List.of(spec, new JobSpec("warm-up", List.of(new Question("a", "A?")),
                List.of(new ModelSelection("m", List.of("r", "s"))), spec.params(), spec.limits(), 1.0, null)));

        Instant at = Instant.EPOCH;
        JobId job = new JobId(new UUID(0, 1));
        Receipt receipt = new Receipt("a", "b", "k", "s");
        Seal seal = new Seal("r", 1, "k", "s", at);
        ExecutionCounts counts = ExecutionCounts.EMPTY;
        InferenceOutput output = new InferenceOutput("t", "stop", new TokenUsage(1, 2), new Provenance("m", "f", "i", Map.of("h", "v")));
        ExecutionResult answered = new ExecutionResult(new Cell("a", new EndpointId("m", "r")), "p", ExecutionStatus.SUCCEEDED, 1,
                at, at, 1L, output, null, receipt, job);
        ExecutionResult unanswered = ExecutionResult.notRun(answered.cell(), ExecutionStatus.CANCELLED,
                new ExecutionError(ExecutionError.CANCELLED, "m"), at);
        forms.addAll(List.of(view(answered), view(unanswered), output, receipt, output.provenance(), Provenance.NONE, seal, counts));
        for (JobEvent event : List.of(new JobEvent.JobQueued(1), new JobEvent.JobStarted("r"), new JobEvent.QuestionStarted("a", 0, 1),
                new JobEvent.ExecutionFinished(answered), new JobEvent.ExecutionFinished(unanswered),
                new JobEvent.QuestionFinished("a", 0, counts), new JobEvent.JobFinished(JobStatus.SUCCEEDED, counts, seal))) {
            forms.add(data(new StoredEvent(job, 1, at, event)));
        }
        forms.forEach(this::text); // trees are built by the same serializers
    }
}
