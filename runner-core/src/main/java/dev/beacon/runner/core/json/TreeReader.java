package dev.beacon.runner.core.json;

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
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Reads {@link JobJson}'s forms from trees, field by field. Not data binding, on purpose: the messages
 * for bad input are a contract ({@code name must be a string, but was 7}: the field and the value, as
 * verify reports and problem responses pass them on), a string field takes only a JSON string where
 * binding would coerce {@code 7} to {@code "7"}, and a field missing from a form stored before it
 * existed gets its own default ({@code samples} 1, {@code sample} 0, receipt {@code version} 1, no
 * provenance, no seal). Binding would need custom deserializers for all three, and each of those would
 * have to be built ahead of the first read (see the constructor): more code, not less.
 */
final class TreeReader {

    private final JsonMapper mapper;

    /** Builds the only two deserializers the reads use, here and not at a first read (see {@link JobJson#JobJson(JsonMapper)}). */
    TreeReader(JsonMapper mapper) {
        this.mapper = mapper;
        mapper.readTree("{}");
        mapper.treeToValue(JsonNodeFactory.instance.objectNode(), LinkedHashMap.class);
    }

    JobSpec spec(JsonNode root) {
        requireObject("spec", root);
        List<Question> questions = new ArrayList<>();
        for (JsonNode q : array(root, "questions")) {
            questions.add(new Question(string(q, "id"), string(q, "text")));
        }
        List<ModelSelection> models = new ArrayList<>();
        for (JsonNode m : array(root, "models")) {
            List<String> regions = new ArrayList<>();
            for (JsonNode r : array(m, "regions")) {
                regions.add(r.asString());
            }
            models.add(new ModelSelection(string(m, "id"), regions));
        }
        JsonNode p = object(root, "params");
        var params = new InferenceParams(
                required(p, "temperature").asDouble(), required(p, "maxTokens").asInt(),
                nullableLong(p, "seed"), nullableString(p, "systemPrompt"));
        JsonNode l = object(root, "limits");
        var limits = new JobLimits(
                required(l, "concurrency").asInt(), Duration.parse(string(l, "executionTimeout")),
                Duration.parse(string(l, "jobTimeout")), required(l, "maxAttempts").asInt());
        JsonNode metadata = root.path("metadata");
        @SuppressWarnings("unchecked")
        Map<String, Object> meta = metadata.isObject() ? mapper.treeToValue(metadata, LinkedHashMap.class) : Map.of();
        JsonNode samples = root.path("samples");
        return new JobSpec(string(root, "name"), questions, models, params, limits,
                required(root, "minSuccessRate").asDouble(), meta, absent(samples) ? 1 : samples.asInt());
    }

    ExecutionResult execution(JsonNode node) {
        requireObject("execution", node);
        JsonNode sample = node.path("sample");
        Cell cell = new Cell(string(node, "questionId"), new EndpointId(string(node, "modelId"), string(node, "region")),
                absent(sample) ? 0 : sample.asInt());
        JsonNode latency = node.path("latencyMs");
        // Read in field order, as arguments are evaluated, so that the first bad field is the one reported.
        String providerId = nullableString(node, "providerId");
        ExecutionStatus status = ExecutionStatus.valueOf(string(node, "status"));
        int attempts = required(node, "attempts").asInt();
        Instant startedAt = instant(node, "startedAt");
        Instant completedAt = instant(node, "completedAt");
        Long latencyMs = latency.isNumber() ? latency.asLong() : null;
        InferenceOutput output = JobJson.withProvenance(output(node.path("output")), provenance(node.path("provenance")));
        ExecutionError error = error(node.path("error"));
        Receipt receipt = receipt(node.path("receipt"));
        JobId carriedFrom = absent(node.path("carriedFrom")) ? null : JobId.parse(string(node, "carriedFrom"));
        // A missing completedAt fails here as it would in ExecutionResult's constructor.
        return new ExecutionResult(cell, providerId, status, attempts, startedAt,
                Objects.requireNonNull(completedAt, "completedAt"), latencyMs, output, error, receipt, carriedFrom);
    }

