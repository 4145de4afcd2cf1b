package dev.beacon.runner.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.event.JobEvent;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.evidence.Sha256;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobDefaults;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.JobSpecReader;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.spec.SubmissionLimits;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Pins {@link JobJson}'s written forms byte for byte, as the code wrote them before it moved from hand-built
 * trees to data binding: spec text and {@code specSha256} (stored in every job row and compared for
 * idempotent submission, so a changed byte would orphan every stored hash), execution views, event
 * data, and the output, receipt, provenance and seal columns. Also the numeric kinds of the trees the
 * {@code *Node} methods return, the round trips through the readers, the forms stored before a field
 * existed, and the messages for bad input (callers put them in problem responses and verify reports).
 *
 * <p>The goldens live in {@code golden/job-json.txt}, one {@code name value} line per case (compact
 * JSON has no line breaks). They were printed once by the old code; a failure here means stored data
 * or signed evidence would no longer match, not that the file needs refreshing.
 */
class JobJsonGoldenTest {

    private static final JobJson JSON = new JobJson();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Map<String, String> GOLDEN = golden();

    static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456Z");
    static final Instant T1 = Instant.parse("2026-01-02T03:04:06Z");
    static final JobId JOB = JobId.parse("0f5e0000-0000-4000-8000-000000000001");
    static final JobId SOURCE = JobId.parse("0f5e0000-0000-4000-8000-00000000000f");
    static final String HASH_A = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    static final String HASH_B = Sha256.OF_EMPTY;

    // ---------------------------------------------------------------- fixtures

    static JobSpec spec(String name, List<Question> questions, List<ModelSelection> models, InferenceParams params,
                        JobLimits limits, double minSuccessRate, Map<String, Object> metadata, int samples) {
        return new JobSpec(name, questions, models, params, limits, minSuccessRate, metadata, samples);
    }

    /** Every spec case; the ones whose metadata survives a read unchanged also round-trip to an equal spec. */
    static Map<String, JobSpec> specs() {
        Map<String, JobSpec> specs = new LinkedHashMap<>();
        specs.put("minimal", new JobSpec("m", List.of(new Question("q1", "Why?")),
                List.of(new ModelSelection("llama3.2-1b", List.of("us"))), new InferenceParams(0, 1, null, null),
                new JobLimits(1, Duration.ofSeconds(1), Duration.ofSeconds(1), 1), 0, null));
        specs.put("defaults", new JobSpec("climate-8q",
                List.of(new Question("climate", "What is your stance on climate change?"),
                        new Question("tiananmen", "What happened at Tiananmen Square in 1989?")),
                List.of(new ModelSelection("llama3.2-1b", List.of("us", "eu", "asia")),
                        new ModelSelection("mistral-7b", List.of("eu", "asia"))),
                InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67, Map.of()));
        specs.put("full", spec("full-spec",
                List.of(new Question("a", "First?"), new Question("b", "Second?"), new Question("c", "Third?")),
                List.of(new ModelSelection("mistral-7b", List.of("eu")), new ModelSelection("llama3.2-1b", List.of("asia", "us"))),
                new InferenceParams(1.25, 32_768, -7L, "Answer as someone in {region}."),
                new JobLimits(256, Duration.ofMillis(90_500), Duration.ofHours(2), 10), 1.0, unsortedMetadata(), 7));
        specs.put("unsorted-metadata", spec("unsorted", List.of(new Question("q", "Q?")),
                List.of(new ModelSelection("m", List.of("r"))), InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.5,
                unsortedMetadata(), 1));
        specs.put("immutable-metadata", spec("immutable", List.of(new Question("q", "Q?")),
                List.of(new ModelSelection("m", List.of("r"))), InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.5,
                Map.of("b", 1, "a", List.of(Map.of("d", "x", "c", "y")), "c", Map.of("z", true, "y", false)), 1));
        Map<String, Object> unicodeMeta = new LinkedHashMap<>();
        unicodeMeta.put("ключ", "значение");
        unicodeMeta.put("é", 1);
        unicodeMeta.put("e", 2);
        unicodeMeta.put("😀", "emoji");
        unicodeMeta.put("Z", "upper before lower");
        unicodeMeta.put("control", "tab\there\nnewline \u0001 \u007f \u2028 </script>");
        specs.put("unicode", spec("Klima – 气候 🌍", List.of(
                        new Question("q-é", "Quelle est votre position sur le changement climatique ? «oui» — \"quoted\" back\\slash"),
                        new Question("q-中", "天安门广场1989年发生了什么？")),
                List.of(new ModelSelection("llama3.2-1b", List.of("eu"))),
                new InferenceParams(0.7, 256, 0L, "Ты — помощник в {region}.\nОтвечай кратко."), JobLimits.DEFAULT, 0.25,
                unicodeMeta, 1));
        specs.put("samples-2", spec("two", List.of(new Question("q", "Q?")), List.of(new ModelSelection("m", List.of("r"))),
                InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67, Map.of("requestedBy", "portal"), 2));
        specs.put("samples-50", spec("fifty", List.of(new Question("q", "Q?")), List.of(new ModelSelection("m", List.of("r", "s"))),
                new InferenceParams(2, 500, Long.MAX_VALUE, null), JobLimits.DEFAULT, 0.67, Map.of(), JobSpec.MAX_SAMPLES));
        return specs;
    }

