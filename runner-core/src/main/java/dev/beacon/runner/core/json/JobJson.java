package dev.beacon.runner.core.json;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.Provenance;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.evidence.Sha256;
import dev.beacon.runner.core.spec.JobSpec;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
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
 *
 * <p>The forms are bound from the domain records by {@link JsonForms} (field order, omissions), with its
 * own mapper, and read field by field by {@link TreeReader} (messages for bad input, defaults for older
 * stored forms); this class is the API over both. The {@code write*} methods write text straight from
 * the values, the text that printing the matching {@code *Node} tree gives; the caller's mapper parses,
 * and prints the trees it is given.
 */
public final class JobJson {

    /** One for every instance: its mapper is its own, whatever mapper an instance is given, and built once. */
    private static final JsonForms FORMS = new JsonForms();

    private final JsonMapper mapper;
    private final TreeReader reader;

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
        this.reader = new TreeReader(mapper);
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
        return FORMS.tree(spec);
    }

    /** The spec as compact JSON text; equal specs give equal text. */
    public String writeSpec(JobSpec spec) {
        return FORMS.text(spec);
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
        return reader.spec(root);
    }

    // ---------------------------------------------------------------- execution view

    /** The execution view of the README's API. */
    public ObjectNode executionNode(ExecutionResult r) {
        return FORMS.tree(JsonForms.view(r));
    }

    /** The execution view as compact JSON text. */
    public String writeExecution(ExecutionResult r) {
        return FORMS.text(JsonForms.view(r));
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
        return reader.execution(node);
    }

    /** The {@code output} object of the execution view, or {@code null} for none. */
    public @Nullable ObjectNode outputNode(@Nullable InferenceOutput output) {
        return output == null ? null : FORMS.tree(output);
    }

    /** Reads an {@code output} object; {@code null} or a JSON null gives {@code null}. */
    public @Nullable InferenceOutput readOutput(@Nullable JsonNode node) {
        return node == null ? null : reader.output(node);
    }

    /** The {@code receipt} object of the execution view, or {@code null} for none. */
    public @Nullable ObjectNode receiptNode(@Nullable Receipt receipt) {
        return receipt == null ? null : FORMS.tree(receipt);
    }

    /**
     * Reads a {@code receipt} object; {@code null} or a JSON null gives {@code null}. A receipt without
     * {@code version} was stored before versions existed: version 1.
     */
    public @Nullable Receipt readReceipt(@Nullable JsonNode node) {
        return node == null ? null : reader.receipt(node);
    }

    /** The {@code provenance} object of the execution view: every field, {@code null} where not reported. */
    public ObjectNode provenanceNode(Provenance p) {
        return FORMS.tree(p);
    }

    /** Reads a {@code provenance} object; {@code null}, a JSON null or a missing node gives {@link Provenance#NONE}. */
    public Provenance readProvenance(@Nullable JsonNode node) {
        return node == null ? Provenance.NONE : reader.provenance(node);
    }

    /** Provenance as JSON text for a storage column; {@code null} when nothing was reported. */
    public @Nullable String writeProvenance(@Nullable Provenance provenance) {
        return provenance == null || !writesProvenance(provenance) ? null : FORMS.text(provenance);
    }

    /** Whether {@link #writeProvenance} writes {@code provenance} (it writes none for one that reports nothing). */
    public boolean writesProvenance(@Nullable Provenance provenance) {
        return provenance != null && !provenance.isEmpty();
    }

    /** Reads provenance stored by {@link #writeProvenance}; {@code null} gives {@link Provenance#NONE}. */
    public Provenance readProvenance(@Nullable String json) {
        return json == null ? Provenance.NONE : readProvenance(parse(json));
    }

    /** {@code output} with {@code provenance}, or {@code null} for no output. */
    public static @Nullable InferenceOutput withProvenance(@Nullable InferenceOutput output, Provenance provenance) {
        return output == null ? null : new InferenceOutput(output.text(), output.finishReason(), output.usage(), provenance);
    }

    /** The {@code seal} object of README, "Seals and bundles", or {@code null} for none. */
    public @Nullable ObjectNode sealNode(@Nullable Seal seal) {
        return seal == null ? null : FORMS.tree(seal);
    }

    /** Reads a {@code seal} object; {@code null}, a JSON null or a missing node gives {@code null}. */
    public @Nullable Seal readSeal(@Nullable JsonNode node) {
        return node == null ? null : reader.seal(node);
    }

    /** A seal as JSON text for a storage column, or {@code null}. */
    public @Nullable String writeSeal(@Nullable Seal seal) {
        return seal == null ? null : FORMS.text(seal);
    }

    /** Reads a seal stored by {@link #writeSeal(Seal)}; {@code null} gives {@code null}. */
    public @Nullable Seal readSeal(@Nullable String json) {
        return json == null ? null : readSeal(parse(json));
    }

    /** {@code output} as JSON text for a storage column, or {@code null}. */
    public @Nullable String writeOutput(@Nullable InferenceOutput output) {
        return output == null ? null : FORMS.text(output);
    }

    /** {@code receipt} as JSON text for a storage column, or {@code null}. */
    public @Nullable String writeReceipt(@Nullable Receipt receipt) {
        return receipt == null ? null : FORMS.text(receipt);
    }

    /** Reads JSON text written by {@link #writeOutput}; {@code null} gives {@code null}. */
    public @Nullable InferenceOutput readOutput(@Nullable String json) {
        return json == null ? null : readOutput(parse(json));
    }

    /** Reads JSON text written by {@link #writeReceipt}; {@code null} gives {@code null}. */
    public @Nullable Receipt readReceipt(@Nullable String json) {
        return json == null ? null : readReceipt(parse(json));
    }

    /** {@code {succeeded, failed, timedOut, cancelled, pending}}. */
    public ObjectNode countsNode(ExecutionCounts c) {
        return FORMS.tree(c);
    }

    /** Reads a counts object. */
    public ExecutionCounts readCounts(JsonNode node) {
        return reader.counts(node);
    }

    // ---------------------------------------------------------------- events

    /** The {@code data} object of an event: {@code jobId}, {@code seq}, {@code type}, then the type's fields. */
    public ObjectNode eventNode(StoredEvent stored) {
        return FORMS.tree(JsonForms.data(stored));
    }

    /** The {@code data} of an event as one line of compact JSON. */
    public String writeEventData(StoredEvent stored) {
        return FORMS.text(JsonForms.data(stored));
    }

    /** Reads an event from its stored data; {@code jobId} and {@code seq} come from the row, not the data. */
    public StoredEvent readEvent(JobId jobId, long seq, Instant createdAt, String data) {
        return readEvent(jobId, seq, createdAt, parse(data));
    }

    /** Reads an event from its data tree; the data must contain {@code type}. */
    public StoredEvent readEvent(JobId jobId, long seq, Instant createdAt, JsonNode data) {
        return reader.event(jobId, seq, createdAt, data);
    }
}
