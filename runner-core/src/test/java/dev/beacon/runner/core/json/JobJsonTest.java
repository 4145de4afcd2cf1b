package dev.beacon.runner.core.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonFormat;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.BeanDescription;
import tools.jackson.databind.DeserializationConfig;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.KeyDeserializer;
import tools.jackson.databind.SerializationConfig;
import tools.jackson.databind.ValueDeserializer;
import tools.jackson.databind.ValueSerializer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.jsontype.TypeDeserializer;
import tools.jackson.databind.jsontype.TypeSerializer;
import tools.jackson.databind.module.SimpleDeserializers;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.module.SimpleSerializers;
import tools.jackson.databind.type.CollectionType;
import tools.jackson.databind.type.MapType;

class JobJsonTest {

    private static final JobJson JSON = new JobJson();
    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456Z");

    static JobSpec spec(Map<String, Object> metadata) {
        return new JobSpec("climate-8q",
                List.of(new Question("climate", "What is your stance on climate change?"),
                        new Question("tiananmen", "What happened at Tiananmen Square in 1989?")),
                List.of(new ModelSelection("llama3.2-1b", List.of("us", "eu", "asia")),
                        new ModelSelection("mistral-7b", List.of("eu", "asia"))),
                new InferenceParams(0.1, 500, 42L, "You are a helpful assistant."),
                new JobLimits(10, Duration.ofMinutes(2), Duration.ofMinutes(30), 3),
                0.67, metadata);
    }

    static ExecutionResult succeeded() {
        return new ExecutionResult(new Cell("climate", new EndpointId("mistral-7b", "eu")), "modal-eu",
                ExecutionStatus.SUCCEEDED, 2, T0, T0.plusMillis(812), 812L,
                new InferenceOutput("Climate change is real.", "stop", new TokenUsage(31, 212)), null,
                new Receipt("aa", "bb", "key-1", "sig"));
    }

    static ExecutionResult failed() {
        return new ExecutionResult(new Cell("tiananmen", new EndpointId("llama3.2-1b", "asia")), "openai-asia",
                ExecutionStatus.FAILED, 3, T0, T0.plusSeconds(2), 2000L, null,
                new ExecutionError("HTTP_503", "upstream unavailable"), null);
    }

    static ExecutionResult neverRun() {
        return ExecutionResult.notRun(new Cell("climate", new EndpointId("llama3.2-1b", "us")),
                ExecutionStatus.CANCELLED, new ExecutionError(ExecutionError.CANCELLED, "job cancelled"), T0);
    }

    @Test
    void specRoundTripsWithContractFieldNames() {
        JobSpec spec = spec(Map.of("requestedBy", "portal", "n", 3));
        String json = JSON.writeSpec(spec);

        assertThat(JSON.readSpec(json)).isEqualTo(spec);
        JsonNode tree = JSON.parse(json);
        assertThat(tree.path("limits").path("executionTimeout").asString()).isEqualTo("PT2M");
        assertThat(tree.path("params").path("maxTokens").asInt()).isEqualTo(500);
        assertThat(tree.path("models").get(1).path("regions").get(0).asString()).isEqualTo("eu");
        assertThat(tree.propertyNames()).containsExactly(
                "name", "questions", "models", "params", "limits", "minSuccessRate", "metadata");
    }

    @Test
    void equalSpecsGiveEqualJsonAndHashWhateverTheMetadataOrder() {
        Map<String, Object> ab = new LinkedHashMap<>();
        ab.put("a", 1);
        ab.put("b", Map.of("y", 1, "x", 2));
        Map<String, Object> ba = new LinkedHashMap<>();
        ba.put("b", Map.of("x", 2, "y", 1));
        ba.put("a", 1);

        assertThat(JSON.writeSpec(spec(ab))).isEqualTo(JSON.writeSpec(spec(ba)));
        assertThat(JSON.specSha256(spec(ab))).isEqualTo(JSON.specSha256(spec(ba))).hasSize(64);
        assertThat(JSON.specSha256(spec(Map.of("a", 2)))).isNotEqualTo(JSON.specSha256(spec(ab)));
    }