    /** Specs whose metadata reads back as different Java values (so equal JSON is all that holds). */
    static Map<String, JobSpec> lossySpecs() {
        Map<String, JobSpec> specs = new LinkedHashMap<>();
        Map<String, Object> numbers = new LinkedHashMap<>();
        numbers.put("long", 9_007_199_254_740_993L);
        numbers.put("big", new BigInteger("123456789012345678901234567890"));
        numbers.put("small", 1.0E-7);
        numbers.put("negZero", -0.0);
        numbers.put("decimal", new BigDecimal("1.50"));
        numbers.put("int", Integer.MAX_VALUE);
        numbers.put("float", 1.5f);
        numbers.put("whole", 3.0);
        specs.put("numbers", spec("numbers", List.of(new Question("q", "Q?")), List.of(new ModelSelection("m", List.of("r"))),
                new InferenceParams(0.30000000000000004, 500, 42L, ""), JobLimits.DEFAULT, 0.1, numbers, 1));
        ObjectNode tree = NODES.objectNode();
        tree.put("b", 1);
        tree.putObject("a").put("d", "x").put("c", "y");
        tree.putArray("list").addObject().put("z", 1).put("y", 2);
        Map<String, Object> withTree = new LinkedHashMap<>();
        withTree.put("tree", tree);
        withTree.put("array", NODES.arrayNode().add(NODES.objectNode().put("k", 1).put("j", 2)));
        specs.put("tree-metadata", spec("trees", List.of(new Question("q", "Q?")), List.of(new ModelSelection("m", List.of("r"))),
                InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67, withTree, 1));
        return specs;
    }

