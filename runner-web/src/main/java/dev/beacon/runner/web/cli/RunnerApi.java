package dev.beacon.runner.web.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The runner's HTTP API as the command line uses it: plain blocking calls with the JDK's client, on
 * the command's own thread (never an event loop), with the bearer token when one is given.
 */
final class RunnerApi {

    static final JsonMapper JSON = JsonMapper.builder().build();

    /** A response: its status and its body as text. */
    record Reply(int status, String body) {
        JsonNode json() {
            return JSON.readTree(body);
        }

        boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    /** One server-sent event: its type and its data line as JSON. */
    record Event(String type, JsonNode data) {
    }

    private final URI base;
    private final @Nullable String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    RunnerApi(URI base, @Nullable String token) {
        String text = base.toString();
        this.base = URI.create(text.endsWith("/") ? text : text + "/");
        this.token = token == null || token.isBlank() ? null : token;
    }

    Reply submit(String spec) throws IOException, InterruptedException {
        return send(request("jobs").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(spec)));
    }

    Reply get(String path) throws IOException, InterruptedException {
        return send(request(path).GET());
    }

    Reply cancel(String jobId) throws IOException, InterruptedException {
        return send(request("jobs/" + jobId + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** Saves {@code GET /jobs/{id}/executions?format=…} to {@code file} as it arrives; returns the status. */
    int download(String jobId, String format, Path file) throws IOException, InterruptedException {
        HttpResponse<Path> response = http.send(request("jobs/" + jobId + "/executions?format=" + format).GET().build(),
                HttpResponse.BodyHandlers.ofFile(file));
        return response.statusCode();
    }

    /**
     * Reads the job's event stream from the start and hands each event to {@code onEvent} until the
     * server completes it (after {@code job.finished}) or the connection ends; keep-alive comments are
     * skipped. Blocks the calling thread meanwhile.
     */
    void follow(String jobId, Consumer<Event> onEvent) throws IOException, InterruptedException {
        HttpResponse<Stream<String>> response = http.send(request("jobs/" + jobId + "/events").header("Accept", "text/event-stream").GET().build(),
                HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new IOException("the event stream answered HTTP " + response.statusCode());
        }
        String type = null;
        StringBuilder data = new StringBuilder();
        try (Stream<String> lines = response.body()) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.isEmpty()) {
                    if (type != null && !data.isEmpty()) {
                        onEvent.accept(new Event(type, JSON.readTree(data.toString())));
                    }
                    type = null;
                    data.setLength(0);
                } else if (line.startsWith("event:")) {
                    type = line.substring(6).strip();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).strip());
                }
            }
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(base.resolve(path)).header("Accept", "application/json");
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        return builder;
    }

    private Reply send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            return new Reply(response.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