    @Nullable InferenceOutput output(JsonNode node) {
        if (absent(node)) {
            return null;
        }
        JsonNode usage = node.path("usage");
        TokenUsage tokens = absent(usage) ? TokenUsage.UNKNOWN
                : new TokenUsage(nullableInt(usage, "promptTokens"), nullableInt(usage, "completionTokens"));
        return new InferenceOutput(string(node, "text"), nullableString(node, "finishReason"), tokens);
    }

    @Nullable Receipt receipt(JsonNode node) {
        if (absent(node)) {
            return null;
        }
        JsonNode version = node.path("version");
        return new Receipt(string(node, "requestSha256"), string(node, "outputSha256"),
                string(node, "runnerKeyId"), string(node, "signature"), absent(version) ? 1 : version.asInt());
    }

    Provenance provenance(JsonNode node) {
        if (absent(node)) {
            return Provenance.NONE;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        node.path("headers").properties().forEach(e -> headers.put(e.getKey(), e.getValue().asString()));
        return new Provenance(nullableString(node, "servedModel"), nullableString(node, "systemFingerprint"),
                nullableString(node, "responseId"), headers);
    }

    @Nullable Seal seal(JsonNode node) {
        if (absent(node)) {
            return null;
        }
        return new Seal(string(node, "merkleRoot"), required(node, "leaves").asInt(), string(node, "runnerKeyId"),
                string(node, "signature"), Instant.parse(string(node, "sealedAt")));
    }

    ExecutionCounts counts(JsonNode node) {
        requireObject("counts", node);
        return new ExecutionCounts(required(node, "succeeded").asInt(), required(node, "failed").asInt(),
                required(node, "timedOut").asInt(), required(node, "cancelled").asInt(), required(node, "pending").asInt());
    }

    /** The event's type names its fields: the switch is the reading side of the sealed {@link JobEvent}. */
    StoredEvent event(JobId jobId, long seq, Instant createdAt, JsonNode data) {
        requireObject("event data", data);
        String type = string(data, "type");
        JobEvent event = switch (type) {
            case "job.queued" -> new JobEvent.JobQueued(required(data, "cells").asInt());
            case "job.started" -> new JobEvent.JobStarted(nullableString(data, "runner"));
            case "question.started" -> new JobEvent.QuestionStarted(string(data, "questionId"),
                    required(data, "index").asInt(), required(data, "total").asInt());
            case "execution.finished" -> new JobEvent.ExecutionFinished(execution(data));
            case "question.finished" -> new JobEvent.QuestionFinished(string(data, "questionId"),
                    required(data, "index").asInt(), counts(data.path("counts")));
            case "job.finished" -> new JobEvent.JobFinished(JobStatus.valueOf(string(data, "status")),
                    counts(data.path("counts")), seal(data.path("seal")));
            default -> throw new IllegalArgumentException("event type must be a known type, but was '" + type + "'");
        };
        return new StoredEvent(jobId, seq, createdAt, event);
    }

    // ---------------------------------------------------------------- fields

    private static @Nullable ExecutionError error(JsonNode node) {
        return absent(node) ? null : new ExecutionError(string(node, "code"), nullableString(node, "message"));
    }

    private static boolean absent(JsonNode node) {
        return node == null || node.isMissingNode() || node.isNull();
    }

    private static void requireObject(String what, JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(what + " must be a JSON object, but was " + node);
        }
    }

    private static JsonNode required(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        if (absent(value)) {
            throw new IllegalArgumentException(field + " must be present, but was missing");
        }
        return value;
    }

    private static String string(JsonNode parent, String field) {
        JsonNode value = required(parent, field);
        if (!value.isString()) {
            throw new IllegalArgumentException(field + " must be a string, but was " + value);
        }
        return value.stringValue();
    }

    private static @Nullable String nullableString(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : value.asString();
    }

    private static @Nullable Long nullableLong(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : value.asLong();
    }

    private static @Nullable Integer nullableInt(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : value.asInt();
    }

    private static @Nullable Instant instant(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : Instant.parse(value.asString());
    }

    private static JsonNode object(JsonNode parent, String field) {
        JsonNode value = required(parent, field);
        requireObject(field, value);
        return value;
    }

    private static JsonNode array(JsonNode parent, String field) {
        JsonNode value = required(parent, field);
        if (!value.isArray()) {
            throw new IllegalArgumentException(field + " must be an array, but was " + value);
        }
        return value;
    }
}
