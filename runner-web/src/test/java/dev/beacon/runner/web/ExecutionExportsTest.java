package dev.beacon.runner.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code GET /jobs/{id}/executions} as JSON, NDJSON and CSV through the real server: the three agree
 * row for row, the CSV reads back with an independent RFC 4180 parser (commons-csv) whatever the
 * answers contain, and the format comes from {@code ?format=} or {@code Accept}.
 */
@RunnerApiTest
class ExecutionExportsTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<String> COLUMNS = List.of("job_id", "question_id", "model_id", "region", "sample", "provider_id",
            "status", "attempts", "started_at", "completed_at", "latency_ms", "finish_reason", "prompt_tokens",
            "completion_tokens", "error_code", "error_message", "served_model", "text", "request_sha256",
            "output_sha256", "runner_key_id", "signature");
    /** Question texts the simulator echoes into its answers: commas, quotes, line breaks, non-ASCII. */
    private static final String HOSTILE_JOB = """
            {"questions": [
               {"id": "commas", "text": "Is it a, b, or \\"c\\"? Answer with commas, quotes \\"\\"and\\"\\" more"},
               {"id": "lines", "text": "First line\\r\\nsecond line\\nthird, with ü, 中文 and emoji 🙂"}],
             "models": [{"id": "llama3.2-1b", "regions": ["us", "eu"]}], "samples": 2}""";

    private final RunnerClient client;

    ExecutionExportsTest(RunnerClient client) {
        this.client = client;
    }

    @Test
    void csvReadsBackWithAnIndependentParserAndAgreesWithJsonRowForRow() throws Exception {
        String id = finishedJob(HOSTILE_JOB);
        List<JsonNode> json = client.executions(id);
        assertThat(json).hasSize(8);
        assertThat(json).anySatisfy(e -> assertThat(e.path("output").path("text").asString()).contains("\""));

        RawHttp.Response csv = client.get("/jobs/" + id + "/executions?format=csv");
        assertThat(csv.status()).isEqualTo(200);
        assertThat(csv.header("Content-Type")).startsWith("text/csv");
        assertThat(csv.header("Content-Disposition")).contains("attachment", "job-" + id + "-executions.csv");
        assertThat(csv.body()).startsWith(String.join(",", COLUMNS) + "\r\n");

        List<CSVRecord> records;
        try (CSVParser parser = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(new StringReader(csv.body()))) {
            assertThat(parser.getHeaderNames()).containsExactlyElementsOf(COLUMNS);
            records = parser.getRecords();
        }
        assertThat(records).hasSize(json.size());
        for (int i = 0; i < records.size(); i++) {
            CSVRecord row = records.get(i);
            JsonNode e = json.get(i);
            assertThat(row.size()).isEqualTo(COLUMNS.size());
            assertThat(row.get("job_id")).isEqualTo(id);
            assertThat(row.get("question_id")).isEqualTo(e.path("questionId").asString());
            assertThat(row.get("region")).isEqualTo(e.path("region").asString());
            assertThat(row.get("sample")).isEqualTo(Integer.toString(e.path("sample").asInt()));
            assertThat(row.get("status")).isEqualTo(e.path("status").asString());
            assertThat(row.get("text")).isEqualTo(e.path("output").path("text").asString());
            assertThat(row.get("served_model")).isEqualTo(e.path("provenance").path("servedModel").asString());
            assertThat(row.get("signature")).isEqualTo(e.path("receipt").path("signature").asString());
            assertThat(row.get("error_code")).isEmpty();
        }
    }

    @Test
    void ndjsonIsOneExecutionViewPerLineInTheSameOrder() {
        String id = finishedJob(HOSTILE_JOB);
        List<JsonNode> json = client.executions(id);

        RawHttp.Response ndjson = client.http.get("/jobs/" + id + "/executions", Map.of("Accept", "application/x-ndjson"));

        assertThat(ndjson.header("Content-Type")).startsWith("application/x-ndjson");
        assertThat(ndjson.header("Content-Disposition")).contains("job-" + id + "-executions.jsonl");
        String[] lines = ndjson.body().split("\n");
        assertThat(lines).hasSize(json.size());
        for (int i = 0; i < lines.length; i++) {
            assertThat(RawHttp.JSON.readTree(lines[i])).isEqualTo(json.get(i));
        }
    }

    @Test
    void theFormatComesFromTheQueryOrTheAcceptHeaderAndUnknownOnesAreRefused() {
        String id = finishedJob(HOSTILE_JOB);
        assertThat(client.http.get("/jobs/" + id + "/executions", Map.of("Accept", "text/csv")).header("Content-Type")).startsWith("text/csv");
        assertThat(client.http.get("/jobs/" + id + "/executions", Map.of("Accept", "*/*")).header("Content-Type")).startsWith("application/json");
        assertThat(client.http.get("/jobs/" + id + "/executions?format=ndjson", Map.of("Accept", "text/csv")).header("Content-Type"))
                .as("the query wins").startsWith("application/x-ndjson");

        RawHttp.Response unknown = client.get("/jobs/" + id + "/executions?format=xlsx");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.errorFields()).containsExactly("format");
        assertThat(client.http.get("/jobs/" + id + "/executions", Map.of("Accept", "image/png")).status()).isEqualTo(406);
        assertThat(client.get("/jobs/00000000-0000-0000-0000-000000000000/executions?format=csv").status()).isEqualTo(404);
    }

    private String finishedJob(String spec) {
        RawHttp.Response accepted = client.submit(spec, null);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = accepted.json().path("id").asString();
        client.eventsUntilEnd(id, null, null, TIMEOUT);
        return id;
    }
}
