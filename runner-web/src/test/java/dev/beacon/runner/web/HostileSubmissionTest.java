package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;

/**
 * Every malformed or hostile submission gets a 4xx {@code application/problem+json} answer that names
 * the offending fields, never a 5xx, and stores nothing.
 */
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "beacon.runner.security.tokens=test-token",
        "beacon.runner.limits.max-body-bytes=4096",
        "beacon.runner.limits.max-questions=20",
        "beacon.runner.limits.max-question-chars=200"})
class HostileSubmissionTest {

    private static final String TOKEN = "Bearer test-token";
    private static final String MODELS = "\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"us\",\"eu\"]}]";
    private static final String QUESTIONS = "\"questions\":[{\"id\":\"q1\",\"text\":\"Why is the sky blue?\"}]";

    @LocalServerPort
    int port;

    private RawHttp http;

    @BeforeEach
    void client() {
        http = new RawHttp(port);
    }

    /** One hostile request: what is sent, and the status and error fields expected back. */
    record Case(String name, Map<String, String> headers, byte[] body, int status, List<String> fields) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case json(String name, String body, String... fields) {
        return new Case(name, Map.of("Content-Type", "application/json", "Authorization", TOKEN),
                body.getBytes(StandardCharsets.UTF_8), 400, List.of(fields));
    }

    static Case raw(String name, Map<String, String> headers, byte[] body, int status, String... fields) {
        return new Case(name, headers, body, status, List.of(fields));
    }

    static String job(String fields) {
        return "{" + fields + "}";
    }