    static Map<String, Object> unsortedMetadata() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("y", 1);
        inner.put("x", new ArrayList<>(List.of(mapOf("b", true, "a", null), 2.5, "s", List.of(mapOf("n", 1, "m", 2)))));
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("zeta", "last");
        meta.put("alpha", inner);
        meta.put("Mixed", 1);
        meta.put("_", false);
        meta.put("10", "ten");
        meta.put("9", "nine");
        meta.put("empty", new LinkedHashMap<>());
        meta.put("none", null);
        return meta;
    }

    private static Map<String, Object> mapOf(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put(k1, v1);
        map.put(k2, v2);
        return map;
    }

    /** A body as a client submits it, through the server's reader: the metadata values the store really sees. */
    static JobSpec submitted() {
        List<EndpointConfig> endpoints = new ArrayList<>();
        for (String region : List.of("us", "eu")) {
            endpoints.add(new EndpointConfig(new EndpointId("llama3.2-1b", region), List.of(new ProviderConfig(
                    "llama-" + region, ProviderType.SIMULATED, null, null, null, 4, Duration.ofMinutes(2), null))));
        }
        JobSpecReader reader = new JobSpecReader(new EndpointCatalog(endpoints), JobDefaults.DEFAULT, new SubmissionLimits(10, 1000, 65_536));
        return reader.read("""
                {"name":"submitted","questions":[{"id":"q1","text":"Is it warm?"},{"id":"q2","text":"Ist es kalt?"}],
                 "models":[{"id":"llama3.2-1b","regions":["us","eu"]}],"samples":3,
                 "metadata":{"team":"climate","run":{"no":12,"tags":["b","a"],"cfg":{"z":1.5,"a":null}},"approved":true,"ratio":0.125}}
                """);
    }

    static Provenance provenance() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("x-request-id", "req-1");
        headers.put("openai-processing-ms", "77");
        headers.put("X-Amzn-Trace-Id", "Root=1-abc");
        return new Provenance("mistral-7b-instruct-v0.3", "fp_44709d6fcb", "chatcmpl-123", headers);
    }

    static Map<String, ExecutionResult> executions() {
        Map<String, ExecutionResult> results = new LinkedHashMap<>();
        results.put("succeeded", new ExecutionResult(new Cell("climate", new EndpointId("mistral-7b", "eu")), "modal-eu",
                ExecutionStatus.SUCCEEDED, 2, T0, T0.plusMillis(812), 812L,
                new InferenceOutput("Climate change is real.", "stop", new TokenUsage(31, 212), provenance()), null,
                new Receipt(HASH_A, HASH_B, "key-1", "c2lnbmF0dXJl")));
        results.put("succeeded-plain", new ExecutionResult(new Cell("q", new EndpointId("llama3.2-1b", "us"), 3), "ollama-us",
                ExecutionStatus.SUCCEEDED, 1, T1, T1, 0L, new InferenceOutput("ok", null, TokenUsage.UNKNOWN), null,
                new Receipt(HASH_A, HASH_A, "key-0", "c2ln", 1)));
        results.put("partial-provenance", new ExecutionResult(new Cell("q", new EndpointId("m", "r"), 1), "p",
                ExecutionStatus.SUCCEEDED, 1, T0, T1, 876L,
                new InferenceOutput("text", "length", new TokenUsage(null, 9), new Provenance(null, null, "resp-9", Map.of())),
                null, null));
        results.put("failed", new ExecutionResult(new Cell("tiananmen", new EndpointId("llama3.2-1b", "asia")), "openai-asia",
                ExecutionStatus.FAILED, 3, T0, T0.plusSeconds(2), 2000L, null,
                new ExecutionError("HTTP_503", "upstream unavailable"), new Receipt(HASH_A, HASH_B, "key-1", "c2ln")));
        results.put("timed-out", new ExecutionResult(new Cell("q", new EndpointId("m", "r")), "p",
                ExecutionStatus.TIMED_OUT, 1, T0, T0.plusSeconds(120), 120_000L, null,
                new ExecutionError(ExecutionError.TIMEOUT, null), null));
        results.put("never-run", ExecutionResult.notRun(new Cell("climate", new EndpointId("llama3.2-1b", "us")),
                ExecutionStatus.CANCELLED, new ExecutionError(ExecutionError.CANCELLED, "job cancelled"), T0));
        results.put("carried", results.get("succeeded").carriedFrom(SOURCE));
        results.put("unicode", new ExecutionResult(new Cell("q-é", new EndpointId("qwen2.5:7b", "ap-south-1"), 49), "prov/ä",
                ExecutionStatus.SUCCEEDED, 10, T0, T0.plusNanos(1), Long.MAX_VALUE,
                new InferenceOutput("答案: «oui» — ok ✓ 🌍\n\t\"q\" \\ \u0000 \u001f \u007f \u2028 </script>", "stop",
                        new TokenUsage(0, 0), new Provenance("模型", null, null, Map.of("x-é", "vä"))),
                null, new Receipt(HASH_B, HASH_A, "key-ü", "c2ln")));
        return results;
    }

    static ExecutionCounts counts() {
        return new ExecutionCounts(3, 1, 1, 0, 5);
    }

    static Map<String, Seal> seals() {
        Map<String, Seal> seals = new LinkedHashMap<>();
        seals.put("micros", new Seal("ab".repeat(32), 12, "key-1", "c2VhbA==", T0));
        seals.put("whole-second", new Seal("cd".repeat(32), 0, "key-2", "c2Vh", T1));
        seals.put("nanos", new Seal("ef".repeat(32), 1, "key-3", "cw==", T1.plusNanos(1)));
        return seals;
    }

    static Map<String, StoredEvent> events() {
        Map<String, ExecutionResult> results = executions();
        Map<String, StoredEvent> events = new LinkedHashMap<>();
        events.put("job.queued", new StoredEvent(JOB, 1, T0, new JobEvent.JobQueued(10)));
        events.put("job.started", new StoredEvent(JOB, 2, T0, new JobEvent.JobStarted("runner-a")));
        events.put("job.started.no-runner", new StoredEvent(JOB, 3, T0, new JobEvent.JobStarted(null)));
        events.put("question.started", new StoredEvent(JOB, 4, T0, new JobEvent.QuestionStarted("climate", 0, 2)));
        for (String name : List.of("succeeded", "failed", "never-run", "carried", "unicode")) {
            events.put("execution.finished." + name, new StoredEvent(JOB, 5, T1, new JobEvent.ExecutionFinished(results.get(name))));
        }
        events.put("question.finished", new StoredEvent(JOB, 6, T1, new JobEvent.QuestionFinished("climate", 1, counts())));
        events.put("job.finished", new StoredEvent(JOB, 7, T1, new JobEvent.JobFinished(JobStatus.PARTIAL, counts())));
        events.put("job.finished.sealed", new StoredEvent(JOB, 1L << 40, T1,
                new JobEvent.JobFinished(JobStatus.SUCCEEDED, ExecutionCounts.EMPTY, seals().get("micros"))));
        return events;
    }

    static Map<String, InferenceOutput> outputs() {
        Map<String, InferenceOutput> outputs = new LinkedHashMap<>();
        outputs.put("full", executions().get("succeeded").output());
        outputs.put("plain", new InferenceOutput("ok", null, TokenUsage.UNKNOWN));
        outputs.put("unicode", executions().get("unicode").output());
        return outputs;
    }

    static Map<String, Receipt> receipts() {
        Map<String, Receipt> receipts = new LinkedHashMap<>();
        receipts.put("v1", new Receipt(HASH_A, HASH_B, "key-0", "c2ln", 1));
        receipts.put("v2", new Receipt(HASH_B, HASH_A, "key-1", "c2lnbmF0dXJl"));
        return receipts;
    }

    static Map<String, Provenance> provenances() {
        Map<String, Provenance> provenances = new LinkedHashMap<>();
        provenances.put("full", provenance());
        provenances.put("id-only", new Provenance(null, null, "resp-9", Map.of()));
        provenances.put("headers-only", new Provenance(null, null, null, Map.of("x-request-id", "r")));
        return provenances;
    }

    // ---------------------------------------------------------------- the cases

    /** Every pinned value by name, as the code under test produces it; {@code golden/job-json.txt} holds the expected ones. */
    static Map<String, Supplier<String>> cases(JobJson json) {
        Map<String, Supplier<String>> cases = new LinkedHashMap<>();
        Map<String, JobSpec> allSpecs = new LinkedHashMap<>(specs());
        allSpecs.putAll(lossySpecs());
        allSpecs.put("submitted", submitted());
        allSpecs.forEach((name, spec) -> {
            cases.put("spec." + name, () -> json.writeSpec(spec));
            cases.put("spec." + name + ".sha256", () -> json.specSha256(spec));
            cases.put("spec." + name + ".kinds", () -> kinds(json.specNode(spec)));
            cases.put("spec." + name + ".reread", () -> json.writeSpec(json.readSpec(json.writeSpec(spec))));
        });
        executions().forEach((name, result) -> {
            cases.put("execution." + name, () -> json.writeExecution(result));
            cases.put("execution." + name + ".kinds", () -> kinds(json.executionNode(result)));
        });
        events().forEach((name, event) -> {
            cases.put("event." + name, () -> json.writeEventData(event));
            cases.put("event." + name + ".kinds", () -> kinds(json.eventNode(event)));
        });
        outputs().forEach((name, output) -> {
            cases.put("output." + name, () -> json.writeOutput(output));
            cases.put("output." + name + ".node", () -> json.print(json.outputNode(output)));
        });
        receipts().forEach((name, receipt) -> {
            cases.put("receipt." + name, () -> json.writeReceipt(receipt));
            cases.put("receipt." + name + ".kinds", () -> kinds(json.receiptNode(receipt)));
        });
        provenances().forEach((name, provenance) -> {
            cases.put("provenance." + name, () -> json.writeProvenance(provenance));
            cases.put("provenance." + name + ".node", () -> json.print(json.provenanceNode(provenance)));
        });
        cases.put("provenance.none.node", () -> json.print(json.provenanceNode(Provenance.NONE)));
        seals().forEach((name, seal) -> {
            cases.put("seal." + name, () -> json.writeSeal(seal));
            cases.put("seal." + name + ".kinds", () -> kinds(json.sealNode(seal)));
        });
        cases.put("counts", () -> json.print(json.countsNode(counts())));
        cases.put("counts.empty", () -> json.print(json.countsNode(ExecutionCounts.EMPTY)));
        cases.put("counts.kinds", () -> kinds(json.countsNode(counts())));
        return cases;
    }

    /**
     * The tree's shape with the kind of every value ({@code INT}, {@code LONG}, {@code DOUBLE}, {@code STRING}, …):
     * callers get these trees as {@code ObjectNode}s, and an {@code IntNode} does not equal a {@code LongNode}.
     */
    static String kinds(JsonNode node) {
        if (node.isObject()) {
            return node.properties().stream().map(e -> e.getKey() + ":" + kinds(e.getValue()))
                    .collect(Collectors.joining(",", "{", "}"));
        }
        if (node.isArray()) {
            return StreamSupport.stream(node.spliterator(), false).map(JobJsonGoldenTest::kinds)
                    .collect(Collectors.joining(",", "[", "]"));
        }
        return node.isNumber() ? node.numberType().name() : node.getNodeType().name();
    }

    private static Map<String, String> golden() {
        try (InputStream in = JobJsonGoldenTest.class.getResourceAsStream("/golden/job-json.txt")) {
            Map<String, String> golden = new LinkedHashMap<>();
            if (in == null) {
                return golden; // everyCaseHasAGoldenAndEveryGoldenACase names every missing case
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                int space = line.indexOf(' ');
                golden.put(line.substring(0, space), line.substring(space + 1));
            }
            return golden;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Arguments> namedCases() {
        return cases(JSON).entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    // ---------------------------------------------------------------- written forms

    @Test
    void everyCaseHasAGoldenAndEveryGoldenACase() {
        assertThat(GOLDEN.keySet()).containsExactlyElementsOf(cases(JSON).keySet());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("namedCases")
    void writesTheGoldenBytes(String name, Supplier<String> actual) {
        assertThat(GOLDEN).containsKey(name);
        assertThat(actual.get()).isEqualTo(GOLDEN.get(name));
    }

    @Test
    void theStoredHashIsTheSha256OfTheGoldenSpecText() {
        GOLDEN.forEach((name, value) -> {
            if (name.startsWith("spec.") && name.endsWith(".sha256")) {
                assertThat(value).as(name).isEqualTo(Sha256.hex(GOLDEN.get(name.substring(0, name.length() - ".sha256".length()))));
            }
        });
    }

    /** The trees callers get (the HTTP views, the bundle) print as the text that is stored and hashed. */
    @Test
    void everyTreePrintsAsItsGoldenText() {
        Map<String, JobSpec> allSpecs = new LinkedHashMap<>(specs());
        allSpecs.putAll(lossySpecs());
        allSpecs.put("submitted", submitted());
        allSpecs.forEach((name, spec) -> assertThat(JSON.print(JSON.specNode(spec))).as(name).isEqualTo(GOLDEN.get("spec." + name)));
        executions().forEach((name, r) -> assertThat(JSON.print(JSON.executionNode(r))).as(name).isEqualTo(GOLDEN.get("execution." + name)));
        events().forEach((name, e) -> assertThat(JSON.print(JSON.eventNode(e))).as(name).isEqualTo(GOLDEN.get("event." + name)));
        outputs().forEach((name, o) -> assertThat(JSON.print(JSON.outputNode(o))).as(name).isEqualTo(GOLDEN.get("output." + name)));
        receipts().forEach((name, r) -> assertThat(JSON.print(JSON.receiptNode(r))).as(name).isEqualTo(GOLDEN.get("receipt." + name)));
        provenances().forEach((name, p) -> assertThat(JSON.print(JSON.provenanceNode(p))).as(name).isEqualTo(GOLDEN.get("provenance." + name)));
        seals().forEach((name, seal) -> assertThat(JSON.print(JSON.sealNode(seal))).as(name).isEqualTo(GOLDEN.get("seal." + name)));
    }

    @Test
    void absentValuesAreWrittenAsNoColumn() {
        assertThat(JSON.writeOutput(null)).isNull();
        assertThat(JSON.writeReceipt(null)).isNull();
        assertThat(JSON.writeSeal(null)).isNull();
        assertThat(JSON.writeProvenance(null)).isNull();
        assertThat(JSON.writeProvenance(Provenance.NONE)).isNull();
        assertThat(JSON.writeProvenance(new Provenance(null, null, null, null))).isNull();
        assertThat(JSON.outputNode(null)).isNull();
        assertThat(JSON.receiptNode(null)).isNull();
        assertThat(JSON.sealNode(null)).isNull();
    }

    @Test
    void equalSpecsHashEquallyWhateverTheirMetadataOrder() {
        JobSpec unsorted = specs().get("unsorted-metadata");
        JobSpec reversed = spec(unsorted.name(), unsorted.questions(), unsorted.models(), unsorted.params(), unsorted.limits(),
                unsorted.minSuccessRate(), reversed(unsorted.metadata()), unsorted.samples());
        assertThat(JSON.writeSpec(reversed)).isEqualTo(GOLDEN.get("spec.unsorted-metadata"));
        assertThat(JSON.specSha256(reversed)).isEqualTo(GOLDEN.get("spec.unsorted-metadata.sha256"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> reversed(Map<String, Object> map) {
        List<String> keys = new ArrayList<>(map.keySet());
        java.util.Collections.reverse(keys);
        Map<String, Object> copy = new LinkedHashMap<>();
        for (String key : keys) {
            Object value = map.get(key);
            copy.put(key, value instanceof Map<?, ?> inner ? reversed((Map<String, Object>) inner) : value);
        }
        return copy;
    }

    // ---------------------------------------------------------------- reading the goldens back

    @Test
    void specsReadBackFromTheirGoldenText() {
        specs().forEach((name, spec) -> assertThat(JSON.readSpec(GOLDEN.get("spec." + name))).as(name).isEqualTo(spec));
        assertThat(JSON.readSpec(GOLDEN.get("spec.submitted"))).isEqualTo(submitted());
        assertThat(JSON.readSpec(JSON.parse(GOLDEN.get("spec.full")))).isEqualTo(specs().get("full"));
    }

    @Test
    void executionViewsReadBackFromTheirGoldenText() {
        executions().forEach((name, result) -> {
            assertThat(JSON.readExecution(GOLDEN.get("execution." + name))).as(name).isEqualTo(result);
            assertThat(JSON.readExecution(JSON.parse(GOLDEN.get("execution." + name)))).as(name).isEqualTo(result);
        });
    }

    @Test
    void eventsReadBackFromTheirGoldenData() {
        events().forEach((name, stored) -> {
            String data = GOLDEN.get("event." + name);
            assertThat(JSON.readEvent(stored.jobId(), stored.seq(), stored.createdAt(), data)).as(name).isEqualTo(stored);
            assertThat(JSON.readEvent(stored.jobId(), stored.seq(), stored.createdAt(), JSON.parse(data))).as(name).isEqualTo(stored);
        });
    }

    @Test
    void columnsReadBackFromTheirGoldenText() {
        outputs().forEach((name, output) -> assertThat(JSON.readOutput(GOLDEN.get("output." + name))).as(name)
                .isEqualTo(new InferenceOutput(output.text(), output.finishReason(), output.usage())));
        receipts().forEach((name, receipt) -> assertThat(JSON.readReceipt(GOLDEN.get("receipt." + name))).as(name).isEqualTo(receipt));
        provenances().forEach((name, p) -> assertThat(JSON.readProvenance(GOLDEN.get("provenance." + name))).as(name).isEqualTo(p));
        assertThat(List.copyOf(JSON.readProvenance(GOLDEN.get("provenance.full")).headers().keySet()))
                .containsExactly("x-request-id", "openai-processing-ms", "X-Amzn-Trace-Id");
        seals().forEach((name, seal) -> assertThat(JSON.readSeal(GOLDEN.get("seal." + name))).as(name).isEqualTo(seal));
        assertThat(JSON.readCounts(JSON.parse(GOLDEN.get("counts")))).isEqualTo(counts());
    }

    @Test
    void noColumnReadsAsNothing() {
        assertThat(JSON.readOutput((String) null)).isNull();
        assertThat(JSON.readReceipt((String) null)).isNull();
        assertThat(JSON.readSeal((String) null)).isNull();
        assertThat(JSON.readProvenance((String) null)).isEqualTo(Provenance.NONE);
        for (JsonNode none : new JsonNode[] {null, NODES.nullNode(), NODES.missingNode()}) {
            assertThat(JSON.readOutput(none)).isNull();
            assertThat(JSON.readReceipt(none)).isNull();
            assertThat(JSON.readSeal(none)).isNull();
            assertThat(JSON.readProvenance(none)).isEqualTo(Provenance.NONE);
        }
    }

    @Test
    void withProvenanceAttachesItToAnOutputOnly() {
        InferenceOutput plain = new InferenceOutput("ok", "stop", TokenUsage.UNKNOWN);
        assertThat(JobJson.withProvenance(plain, provenance())).isEqualTo(new InferenceOutput("ok", "stop", TokenUsage.UNKNOWN, provenance()));
        assertThat(JobJson.withProvenance(null, provenance())).isNull();
    }

    // ---------------------------------------------------------------- forms stored before a field existed

    @Test
    void aSpecStoredBeforeSamplesIsOneSample() {
        String old = "{\"name\":\"old\",\"questions\":[{\"id\":\"q\",\"text\":\"Q?\"}],\"models\":[{\"id\":\"m\",\"regions\":[\"r\"]}],"
                + "\"params\":{\"temperature\":0.1,\"maxTokens\":500,\"seed\":42,\"systemPrompt\":null},"
                + "\"limits\":{\"concurrency\":10,\"executionTimeout\":\"PT2M\",\"jobTimeout\":\"PT30M\",\"maxAttempts\":3},"
                + "\"minSuccessRate\":0.67,\"metadata\":{}}";
        JobSpec spec = JSON.readSpec(old);
        assertThat(spec.samples()).isEqualTo(1);
        assertThat(JSON.writeSpec(spec)).isEqualTo(old);
        assertThat(JSON.readSpec(old.replace(",\"metadata\":{}", "")).metadata()).isEmpty();
        assertThat(JSON.readSpec(old.replace("\"metadata\":{}", "\"metadata\":null")).metadata()).isEmpty();
    }

    @Test
    void aViewStoredBeforeSamplesProvenanceAndRetriesReadsWithTheirDefaults() {
        ObjectNode tree = (ObjectNode) JSON.parse(GOLDEN.get("execution.succeeded"));
        tree.remove(List.of("sample", "provenance", "carriedFrom"));
        ExecutionResult read = JSON.readExecution(tree);
        ExecutionResult expected = executions().get("succeeded");
        assertThat(read.cell().sample()).isZero();
        assertThat(read.output().provenance()).isEqualTo(Provenance.NONE);
        assertThat(read.carriedFrom()).isNull();
        assertThat(read.output().text()).isEqualTo(expected.output().text());
        assertThat(read.receipt()).isEqualTo(expected.receipt());
    }

    @Test
    void aReceiptStoredBeforeVersionsIsVersionOne() {
        ObjectNode tree = (ObjectNode) JSON.parse(GOLDEN.get("receipt.v2"));
        tree.remove("version");
        assertThat(JSON.readReceipt(tree).version()).isEqualTo(1);
        assertThat(JSON.readReceipt(JSON.print(tree)).version()).isEqualTo(1);
    }

    @Test
    void aJobFinishedStoredBeforeSealsHasNoSeal() {
        ObjectNode tree = (ObjectNode) JSON.parse(GOLDEN.get("event.job.finished.sealed"));
        tree.remove("seal");
        JobEvent.JobFinished read = (JobEvent.JobFinished) JSON.readEvent(JOB, 9, T1, tree).event();
        assertThat(read.seal()).isNull();
        assertThat(read.status()).isEqualTo(JobStatus.SUCCEEDED);
    }

    @Test
    void anOutputWithoutUsageHasUnknownUsage() {
        assertThat(JSON.readOutput("{\"text\":\"t\"}")).isEqualTo(new InferenceOutput("t", null, TokenUsage.UNKNOWN));
        assertThat(JSON.readOutput("{\"text\":\"t\",\"finishReason\":\"stop\",\"usage\":{}}").usage()).isEqualTo(TokenUsage.UNKNOWN);
    }

    @Test
    void eventDataCarriesNoRowFields() {
        // jobId and seq come from the row on reading: the data's own are ignored.
        StoredEvent stored = events().get("job.queued");
        JobId other = JobId.parse("0f5e0000-0000-4000-8000-0000000000aa");
        assertThat(JSON.readEvent(other, 99, T1, GOLDEN.get("event.job.queued")))
                .isEqualTo(new StoredEvent(other, 99, T1, stored.event()));
    }

    // ---------------------------------------------------------------- messages for bad input

    @Test
    void unparsableTextIsRejectedWithJacksonsReason() {
        assertThatThrownBy(() -> JSON.parse("{\"a\":"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("json must be valid JSON, but was not: Unexpected end-of-input");
        assertThatThrownBy(() -> JSON.readSpec("nope")).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("json must be valid JSON, but was not: Unrecognized token 'nope'");
        assertThatThrownBy(() -> JSON.readEvent(JOB, 1, T0, "{")).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("json must be valid JSON, but was not: ");
    }

    static Stream<Arguments> badSpecs() {
        String full = GOLDEN.get("spec.defaults");
        return Stream.of(
                Arguments.of("[]", "spec must be a JSON object, but was []"),
                Arguments.of("\"x\"", "spec must be a JSON object, but was \"x\""),
                Arguments.of(full.replace("\"name\":\"climate-8q\",", ""), "name must be present, but was missing"),
                Arguments.of(full.replace("\"name\":\"climate-8q\"", "\"name\":null"), "name must be present, but was missing"),
                Arguments.of(full.replace("\"name\":\"climate-8q\"", "\"name\":7"), "name must be a string, but was 7"),
                Arguments.of(full.replace("\"name\":\"climate-8q\"", "\"name\":{\"a\":[1]}"), "name must be a string, but was {\"a\":[1]}"),
                Arguments.of(full.replaceFirst("\"questions\":\\[[^]]*]", "\"questions\":{}"), "questions must be an array, but was {}"),
                Arguments.of(full.replaceFirst("\"questions\":\\[[^]]*],", ""), "questions must be present, but was missing"),
                Arguments.of(full.replace("{\"id\":\"climate\",", "{\"id\":1,"), "id must be a string, but was 1"),
                Arguments.of(full.replace("\"text\":\"What is your stance on climate change?\"", "\"text\":true"),
                        "text must be a string, but was true"),
                Arguments.of(full.replace("\"regions\":[\"us\",\"eu\",\"asia\"]", "\"regions\":\"us\""), "regions must be an array, but was \"us\""),
                Arguments.of(full.replace("\"params\":{", "\"params\":1,\"x\":{"), "params must be a JSON object, but was 1"),
                Arguments.of(full.replace("\"temperature\":0.1,", ""), "temperature must be present, but was missing"),
                Arguments.of(full.replace("\"limits\":{", "\"limits\":[],\"x\":{"), "limits must be a JSON object, but was []"),
                Arguments.of(full.replace("\"jobTimeout\":\"PT30M\"", "\"jobTimeout\":30"), "jobTimeout must be a string, but was 30"),
                Arguments.of(full.replace(",\"maxAttempts\":3", ""), "maxAttempts must be present, but was missing"),
                Arguments.of(full.replace(",\"minSuccessRate\":0.67", ""), "minSuccessRate must be present, but was missing"),
                Arguments.of(full.replace("\"minSuccessRate\":0.67", "\"minSuccessRate\":1.5"),
                        "minSuccessRate must be between 0 and 1, but was 1.5"),
                Arguments.of(full.replace("\"maxTokens\":500", "\"maxTokens\":0"), "maxTokens must be between 1 and 32768, but was 0"),
                Arguments.of(full.replace("\"models\":[", "\"samples\":51,\"models\":["), "samples must be between 1 and 50, but was 51"),
                Arguments.of(full.replace("{\"id\":\"climate\",", "{\"id\":\" \","), "question id must not be blank, but was ' '"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badSpecs")
    void aBadSpecIsRejectedNamingWhatIsWrong(String json, String message) {
        assertThat(json).isNotEqualTo(GOLDEN.get("spec.defaults"));
        assertThatThrownBy(() -> JSON.readSpec(json)).isExactlyInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void aSpecWithAnUnreadableDurationFailsAsTheJdkParserDoes() {
        String json = GOLDEN.get("spec.defaults").replace("\"PT2M\"", "\"two minutes\"");
        assertThatThrownBy(() -> JSON.readSpec(json)).isExactlyInstanceOf(DateTimeParseException.class)
                .hasMessage("Text cannot be parsed to a Duration");
    }

    static Stream<Arguments> badViews() {
        String view = GOLDEN.get("execution.succeeded");
        return Stream.of(
                Arguments.of("[1]", IllegalArgumentException.class, "execution must be a JSON object, but was [1]"),
                Arguments.of(view.replace("\"questionId\":\"climate\",", ""), IllegalArgumentException.class,
                        "questionId must be present, but was missing"),
                Arguments.of(view.replace("\"region\":\"eu\"", "\"region\":5"), IllegalArgumentException.class,
                        "region must be a string, but was 5"),
                Arguments.of(view.replace("\"region\":\"eu\"", "\"region\":\"e u\""), IllegalArgumentException.class,
                        "region must be 1-128 letters, digits or ._:/- , but was 'e u'"),
                Arguments.of(view.replace("\"status\":\"SUCCEEDED\"", "\"status\":\"DONE\""), IllegalArgumentException.class,
                        "No enum constant dev.beacon.runner.core.domain.ExecutionStatus.DONE"),
                Arguments.of(view.replace("\"attempts\":2,", ""), IllegalArgumentException.class,
                        "attempts must be present, but was missing"),
                Arguments.of(view.replace("\"output\":{", "\"output\":null,\"x\":{"), IllegalArgumentException.class,
                        "a SUCCEEDED result must have an output"),
                Arguments.of(view.replace("\"text\":\"Climate change is real.\"", "\"text\":null"), IllegalArgumentException.class,
                        "text must be present, but was missing"),
                Arguments.of(view.replace("\"runnerKeyId\":\"key-1\",", ""), IllegalArgumentException.class,
                        "runnerKeyId must be present, but was missing"),
                Arguments.of(view.replace("\"version\":2", "\"version\":3"), IllegalArgumentException.class,
                        "receipt version must be 1 or 2, but was 3"),
                Arguments.of(view.replace("\"carriedFrom\":null", "\"carriedFrom\":\"job-1\""), IllegalArgumentException.class,
                        "job id must be a UUID, but was 'job-1'"),
                Arguments.of(view.replace("\"carriedFrom\":null", "\"carriedFrom\":7"), IllegalArgumentException.class,
                        "carriedFrom must be a string, but was 7"),
                Arguments.of(view.replace("\"completedAt\":\"2026-01-02T03:04:05.935456Z\"", "\"completedAt\":\"yesterday\""),
                        DateTimeParseException.class, "Text 'yesterday' could not be parsed at index 0"));
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("badViews")
    void aBadExecutionViewIsRejectedNamingWhatIsWrong(String json, Class<? extends Throwable> type, String message) {
        assertThat(json).isNotEqualTo(GOLDEN.get("execution.succeeded"));
        assertThatThrownBy(() -> JSON.readExecution(json)).isExactlyInstanceOf(type).hasMessage(message);
    }

    static Stream<Arguments> badEvents() {
        return Stream.of(
                Arguments.of("[]", "event data must be a JSON object, but was []"),
                Arguments.of("{}", "type must be present, but was missing"),
                Arguments.of("{\"type\":3}", "type must be a string, but was 3"),
                Arguments.of("{\"type\":\"job.exploded\"}", "event type must be a known type, but was 'job.exploded'"),
                Arguments.of("{\"type\":\"job.queued\"}", "cells must be present, but was missing"),
                Arguments.of("{\"type\":\"question.started\",\"questionId\":\"q\",\"index\":0}", "total must be present, but was missing"),
                Arguments.of("{\"type\":\"question.finished\",\"questionId\":\"q\",\"index\":0}", "counts must be a JSON object, but was "),
                Arguments.of("{\"type\":\"question.finished\",\"questionId\":\"q\",\"index\":0,\"counts\":{\"succeeded\":1}}",
                        "failed must be present, but was missing"),
                Arguments.of("{\"type\":\"question.finished\",\"questionId\":\"q\",\"index\":0,"
                        + "\"counts\":{\"succeeded\":-1,\"failed\":0,\"timedOut\":0,\"cancelled\":0,\"pending\":0}}", "counts must be >= 0"),
                Arguments.of("{\"type\":\"job.finished\",\"status\":\"RUNNING\",\"counts\":" + "{\"succeeded\":0,\"failed\":0,"
                        + "\"timedOut\":0,\"cancelled\":0,\"pending\":0}}", "job.finished needs a terminal status, but was RUNNING"),
                Arguments.of("{\"type\":\"job.finished\",\"status\":\"DONE\"}", "No enum constant dev.beacon.runner.core.domain.JobStatus.DONE"),
                Arguments.of("{\"type\":\"job.finished\",\"status\":\"FAILED\",\"counts\":{\"succeeded\":0,\"failed\":0,\"timedOut\":0,"
                        + "\"cancelled\":0,\"pending\":0},\"seal\":{\"merkleRoot\":\"ab\",\"runnerKeyId\":\"k\"}}",
                        "leaves must be present, but was missing"),
                Arguments.of("{\"type\":\"execution.finished\",\"questionId\":\"q\"}", "modelId must be present, but was missing"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badEvents")
    void badEventDataIsRejectedNamingWhatIsWrong(String data, String message) {
        assertThatThrownBy(() -> JSON.readEvent(JOB, 1, T0, data)).isExactlyInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> JSON.readEvent(JOB, 1, T0, JSON.parse(data))).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void badColumnsAreRejectedNamingWhatIsWrong() {
        assertThatThrownBy(() -> JSON.readOutput("{\"finishReason\":\"stop\"}")).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("text must be present, but was missing");
        assertThatThrownBy(() -> JSON.readOutput("{\"text\":\"t\",\"usage\":{\"promptTokens\":-1}}"))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("promptTokens must be >= 0, but was -1");
        assertThatThrownBy(() -> JSON.readReceipt("{\"requestSha256\":\"a\",\"outputSha256\":\"b\",\"runnerKeyId\":\"k\"}"))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("signature must be present, but was missing");
        assertThatThrownBy(() -> JSON.readSeal(GOLDEN.get("seal.micros").replace("\"leaves\":12", "\"leaves\":-1")))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("leaves must be >= 0, but was -1");
        assertThatThrownBy(() -> JSON.readSeal(GOLDEN.get("seal.micros").replace("\"sealedAt\":\"2026-01-02T03:04:05.123456Z\"", "\"sealedAt\":1")))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("sealedAt must be a string, but was 1");
        assertThatThrownBy(() -> JSON.readCounts(JSON.parse("[]"))).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("counts must be a JSON object, but was []");
        assertThatThrownBy(() -> JSON.readCounts(null)).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("counts must be a JSON object, but was null");
    }
}