    @Test
    void aOneSampleSpecIsWrittenAsBeforeSamplesExistedSoStoredHashesStay() {
        String json = JSON.writeSpec(spec(Map.of("a", 1)));
        assertThat(json).doesNotContain("samples");
        assertThat(JSON.readSpec(json).samples()).isEqualTo(1);
    }

    @Test
    void aSpecWithSamplesRoundTripsAndHashesDifferently() {
        JobSpec base = spec(Map.of());
        JobSpec five = new JobSpec(base.name(), base.questions(), base.models(), base.params(), base.limits(),
                base.minSuccessRate(), base.metadata(), 5);
        String json = JSON.writeSpec(five);
        assertThat(json).contains("\"samples\":5");
        assertThat(JSON.readSpec(json)).isEqualTo(five);
        assertThat(JSON.specSha256(five)).isNotEqualTo(JSON.specSha256(base));
    }

    @Test
    void aViewWithoutSampleAsStoredBeforeSamplesIsSampleZero() {
        ExecutionResult result = succeeded();
        var tree = (tools.jackson.databind.node.ObjectNode) JSON.parse(JSON.writeExecution(result));
        tree.remove("sample");
        assertThat(JSON.readExecution(tree).cell().sample()).isZero();
    }

    @Test
    void nullableParamsRoundTrip() {
        JobSpec base = spec(Map.of());
        JobSpec spec = new JobSpec(base.name(), base.questions(), base.models(),
                new InferenceParams(0, 1, null, null), base.limits(), 1.0, null);
        assertThat(JSON.readSpec(JSON.writeSpec(spec))).isEqualTo(spec);
    }

    static Stream<ExecutionResult> results() {
        return Stream.of(succeeded(), failed(), neverRun());
    }

    @ParameterizedTest
    @MethodSource("results")
    void executionViewRoundTripsAndWritesNullsExplicitly(ExecutionResult result) {
        String json = JSON.writeExecution(result);

        assertThat(JSON.readExecution(json)).isEqualTo(result);
        JsonNode tree = JSON.parse(json);
        assertThat(tree.propertyNames()).containsExactly("questionId", "modelId", "region", "sample", "providerId", "status",
                "attempts", "startedAt", "completedAt", "latencyMs", "output", "error", "provenance", "carriedFrom", "receipt");
    }

    @Test
    void executionViewHasContractShape() {
        JsonNode tree = JSON.parse(JSON.writeExecution(succeeded()));
        assertThat(tree.path("output").path("usage").path("completionTokens").asInt()).isEqualTo(212);
        assertThat(tree.path("error").isNull()).isTrue();
        assertThat(tree.path("receipt").path("runnerKeyId").asString()).isEqualTo("key-1");
        assertThat(tree.path("startedAt").asString()).isEqualTo("2026-01-02T03:04:05.123456Z");
    }

    static Stream<JobEvent> events() {
        var counts = new ExecutionCounts(3, 1, 1, 0, 5);
        return Stream.of(
                new JobEvent.JobQueued(10),
                new JobEvent.JobStarted("runner-a"),
                new JobEvent.QuestionStarted("climate", 0, 2),
                new JobEvent.ExecutionFinished(succeeded()),
                new JobEvent.ExecutionFinished(failed()),
                new JobEvent.ExecutionFinished(neverRun()),
                new JobEvent.QuestionFinished("climate", 0, counts),
                new JobEvent.JobFinished(JobStatus.PARTIAL, counts));
    }

    @ParameterizedTest
    @MethodSource("events")
    void everyEventTypeRoundTripsThroughItsData(JobEvent event) {
        JobId id = JobId.random();
        var stored = new StoredEvent(id, 7, T0, event);
        String data = JSON.writeEventData(stored);

        JsonNode tree = JSON.parse(data);
        assertThat(tree.path("jobId").asString()).isEqualTo(id.toString());
        assertThat(tree.path("seq").asLong()).isEqualTo(7);
        assertThat(tree.path("type").asString()).isEqualTo(event.type());
        assertThat(data).doesNotContain("\n");
        assertThat(JSON.readEvent(id, 7, T0, data)).isEqualTo(stored);
    }