    static Stream<Case> cases() {
        String longText = "x".repeat(201);
        StringBuilder many = new StringBuilder("\"questions\":[");
        for (int i = 0; i < 21; i++) {
            many.append(i == 0 ? "" : ",").append("{\"id\":\"q").append(i).append("\",\"text\":\"t\"}");
        }
        many.append(']');
        byte[] big = ("{" + QUESTIONS + "," + MODELS + ",\"name\":\"" + "y".repeat(5000) + "\"}").getBytes(StandardCharsets.UTF_8);
        Map<String, String> withToken = Map.of("Content-Type", "application/json", "Authorization", TOKEN);
        byte[] valid = job(QUESTIONS + "," + MODELS).getBytes(StandardCharsets.UTF_8);
        return Stream.of(
                json("malformed JSON", "{", "$"),
                json("empty body", "", "$"),
                json("array instead of object", "[]", "$"),
                json("string instead of object", "\"hello\"", "$"),
                json("JSON null", "null", "$"),
                json("trailing garbage", job(QUESTIONS + "," + MODELS) + " trailing", "$"),
                json("duplicate keys", "{\"name\":\"a\",\"name\":\"b\"," + QUESTIONS + "," + MODELS + "}", "$"),
                json("missing questions", job(MODELS), "questions"),
                json("missing models", job(QUESTIONS), "models"),
                json("empty questions", job("\"questions\":[]," + MODELS), "questions"),
                json("empty models", job(QUESTIONS + ",\"models\":[]"), "models"),
                json("questions not an array", job("\"questions\":\"why\"," + MODELS), "questions"),
                json("question not an object", job("\"questions\":[\"why\"]," + MODELS), "questions[0]"),
                json("question without id", job("\"questions\":[{\"text\":\"why\"}]," + MODELS), "questions[0].id"),
                json("question with blank text", job("\"questions\":[{\"id\":\"q\",\"text\":\"  \"}]," + MODELS), "questions[0].text"),
                json("question id of wrong type", job("\"questions\":[{\"id\":7,\"text\":\"why\"}]," + MODELS), "questions[0].id"),
                json("duplicate question ids", job("\"questions\":[{\"id\":\"q\",\"text\":\"a\"},{\"id\":\"q\",\"text\":\"b\"}]," + MODELS), "questions[1].id"),
                json("question text too long", job("\"questions\":[{\"id\":\"q\",\"text\":\"" + longText + "\"}]," + MODELS), "questions[0].text"),
                json("too many questions", job(many + "," + MODELS), "questions"),
                json("unknown model", job(QUESTIONS + ",\"models\":[{\"id\":\"gpt-99\"}]"), "models[0].id"),
                json("unknown region", job(QUESTIONS + ",\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"mars\"]}]"), "models[0].regions[0]"),
                json("region not served for that model", job(QUESTIONS + ",\"models\":[{\"id\":\"mistral-7b\",\"regions\":[\"us\"]}]"), "models[0].regions[0]"),
                json("duplicate region", job(QUESTIONS + ",\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"us\",\"us\"]}]"), "models[0].regions[1]"),
                json("empty regions", job(QUESTIONS + ",\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[]}]"), "models[0].regions"),
                json("model listed twice", job(QUESTIONS + ",\"models\":[{\"id\":\"llama3.2-1b\"},{\"id\":\"llama3.2-1b\"}]"), "models[1].id"),
                json("temperature out of range", job(QUESTIONS + "," + MODELS + ",\"params\":{\"temperature\":3}"), "params.temperature"),
                json("temperature of wrong type", job(QUESTIONS + "," + MODELS + ",\"params\":{\"temperature\":\"hot\"}"), "params.temperature"),
                json("maxTokens zero", job(QUESTIONS + "," + MODELS + ",\"params\":{\"maxTokens\":0}"), "params.maxTokens"),
                json("concurrency zero", job(QUESTIONS + "," + MODELS + ",\"limits\":{\"concurrency\":0}"), "limits.concurrency"),
                json("execution timeout not ISO-8601", job(QUESTIONS + "," + MODELS + ",\"limits\":{\"executionTimeout\":\"2 minutes\"}"), "limits.executionTimeout"),
                json("negative job timeout", job(QUESTIONS + "," + MODELS + ",\"limits\":{\"jobTimeout\":\"-PT1M\"}"), "limits.jobTimeout"),
                json("fractional maxAttempts", job(QUESTIONS + "," + MODELS + ",\"limits\":{\"maxAttempts\":1.5}"), "limits.maxAttempts"),
                json("minSuccessRate above 1", job(QUESTIONS + "," + MODELS + ",\"minSuccessRate\":1.5"), "minSuccessRate"),
                json("unknown top-level field", job(QUESTIONS + "," + MODELS + ",\"priority\":\"high\""), "priority"),
                json("unknown nested field", job(QUESTIONS + "," + MODELS + ",\"params\":{\"topK\":5}"), "params.topK"),
                json("metadata not an object", job(QUESTIONS + "," + MODELS + ",\"metadata\":[1,2]"), "metadata"),
                json("name of wrong type", job(QUESTIONS + "," + MODELS + ",\"name\":42"), "name"),
                json("several errors at once", job("\"questions\":[{\"id\":1,\"text\":\"a\"}],\"models\":[{\"id\":\"nope\"}]"),
                        "questions[0].id", "models[0].id"),
                raw("invalid UTF-8", withToken, new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'}, 400, "$"),
                raw("Idempotency-Key too long", with(withToken, "Idempotency-Key", "k".repeat(300)), valid, 400, "Idempotency-Key"),
                raw("body over the limit with Content-Length", withToken, big, 413, "$"),
                raw("text/plain", Map.of("Content-Type", "text/plain", "Authorization", TOKEN), valid, 415, "Content-Type"),
                raw("no content type", Map.of("Authorization", TOKEN), valid, 415, "Content-Type"),
                raw("application/xml", Map.of("Content-Type", "application/xml", "Authorization", TOKEN), valid, 415, "Content-Type"),
                raw("JSON in Latin-1", Map.of("Content-Type", "application/json;charset=ISO-8859-1", "Authorization", TOKEN), valid, 415, "Content-Type"),
                raw("unparseable content type", Map.of("Content-Type", "///", "Authorization", TOKEN), valid, 415, "Content-Type"),
                raw("missing token", Map.of("Content-Type", "application/json"), valid, 401, "Authorization"),
                raw("wrong token", Map.of("Content-Type", "application/json", "Authorization", "Bearer nope"), valid, 401, "Authorization"),
                raw("token with wrong scheme", Map.of("Content-Type", "application/json", "Authorization", "Basic dGVzdC10b2tlbg=="), valid, 401, "Authorization"),
                raw("empty bearer token", Map.of("Content-Type", "application/json", "Authorization", "Bearer "), valid, 401, "Authorization"),
                raw("only HTML acceptable", with(withToken, "Accept", "text/html"), valid, 406, "Accept"));
    }

    private static Map<String, String> with(Map<String, String> headers, String name, String value) {
        Map<String, String> copy = new LinkedHashMap<>(headers);
        copy.put(name, value);
        return copy;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hostileSubmissionIsRejectedWithProblemAndStoresNothing(Case c) {
        RawHttp.Response response = http.send("POST", "/jobs", c.headers(), c.body());

        assertThat(response.status()).as(response.body()).isEqualTo(c.status());
        assertProblem(response, c.status(), "/jobs");
        assertThat(response.errorFields()).as(response.body()).containsAll(c.fields());
        if (c.status() == 401) {
            assertThat(response.header("WWW-Authenticate")).startsWith("Bearer");
        }
    }

    @Test
    void chunkedBodyOverTheLimitIsRefusedWhileReading() {
        byte[] chunk = ("{" + QUESTIONS + "," + MODELS + ",\"name\":\"").getBytes(StandardCharsets.UTF_8);
        byte[] filler = "z".repeat(1024).getBytes(StandardCharsets.UTF_8);
        // 64 KiB announced by nobody: the server must stop at 4 KiB.
        Flux<byte[]> body = Flux.concat(Flux.just(chunk), Flux.range(0, 64).map(i -> filler));

        RawHttp.Response response = http.sendChunked("/jobs", Map.of("Content-Type", "application/json", "Authorization", TOKEN), body);

        assertThat(response.status()).isEqualTo(413);
        assertProblem(response, 413, "/jobs");
        assertThat(response.errorFields()).containsExactly("$");
    }

    @Test
    void unsupportedMethodIsA405WithAllow() {
        RawHttp.Response response = http.send("DELETE", "/jobs", Map.of("Authorization", TOKEN), null);

        assertThat(response.status()).isEqualTo(405);
        assertThat(response.header("Allow")).isEqualTo("GET, POST");
        assertProblem(response, 405, "/jobs");
    }

    @Test
    void malformedQueryParametersAre400s() {
        assertThat(http.get("/jobs?limit=0", Map.of()).errorFields()).containsExactly("limit");
        assertThat(http.get("/jobs?limit=abc", Map.of()).errorFields()).containsExactly("limit");
        assertThat(http.get("/jobs?status=DONE", Map.of()).errorFields()).containsExactly("status");
        assertThat(http.get("/jobs?before=not-a-uuid", Map.of()).errorFields()).containsExactly("before");
        assertThat(http.get("/jobs?limit=0", Map.of()).status()).isEqualTo(400);
    }

    @Test
    void malformedOrUnknownJobIdIsA404() {
        for (String path : List.of("/jobs/not-a-uuid", "/jobs/00000000-0000-0000-0000-000000000000",
                "/jobs/00000000-0000-0000-0000-000000000000/events", "/jobs/00000000-0000-0000-0000-000000000000/executions",
                "/jobs/00000000-0000-0000-0000-000000000000/comparison", "/jobs/00000000-0000-0000-0000-000000000000/nothing/here")) {
            RawHttp.Response response = http.get(path, Map.of());
            assertThat(response.status()).as(path).isEqualTo(404);
            assertProblem(response, 404, path);
        }
        RawHttp.Response cancel = http.send("POST", "/jobs/00000000-0000-0000-0000-000000000000/cancel", Map.of("Authorization", TOKEN), null);
        assertThat(cancel.status()).isEqualTo(404);
    }

    @AfterEach
    void nothingWasStored() {
        RawHttp.Response list = http.get("/jobs", Map.of());
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json().path("jobs").size()).as(list.body()).isZero();
    }

    private static void assertProblem(RawHttp.Response response, int status, String instance) {
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        JsonNode body = response.json();
        assertThat(body.path("type").asString()).isNotBlank();
        assertThat(body.path("title").asString()).isNotBlank();
        assertThat(body.path("status").asInt()).isEqualTo(status);
        assertThat(body.path("detail").asString()).isNotBlank();
        assertThat(body.path("instance").asString()).isEqualTo(instance.replaceAll("\\?.*", ""));
        assertThat(body.path("errors").isArray()).isTrue();
    }
}
