package dev.beacon.runner.core.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JobSpecReaderTest {

    private static final EndpointCatalog CATALOG = catalog();
    private final JobSpecReader reader = new JobSpecReader(CATALOG, JobDefaults.DEFAULT, new SubmissionLimits(3, 50, 4096));

    private static EndpointCatalog catalog() {
        List<EndpointConfig> endpoints = new ArrayList<>();
        for (String region : List.of("us", "eu", "asia")) {
            endpoints.add(endpoint("llama3.2-1b", region));
        }
        endpoints.add(endpoint("mistral-7b", "eu"));
        return new EndpointCatalog(endpoints);
    }

    private static EndpointConfig endpoint(String model, String region) {
        return new EndpointConfig(new EndpointId(model, region), List.of(new ProviderConfig(model + "-" + region, ProviderType.SIMULATED,
                null, null, null, 4, Duration.ofMinutes(2), null)));
    }

    @Test
    void minimalSpecGetsEveryDefault() {
        JobSpec spec = reader.read("""
                {"questions":[{"id":"a","text":"Why?"}],"models":[{"id":"llama3.2-1b","regions":["eu","us"]}]}""");
        assertThat(spec.name()).isEqualTo("untitled");
        assertThat(spec.params()).isEqualTo(InferenceParams.DEFAULT);
        assertThat(spec.limits()).isEqualTo(JobLimits.DEFAULT);
        assertThat(spec.minSuccessRate()).isEqualTo(0.67);
        assertThat(spec.samples()).isEqualTo(1);
        assertThat(CellLayout.endpoints(spec)).extracting(EndpointId::toString).containsExactly("llama3.2-1b@eu", "llama3.2-1b@us");
    }

    @Test
    void leavingRegionsOutAsksEveryConfiguredRegion() {
        JobSpec spec = reader.read("""
                {"questions":[{"id":"a","text":"Why?"}],"models":[{"id":"llama3.2-1b"}]}""");
        assertThat(spec.models().get(0).regions()).containsExactly("us", "eu", "asia");
    }

    @Test
    void everyFieldIsRead() {
        JobSpec spec = reader.read("""
                {"name":"n","questions":[{"id":"a","text":"Why?"}],"models":[{"id":"mistral-7b","regions":["eu"]}],
                 "params":{"temperature":0.7,"maxTokens":64,"seed":null,"systemPrompt":"Be brief."},
                 "limits":{"concurrency":2,"executionTimeout":"PT5S","jobTimeout":"PT1M","maxAttempts":1},
                 "minSuccessRate":1,"metadata":{"by":"test"},"samples":5}""");
        assertThat(spec.samples()).isEqualTo(5);
        assertThat(spec.params()).isEqualTo(new InferenceParams(0.7, 64, null, "Be brief."));
        assertThat(spec.limits()).isEqualTo(new JobLimits(2, Duration.ofSeconds(5), Duration.ofMinutes(1), 1));
        assertThat(spec.metadata()).containsEntry("by", "test");
    }

    static Stream<Arguments> rejected() {
        String q = "\"questions\":[{\"id\":\"a\",\"text\":\"Why?\"}]";
        String m = "\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"us\"]}]";
        return Stream.of(
                Arguments.of("{", "$", "malformed JSON"),
                Arguments.of("[]", "$", "must be a JSON object"),
                Arguments.of("{" + m + "}", "questions", "is required"),
                Arguments.of("{\"questions\":[]," + m + "}", "questions", "must not be empty"),
                Arguments.of("{\"questions\":{}," + m + "}", "questions", "must be an array"),
                Arguments.of("{" + q + "}", "models", "is required"),
                Arguments.of("{" + q + ",\"models\":[]}", "models", "must not be empty"),
                Arguments.of("{\"questions\":[{\"id\":\"a\",\"text\":\"x\"},{\"id\":\"a\",\"text\":\"y\"}]," + m + "}", "questions[1].id", "duplicate question id"),
                Arguments.of("{\"questions\":[{\"id\":1,\"text\":\"x\"}]," + m + "}", "questions[0].id", "must be a string"),
                Arguments.of("{\"questions\":[{\"id\":\"a\",\"text\":\"  \"}]," + m + "}", "questions[0].text", "must not be blank"),
                Arguments.of("{\"questions\":[{\"id\":\"a\",\"text\":\"" + "x".repeat(51) + "\"}]," + m + "}", "questions[0].text", "at most 50"),
                Arguments.of("{\"questions\":[{\"id\":\"a\",\"text\":\"x\",\"extra\":1}]," + m + "}", "questions[0].extra", "unknown field"),
                Arguments.of("{\"questions\":[{\"id\":\"a\",\"text\":\"x\"},{\"id\":\"b\",\"text\":\"x\"},{\"id\":\"c\",\"text\":\"x\"},{\"id\":\"d\",\"text\":\"x\"}]," + m + "}",
                        "questions", "at most 3 questions"),
                Arguments.of("{" + q + ",\"models\":[{\"id\":\"gpt-9\",\"regions\":[\"us\"]}]}", "models[0].id", "unknown model 'gpt-9'; configured: llama3.2-1b, mistral-7b"),
                Arguments.of("{" + q + ",\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"us\",\"mars\"]}]}", "models[0].regions[1]",
                        "unknown region 'mars' for model llama3.2-1b; configured: us, eu, asia"),
                Arguments.of("{" + q + ",\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"us\",\"us\"]}]}", "models[0].regions[1]", "listed twice"),
                Arguments.of("{" + q + ",\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[]}]}", "models[0].regions", "must not be empty"),
                Arguments.of("{" + q + ",\"models\":[{\"id\":\"llama3.2-1b\"},{\"id\":\"llama3.2-1b\"}]}", "models[1].id", "listed twice"),
                Arguments.of("{" + q + "," + m + ",\"params\":{\"temperature\":3}}", "params.temperature", "between 0 and 2"),
                Arguments.of("{" + q + "," + m + ",\"params\":{\"temperature\":\"hot\"}}", "params.temperature", "must be a number"),
                Arguments.of("{" + q + "," + m + ",\"params\":{\"maxTokens\":1.5}}", "params.maxTokens", "must be an integer"),
                Arguments.of("{" + q + "," + m + ",\"params\":{\"seed\":\"x\"}}", "params.seed", "integer or null"),
                Arguments.of("{" + q + "," + m + ",\"limits\":{\"concurrency\":0}}", "limits.concurrency", "between 1 and 256"),
                Arguments.of("{" + q + "," + m + ",\"limits\":{\"executionTimeout\":\"2 minutes\"}}", "limits.executionTimeout", "ISO-8601"),
                Arguments.of("{" + q + "," + m + ",\"limits\":{\"jobTimeout\":\"-PT1M\"}}", "limits.jobTimeout", "must be positive"),
                Arguments.of("{" + q + "," + m + ",\"limits\":{\"maxAttempts\":11}}", "limits.maxAttempts", "between 1 and 10"),
                Arguments.of("{" + q + "," + m + ",\"minSuccessRate\":1.5}", "minSuccessRate", "between 0 and 1"),
                Arguments.of("{" + q + "," + m + ",\"samples\":0}", "samples", "between 1 and 50, but was 0"),
                Arguments.of("{" + q + "," + m + ",\"samples\":51}", "samples", "between 1 and 50, but was 51"),
                Arguments.of("{" + q + "," + m + ",\"samples\":2.5}", "samples", "must be an integer"),
                Arguments.of("{" + q + "," + m + ",\"samples\":\"5\"}", "samples", "must be an integer"),
                Arguments.of("{" + q + "," + m + ",\"metadata\":[1]}", "metadata", "must be an object"),
                Arguments.of("{" + q + "," + m + ",\"priority\":1}", "priority", "unknown field"),
                Arguments.of("{" + q + "," + m + ",\"name\":7}", "name", "must be a string"),
                Arguments.of("{" + q + "," + q + "," + m + "}", "$", "Duplicate Object property"),
                Arguments.of("{" + q + "," + m + "} trailing", "$", "malformed JSON"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("rejected")
    void badSpecsNameTheOffendingField(String body, String field, String message) {
        SpecValidationException e = catchThrowableOfType(SpecValidationException.class, () -> reader.read(body));
        assertThat(e).as("rejected").isNotNull();
        assertThat(e.errors()).anySatisfy(err -> {
            assertThat(err.field()).isEqualTo(field);
            assertThat(err.message()).contains(message);
        });
    }

    @Test
    void allErrorsAreReportedAtOnce() {
        SpecValidationException e = catchThrowableOfType(SpecValidationException.class, () -> reader.read("""
                {"questions":[{"id":"a"}],"models":[{"id":"nope"}],"limits":{"concurrency":-1}}"""));
        assertThat(e.errors()).extracting(FieldError::field).containsExactlyInAnyOrder("questions[0].text", "models[0].id", "limits.concurrency");
    }
}
