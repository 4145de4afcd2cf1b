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
import dev.beacon.runner.core.evidence.Sha256;
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
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes and reads the JSON forms that storage and the HTTP API share: the normalised job spec, the
 * execution view (README, API: "Execution view") and the {@code data} of a stored event (README, API: "Events").
 *
 * <p>Fields are written in a fixed order, and metadata objects with their keys sorted, so that equal
 * specs give byte-equal JSON; {@link #specSha256(JobSpec)} relies on it for idempotent submission.
 * Instants are ISO-8601 strings, durations ISO-8601 durations ({@code PT2M}); absent values are
 * written as JSON {@code null}. Readers throw {@link IllegalArgumentException} for JSON that does not
 * have the expected shape. Instances are immutable and thread-safe.
 */
public final class JobJson {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final JsonMapper mapper;

    /** A {@code JobJson} over a default {@link JsonMapper}. */
    public JobJson() {
        this(JsonMapper.builder().build());
    }

    /**
     * A {@code JobJson} using {@code mapper} to parse and print trees.
     *
     * <p>Builds here, on the constructing thread, the only two deserializers the readers use (JSON
     * trees, and maps for a spec's metadata). Jackson builds a deserializer lazily at its first use
     * while holding a lock of the mapper, and the first reads happen in row mappers on a database
     * driver's event loop, several at once (concurrent same-key submissions all read the earlier job):
     * the others then parked on that lock, on an event loop (seen by BlockHound). Built once here,
     * later reads find them in the mapper's cache without locking.
     */
    public JobJson(JsonMapper mapper) {
        this.mapper = Objects.requireNonNull(mapper, "mapper");
        mapper.readTree("{}");
        mapper.treeToValue(NODES.objectNode(), LinkedHashMap.class);
    }

    /** The mapper used to parse and print. */
    public JsonMapper mapper() {
        return mapper;
    }

    /** Parses JSON text into a tree. */
    public JsonNode parse(String json) {
        try {
            return mapper.readTree(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("json must be valid JSON, but was not: " + e.getMessage(), e);
        }
    }

    /** Prints a tree as compact JSON text. */
    public String print(JsonNode node) {
        return mapper.writeValueAsString(node);
    }

    // ---------------------------------------------------------------- spec

    /**
     * The spec as a JSON tree, fields in a fixed order and metadata keys sorted. {@code samples} is
     * written only when it is not 1, so a one-sample spec (every spec stored before samples existed)
     * keeps its text and its {@link #specSha256(JobSpec) hash}.
     */
    public ObjectNode specNode(JobSpec spec) {
        ObjectNode root = NODES.objectNode();
        root.put("name", spec.name());
        ArrayNode questions = root.putArray("questions");
        for (Question q : spec.questions()) {
            questions.addObject().put("id", q.id()).put("text", q.text());
        }
        ArrayNode models = root.putArray("models");
        for (ModelSelection m : spec.models()) {
            ObjectNode model = models.addObject().put("id", m.id());
            ArrayNode regions = model.putArray("regions");
            m.regions().forEach(regions::add);
        }
        if (spec.samples() != 1) {
            root.put("samples", spec.samples());
        }
        InferenceParams p = spec.params();
        root.putObject("params")
                .put("temperature", p.temperature())
                .put("maxTokens", p.maxTokens())
                .put("seed", p.seed())
                .put("systemPrompt", p.systemPrompt());
        JobLimits l = spec.limits();
        root.putObject("limits")
                .put("concurrency", l.concurrency())
                .put("executionTimeout", l.executionTimeout().toString())
                .put("jobTimeout", l.jobTimeout().toString())
                .put("maxAttempts", l.maxAttempts());
        root.put("minSuccessRate", spec.minSuccessRate());
        root.set("metadata", sorted(mapper.valueToTree(spec.metadata())));
        return root;
    }

    /** The spec as compact JSON text; equal specs give equal text. */
    public String writeSpec(JobSpec spec) {
        return print(specNode(spec));
    }

    /** Hex SHA-256 of {@link #writeSpec(JobSpec)}: equal specs, equal hashes. */
    public String specSha256(JobSpec spec) {
        return Sha256.hex(writeSpec(spec));
    }

    /** Reads a spec written by {@link #writeSpec(JobSpec)}. */
    public JobSpec readSpec(String json) {
        return readSpec(parse(json));
    }

    /** Reads a spec tree of the shape {@link #specNode(JobSpec)} writes; every field but {@code samples} must be present. */
    public JobSpec readSpec(JsonNode root) {
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

    // ---------------------------------------------------------------- execution view

    /** The execution view of the README's API. */
    public ObjectNode executionNode(ExecutionResult r) {
        ObjectNode node = NODES.objectNode();
        putExecution(node, r);
        return node;
    }

    /** The execution view as compact JSON text. */
    public String writeExecution(ExecutionResult r) {
        return print(executionNode(r));
    }

    /** Reads an execution view. */
    public ExecutionResult readExecution(String json) {
        return readExecution(parse(json));
    }

    /**
     * Reads an execution view tree (extra fields, such as an event's, are ignored); a view without
     * {@code sample}, as stored before samples existed, is sample 0.
     */
    public ExecutionResult readExecution(JsonNode node) {
        requireObject("execution", node);
        JsonNode sample = node.path("sample");
        Cell cell = new Cell(string(node, "questionId"), new EndpointId(string(node, "modelId"), string(node, "region")),
                absent(sample) ? 0 : sample.asInt());
        JsonNode latency = node.path("latencyMs");
        return new ExecutionResult(
                cell,
                nullableString(node, "providerId"),
                ExecutionStatus.valueOf(string(node, "status")),
                required(node, "attempts").asInt(),
                instant(node, "startedAt"),
                instant(node, "completedAt"),
                latency.isNumber() ? latency.asLong() : null,
                withProvenance(readOutput(node.path("output")), readProvenance(node.path("provenance"))),
                readError(node.path("error")),
                readReceipt(node.path("receipt")),
                absent(node.path("carriedFrom")) ? null : JobId.parse(string(node, "carriedFrom")));
    }

    /** The {@code output} object of the execution view, or {@code null} for none. */
    public ObjectNode outputNode(InferenceOutput output) {
        if (output == null) {
            return null;
        }
        ObjectNode node = NODES.objectNode().put("text", output.text()).put("finishReason", output.finishReason());
        node.putObject("usage")
                .put("promptTokens", output.usage().promptTokens())
                .put("completionTokens", output.usage().completionTokens());
        return node;
    }

    /** Reads an {@code output} object; {@code null} or a JSON null gives {@code null}. */
    public InferenceOutput readOutput(JsonNode node) {
        if (absent(node)) {
            return null;
        }
        JsonNode usage = node.path("usage");
        TokenUsage tokens = absent(usage) ? TokenUsage.UNKNOWN
                : new TokenUsage(nullableInt(usage, "promptTokens"), nullableInt(usage, "completionTokens"));
        return new InferenceOutput(string(node, "text"), nullableString(node, "finishReason"), tokens);
    }

    /** The {@code receipt} object of the execution view, or {@code null} for none. */
    public ObjectNode receiptNode(Receipt receipt) {
        if (receipt == null) {
            return null;
        }
        return NODES.objectNode()
                .put("requestSha256", receipt.requestSha256())
                .put("outputSha256", receipt.outputSha256())
                .put("runnerKeyId", receipt.runnerKeyId())
                .put("signature", receipt.signature())
                .put("version", receipt.version());
    }

    /**
     * Reads a {@code receipt} object; {@code null} or a JSON null gives {@code null}. A receipt without
     * {@code version} was stored before versions existed: version 1.
     */
    public Receipt readReceipt(JsonNode node) {
        if (absent(node)) {
            return null;
        }
        JsonNode version = node.path("version");
        return new Receipt(string(node, "requestSha256"), string(node, "outputSha256"),
                string(node, "runnerKeyId"), string(node, "signature"), absent(version) ? 1 : version.asInt());
    }

    /** The {@code provenance} object of the execution view: every field, {@code null} where not reported. */
    public ObjectNode provenanceNode(Provenance p) {
        ObjectNode node = NODES.objectNode()
                .put("servedModel", p.servedModel())
                .put("systemFingerprint", p.systemFingerprint())
                .put("responseId", p.responseId());
        ObjectNode headers = node.putObject("headers");
        p.headers().forEach(headers::put);
        return node;
    }

    /** Reads a {@code provenance} object; {@code null}, a JSON null or a missing node gives {@link Provenance#NONE}. */
    public Provenance readProvenance(JsonNode node) {
        if (absent(node)) {
            return Provenance.NONE;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        node.path("headers").properties().forEach(e -> headers.put(e.getKey(), e.getValue().asString()));
        return new Provenance(nullableString(node, "servedModel"), nullableString(node, "systemFingerprint"),
                nullableString(node, "responseId"), headers);
    }

    /** Provenance as JSON text for a storage column; {@code null} when nothing was reported. */
    public String writeProvenance(Provenance provenance) {
        return provenance == null || provenance.isEmpty() ? null : print(provenanceNode(provenance));
    }

    /** Reads provenance stored by {@link #writeProvenance}; {@code null} gives {@link Provenance#NONE}. */
    public Provenance readProvenance(String json) {
        return json == null ? Provenance.NONE : readProvenance(parse(json));
    }

    /** {@code output} with {@code provenance}, or {@code null} for no output. */
    public static InferenceOutput withProvenance(InferenceOutput output, Provenance provenance) {
        return output == null ? null : new InferenceOutput(output.text(), output.finishReason(), output.usage(), provenance);
    }

    /** The {@code seal} object of README, "Seals and bundles", or {@code null} for none. */
    public ObjectNode sealNode(Seal seal) {
        if (seal == null) {
            return null;
        }
        return NODES.objectNode()
                .put("merkleRoot", seal.merkleRoot())
                .put("leaves", seal.leaves())
                .put("runnerKeyId", seal.runnerKeyId())
                .put("signature", seal.signature())
                .put("sealedAt", seal.sealedAt().toString());
    }

    /** Reads a {@code seal} object; {@code null}, a JSON null or a missing node gives {@code null}. */
    public Seal readSeal(JsonNode node) {
        if (absent(node)) {
            return null;
        }
        return new Seal(string(node, "merkleRoot"), required(node, "leaves").asInt(), string(node, "runnerKeyId"),
                string(node, "signature"), Instant.parse(string(node, "sealedAt")));
    }

    /** A seal as JSON text for a storage column, or {@code null}. */
    public String writeSeal(Seal seal) {
        return seal == null ? null : print(sealNode(seal));
    }

    /** Reads a seal stored by {@link #writeSeal(Seal)}; {@code null} gives {@code null}. */
    public Seal readSeal(String json) {
        return json == null ? null : readSeal(parse(json));
    }

    /** {@code output} as JSON text for a storage column, or {@code null}. */
    public String writeOutput(InferenceOutput output) {
        return output == null ? null : print(outputNode(output));
    }

    /** {@code receipt} as JSON text for a storage column, or {@code null}. */
    public String writeReceipt(Receipt receipt) {
        return receipt == null ? null : print(receiptNode(receipt));
    }

    /** Reads JSON text written by {@link #writeOutput}; {@code null} gives {@code null}. */
    public InferenceOutput readOutput(String json) {
        return json == null ? null : readOutput(parse(json));
    }

    /** Reads JSON text written by {@link #writeReceipt}; {@code null} gives {@code null}. */
    public Receipt readReceipt(String json) {
        return json == null ? null : readReceipt(parse(json));
    }

    /** {@code {succeeded, failed, timedOut, cancelled, pending}}. */
    public ObjectNode countsNode(ExecutionCounts c) {
        return NODES.objectNode()
                .put("succeeded", c.succeeded())
                .put("failed", c.failed())
                .put("timedOut", c.timedOut())
                .put("cancelled", c.cancelled())
                .put("pending", c.pending());
    }

    /** Reads a counts object. */
    public ExecutionCounts readCounts(JsonNode node) {
        requireObject("counts", node);
        return new ExecutionCounts(required(node, "succeeded").asInt(), required(node, "failed").asInt(),
                required(node, "timedOut").asInt(), required(node, "cancelled").asInt(), required(node, "pending").asInt());
    }

    // ---------------------------------------------------------------- events

    /** The {@code data} object of an event: {@code jobId}, {@code seq}, {@code type}, then the type's fields. */
    public ObjectNode eventNode(StoredEvent stored) {
        ObjectNode node = NODES.objectNode()
                .put("jobId", stored.jobId().toString())
                .put("seq", stored.seq())
                .put("type", stored.type());
        // Java 17: no pattern switch; the chain covers every permitted subtype of the sealed JobEvent.
        JobEvent event = stored.event();
        if (event instanceof JobEvent.JobQueued e) {
            node.put("cells", e.cells());
        } else if (event instanceof JobEvent.JobStarted e) {
            node.put("runner", e.runner());
        } else if (event instanceof JobEvent.QuestionStarted e) {
            node.put("questionId", e.questionId()).put("index", e.index()).put("total", e.total());
        } else if (event instanceof JobEvent.ExecutionFinished e) {
            putExecution(node, e.result());
        } else if (event instanceof JobEvent.QuestionFinished e) {
            node.put("questionId", e.questionId()).put("index", e.index());
            node.set("counts", countsNode(e.counts()));
        } else if (event instanceof JobEvent.JobFinished e) {
            node.put("status", e.status().name());
            node.set("counts", countsNode(e.counts()));
            node.set("seal", orNull(sealNode(e.seal())));
        } else {
            throw new IllegalArgumentException("event must be a known JobEvent, but was " + event);
        }
        return node;
    }

    /** The {@code data} of an event as one line of compact JSON. */
    public String writeEventData(StoredEvent stored) {
        return print(eventNode(stored));
    }

    /** Reads an event from its stored data; {@code jobId} and {@code seq} come from the row, not the data. */
    public StoredEvent readEvent(JobId jobId, long seq, Instant createdAt, String data) {
        return readEvent(jobId, seq, createdAt, parse(data));
    }

    /** Reads an event from its data tree; the data must contain {@code type}. */
    public StoredEvent readEvent(JobId jobId, long seq, Instant createdAt, JsonNode data) {
        requireObject("event data", data);
        String type = string(data, "type");
        JobEvent event = switch (type) {
            case "job.queued" -> new JobEvent.JobQueued(required(data, "cells").asInt());
            case "job.started" -> new JobEvent.JobStarted(nullableString(data, "runner"));
            case "question.started" -> new JobEvent.QuestionStarted(string(data, "questionId"),
                    required(data, "index").asInt(), required(data, "total").asInt());
            case "execution.finished" -> new JobEvent.ExecutionFinished(readExecution(data));
            case "question.finished" -> new JobEvent.QuestionFinished(string(data, "questionId"),
                    required(data, "index").asInt(), readCounts(data.path("counts")));
            case "job.finished" -> new JobEvent.JobFinished(JobStatus.valueOf(string(data, "status")),
                    readCounts(data.path("counts")), readSeal(data.path("seal")));
            default -> throw new IllegalArgumentException("event type must be a known type, but was '" + type + "'");
        };
        return new StoredEvent(jobId, seq, createdAt, event);
    }

    // ---------------------------------------------------------------- helpers

    private void putExecution(ObjectNode node, ExecutionResult r) {
        node.put("questionId", r.cell().questionId())
                .put("modelId", r.cell().endpoint().model())
                .put("region", r.cell().endpoint().region())
                .put("sample", r.cell().sample())
                .put("providerId", r.providerId())
                .put("status", r.status().name())
                .put("attempts", r.attempts())
                .put("startedAt", r.startedAt() == null ? null : r.startedAt().toString())
                .put("completedAt", r.completedAt().toString())
                .put("latencyMs", r.latencyMs());
        node.set("output", orNull(outputNode(r.output())));
        node.set("error", r.error() == null ? NODES.nullNode()
                : NODES.objectNode().put("code", r.error().code()).put("message", r.error().message()));
        node.set("provenance", r.output() == null ? NODES.nullNode() : provenanceNode(r.output().provenance()));
        node.put("carriedFrom", r.carriedFrom() == null ? null : r.carriedFrom().toString());
        node.set("receipt", orNull(receiptNode(r.receipt())));
    }

    private static ExecutionError readError(JsonNode node) {
        return absent(node) ? null : new ExecutionError(string(node, "code"), nullableString(node, "message"));
    }

    private static JsonNode orNull(JsonNode node) {
        return node == null ? NODES.nullNode() : node;
    }

    /** A copy of the tree with every object's keys in sorted order, so that map order never matters. */
    private static JsonNode sorted(JsonNode node) {
        if (node.isObject()) {
            TreeMap<String, JsonNode> byKey = new TreeMap<>();
            node.properties().forEach(e -> byKey.put(e.getKey(), sorted(e.getValue())));
            ObjectNode copy = NODES.objectNode();
            byKey.forEach(copy::set);
            return copy;
        }
        if (node.isArray()) {
            ArrayNode copy = NODES.arrayNode();
            node.forEach(child -> copy.add(sorted(child)));
            return copy;
        }
        return node;
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

    private static String nullableString(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : value.asString();
    }

    private static Long nullableLong(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : value.asLong();
    }

    private static Integer nullableInt(JsonNode parent, String field) {
        JsonNode value = parent.path(field);
        return absent(value) ? null : value.asInt();
    }

    private static Instant instant(JsonNode parent, String field) {
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