    @Test
    void executionFinishedDataFlattensTheExecutionView() {
        JsonNode tree = JSON.parse(JSON.writeEventData(new StoredEvent(JobId.random(), 4, T0,
                new JobEvent.ExecutionFinished(succeeded()))));
        assertThat(tree.path("modelId").asString()).isEqualTo("mistral-7b");
        assertThat(tree.path("output").path("finishReason").asString()).isEqualTo("stop");
        assertThat(tree.has("result")).isFalse();
    }

    @Test
    void unknownEventTypeIsRejectedWithItsName() {
        assertThatThrownBy(() -> JSON.readEvent(JobId.random(), 1, T0, "{\"type\":\"job.exploded\"}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("job.exploded");
    }

    /**
     * Jackson builds a deserializer at its first use under a lock of the mapper; the readers run in
     * row mappers on a driver's event loop, several at once, where waiting for that lock is a park on
     * an event loop. So every deserializer the readers need is built by the constructor, and reading
     * builds none. The probe sees each build: it must see some during construction, none after.
     */
    @Test
    void readersBuildNoDeserializerAfterConstruction() {
        List<String> built = new CopyOnWriteArrayList<>();
        SimpleModule probe = new SimpleModule("deserializer-builds");
        probe.setDeserializers(new SimpleDeserializers() {
            @Override
            public ValueDeserializer<?> findTreeNodeDeserializer(JavaType type, DeserializationConfig config,
                                                                 BeanDescription.Supplier bean) {
                built.add(type.toString());
                return super.findTreeNodeDeserializer(type, config, bean);
            }

            @Override
            public ValueDeserializer<?> findBeanDeserializer(JavaType type, DeserializationConfig config, BeanDescription.Supplier bean) {
                built.add(type.toString());
                return super.findBeanDeserializer(type, config, bean);
            }

            @Override
            public ValueDeserializer<?> findMapDeserializer(MapType type, DeserializationConfig config, BeanDescription.Supplier bean,
                                                            KeyDeserializer keys, TypeDeserializer types, ValueDeserializer<?> values) {
                built.add(type.toString());
                return super.findMapDeserializer(type, config, bean, keys, types, values);
            }

            @Override
            public ValueDeserializer<?> findCollectionDeserializer(CollectionType type, DeserializationConfig config,
                                                                   BeanDescription.Supplier bean, TypeDeserializer types,
                                                                   ValueDeserializer<?> values) {
                built.add(type.toString());
                return super.findCollectionDeserializer(type, config, bean, types, values);
            }
        });

        JobJson json = new JobJson(JsonMapper.builder().addModule(probe).build());

        assertThat(built).as("deserializers built by the constructor").isNotEmpty();
        built.clear();
        JobSpec spec = spec(Map.of("requestedBy", "portal", "nested", Map.of("list", List.of(1, "two", Map.of("k", true)))));
        assertThat(json.readSpec(json.writeSpec(spec))).isEqualTo(spec);
        JobId id = JobId.random();
        for (JobEvent event : List.of(new JobEvent.JobQueued(12), new JobEvent.JobStarted("runner-a"),
                new JobEvent.QuestionStarted("climate", 0, 2), new JobEvent.ExecutionFinished(succeeded()),
                new JobEvent.ExecutionFinished(failed()), new JobEvent.ExecutionFinished(neverRun()),
                new JobEvent.QuestionFinished("climate", 0, new ExecutionCounts(1, 1, 0, 0, 0)),
                new JobEvent.JobFinished(JobStatus.PARTIAL, new ExecutionCounts(1, 1, 0, 0, 0)))) {
            StoredEvent stored = new StoredEvent(id, 3, T0, event);
            assertThat(json.readEvent(id, 3, T0, json.writeEventData(stored))).isEqualTo(stored);
        }
        assertThat(json.readExecution(json.writeExecution(succeeded()))).isEqualTo(succeeded());
        assertThat(json.readOutput(json.writeOutput(succeeded().output()))).isEqualTo(succeeded().output());
        assertThat(json.readReceipt(json.writeReceipt(succeeded().receipt()))).isEqualTo(succeeded().receipt());

        assertThat(built).as("deserializers built while reading").isEmpty();
    }

    /**
     * The same for the writers: Jackson resolves a new serializer holding the monitor of the mapper's
     * serializer cache, and the first writes happen on event loops. So {@link JsonForms} writes one of
     * each form when it is made, and writing values as the runner has them (read from JSON, as stored
     * rows and submitted bodies are) builds no serializer after that.
     */
    @Test
    void writersBuildNoSerializerAfterConstruction() {
        List<String> built = new CopyOnWriteArrayList<>();
        SimpleModule probe = new SimpleModule("serializer-builds");
        probe.setSerializers(new SimpleSerializers() {
            @Override
            public ValueSerializer<?> findSerializer(SerializationConfig config, JavaType type, BeanDescription.Supplier bean,
                                                     JsonFormat.Value format) {
                built.add(type.toString());
                return super.findSerializer(config, type, bean, format);
            }

            @Override
            public ValueSerializer<?> findEnumSerializer(SerializationConfig config, JavaType type, BeanDescription.Supplier bean,
                                                         JsonFormat.Value format) {
                built.add(type.toString());
                return super.findEnumSerializer(config, type, bean, format);
            }

            @Override
            public ValueSerializer<?> findCollectionSerializer(SerializationConfig config, CollectionType type,
                                                               BeanDescription.Supplier bean, JsonFormat.Value format,
                                                               TypeSerializer types, ValueSerializer<Object> values) {
                built.add(type.toString());
                return super.findCollectionSerializer(config, type, bean, format, types, values);
            }

            @Override
            public ValueSerializer<?> findMapSerializer(SerializationConfig config, MapType type, BeanDescription.Supplier bean,
                                                        JsonFormat.Value format, ValueSerializer<Object> keys, TypeSerializer types,
                                                        ValueSerializer<Object> values) {
                built.add(type.toString());
                return super.findMapSerializer(config, type, bean, format, keys, types, values);
            }
        });
        JobSpec base = JSON.readSpec(JSON.writeSpec(spec(Map.of("requestedBy", "portal",
                "nested", Map.of("list", List.of(1, "two", 2.5, Map.of("k", true)), "none", Map.of())))));
        List<JobSpec> specs = List.of(base,
                new JobSpec("one", List.of(base.questions().get(0)), List.of(base.models().get(1)), base.params(), base.limits(),
                        1.0, null),
                new JobSpec("three", List.of(base.questions().get(0), base.questions().get(1), new Question("c", "C?")),
                        List.of(base.models().get(0), base.models().get(1), new ModelSelection("qwen2.5", List.of("us"))),
                        base.params(), base.limits(), 0.5, base.metadata(), 3));
        List<ExecutionResult> results = Stream.of(succeeded(), failed(), neverRun(), succeeded().carriedFrom(JobId.random()))
                .map(r -> JSON.readExecution(JSON.writeExecution(r))).toList();
        var counts = new ExecutionCounts(1, 1, 0, 0, 0);
        var seal = new Seal("ab", 2, "key-1", "sig", T0);
        List<JobEvent> events = new ArrayList<>(List.of(new JobEvent.JobQueued(12), new JobEvent.JobStarted("runner-a"),
                new JobEvent.JobStarted(null), new JobEvent.QuestionStarted("climate", 0, 2),
                new JobEvent.QuestionFinished("climate", 0, counts), new JobEvent.JobFinished(JobStatus.PARTIAL, counts),
                new JobEvent.JobFinished(JobStatus.SUCCEEDED, counts, seal)));
        results.forEach(r -> events.add(new JobEvent.ExecutionFinished(r)));

        JsonForms forms = new JsonForms(probe);

        assertThat(built).as("serializers built by the constructor").isNotEmpty();
        built.clear();
        List<Object> written = new ArrayList<>(specs);
        for (ExecutionResult r : results) {
            written.add(JsonForms.view(r));
            if (r.output() != null) {
                written.add(r.output());
                written.add(r.output().provenance());
            }
            if (r.receipt() != null) {
                written.add(r.receipt());
            }
        }
        JobId id = JobId.random();
        events.forEach(e -> written.add(JsonForms.data(new StoredEvent(id, 3, T0, e))));
        written.addAll(List.of(seal, counts, Provenance.NONE));
        for (Object form : written) {
            forms.tree(form);
            forms.text(form);
        }

        assertThat(built).as("serializers built while writing").isEmpty();
    }
}
