package dev.beacon.runner.web.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The dashboard against a runner whose reads need a token too ({@code open-reads=false}): the page
 * reads the event stream with {@code fetch} (sse.js) so that it can send the bearer token, resumes
 * after a dropped connection without missing or repeating an event, and asks for a token on a 401
 * instead of retrying. Runs in real headless Chromium (see {@link HeadlessChromium}) with the
 * {@code dashboard} profile's ~150 ms simulated endpoints.
 *
 * <p>The stream reader is exercised in the browser itself: its parser on crafted input split at
 * every position, its retry rules against a scripted {@code fetch}, and its resume against this
 * server's real stream, with the connection cut in the middle of an event.
 */
@SpringBootTest(
        classes = BeaconRunnerApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
                "beacon.runner.security.tokens[0]=" + DashboardWithClosedReadsBrowserTest.TOKEN,
                "beacon.runner.security.open-reads=false",
        })
@ActiveProfiles("dashboard")
class DashboardWithClosedReadsBrowserTest {

    static final String TOKEN = "closed-reads-token";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @RegisterExtension
    static final HeadlessChromium browser = new HeadlessChromium();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @LocalServerPort
    int port;

    @Test
    void withoutATokenTheJobPageAsksForOneAndStopsThenConnectsOnceItIsSaved() throws Exception {
        String jobId = submit(Files.readString(Path.of("src/main/resources/static/example-job.json")));
        assertThat(get("/jobs/" + jobId + "/events", null).statusCode()).as("reads are closed").isEqualTo(401);

        openWithoutToken("#/jobs/" + jobId);
        WebElement notice = browser.driver().findElement(By.id("auth-notice"));
        browser.waitUntil("the page asks for a token", notice::isDisplayed);
        assertThat(notice.getText()).contains("needs an API token").contains("API token").contains("Save");
        assertThat(connState()).isEqualTo("unauthorized");
        assertThat(browser.driver().findElement(By.id("conn-state")).getText()).contains("Token required");
        assertThat(cellsIn("SUCCEEDED")).isZero();
        browser.screenshot("08-closed-reads-token-required");

        // While the job runs to its end, the refused page asks nothing more: no retry loop.
        browser.waitUntil("the job finishes on the server", () -> isTerminal(jobId));
        assertThat(requestsTo("jobs/" + jobId)).as("requests the page made for the job").isEqualTo(1);
        assertThat(connState()).isEqualTo("unauthorized");

        enterToken();
        browser.waitUntil("the page connects with the token and shows all 64 cells succeeded", () -> cellsIn("SUCCEEDED") == 64);
        browser.waitUntil("the stream is closed after job.finished", () -> "done".equals(connState()));
        assertThat(notice.isDisplayed()).isFalse();
        assertThat(jobStatus()).isEqualTo("SUCCEEDED");

        // The other reads carry the token too.
        browser.driver().findElement(By.id("open-comparison")).click();
        browser.waitUntil("the comparison loads with the token", () -> browser.driver().findElements(By.cssSelector("#comparison section.question")).size() == 8);
        browser.open(baseUrl() + "#/");
        browser.waitUntil("the jobs list loads with the token",
                () -> !browser.driver().findElements(By.cssSelector("#jobs-table tr[data-job-id='" + jobId + "'] [data-status='SUCCEEDED']")).isEmpty());
    }

    @Test
    void withTheTokenTheJobPageFollowsTheStreamLiveToJobFinished() {
        openWithoutToken("#/");
        browser.waitUntil("the jobs page says the list needs a token",
                () -> browser.driver().findElement(By.cssSelector(".list-state")).getText().contains("enter the API token"));
        enterToken();
        browser.waitUntil("the jobs list loads once the token is saved",
                () -> browser.driver().findElement(By.cssSelector(".list-state")).getText().matches("(?s).*(shown|No jobs yet).*"));

        int questions = 40;
        String spec = """
                {"name": "closed-reads-live",
                 "questions": [%s],
                 "models": [{"id": "llama3.2-1b", "regions": ["us", "eu", "asia"]},
                            {"id": "mistral-7b", "regions": ["eu", "asia"]},
                            {"id": "qwen2.5-1.5b", "regions": ["us", "eu", "asia"]}]}
                """.formatted(IntStream.range(0, questions)
                .mapToObj(i -> "{\"id\": \"q" + i + "\", \"text\": \"Question " + i + ": is the sky blue?\"}")
                .collect(Collectors.joining(", ")));
        WebElement editor = browser.driver().findElement(By.id("spec"));
        browser.waitUntil("the editor is ready", () -> !editor.getDomProperty("value").isEmpty());
        browser.js("const t = document.getElementById('spec'); t.value = arguments[0]; t.dispatchEvent(new Event('input', {bubbles: true}));", spec);
        browser.driver().findElement(By.id("submit-job")).click();
        browser.waitUntil("the job page opens", () -> browser.driver().getCurrentUrl().contains("#/jobs/"));

        int cells = questions * 8;
        browser.waitUntil("the page shows the job part done while its stream is live", () -> {
            int done = cellsIn("SUCCEEDED");
            return "live".equals(connState()) && done > 0 && done < cells;
        });
        browser.screenshot("09-closed-reads-live");
        browser.waitUntil("every cell succeeded", () -> cellsIn("SUCCEEDED") == cells);
        browser.waitUntil("the job is shown as succeeded", () -> "SUCCEEDED".equals(jobStatus()));
        browser.waitUntil("the stream is closed after job.finished", () -> "done".equals(connState()));
        assertThat(browser.driver().findElement(By.cssSelector("[data-count='SUCCEEDED'] .count-n")).getText()).isEqualTo(String.valueOf(cells));
        assertThat(browser.driver().findElement(By.cssSelector("[data-count='PENDING'] .count-n")).getText()).isEqualTo("0");
        assertThat(browser.driver().findElement(By.id("auth-notice")).isDisplayed()).isFalse();
    }

    @Test
    void theStreamReaderParsesTheEventStreamFormatWhereverTheChunksSplitIt() {
        openWithoutToken("#/");
        Object result = ((JavascriptExecutor) browser.driver()).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                import('./sse.js').then(({EventStreamParser}) => {
                  const stream = ': a comment\\r\\n'
                    + 'id: 1\\r\\nevent: job.queued\\r\\ndata: {"seq":1}\\r\\n\\r\\n'          // CRLF
                    + 'id:2\\nevent:question.started\\ndata:{"a":\\ndata: "b"}\\n\\n'            // LF, no space, two data lines
                    + 'id: 3\\revent: x\\rdata:  two spaces\\r\\r'                               // CR only; one space dropped
                    + ':keep-alive\\n\\n'                                                          // a comment alone: no event
                    + 'id: 4\\n\\n'                                                                // id without data: no event, id kept
                    + 'data\\n\\n'                                                                 // field without colon: empty data line
                    + 'id: bad\\u0000id\\nretry: 2500\\nretry: soon\\nunknown: field\\ndata: last\\n\\n'
                    + 'id: 9\\ndata: never completed';                                              // discarded at the end
                  const expected = [
                    {type: 'job.queued', data: '{"seq":1}', lastEventId: '1'},
                    {type: 'question.started', data: '{"a":\\n"b"}', lastEventId: '2'},
                    {type: 'x', data: ' two spaces', lastEventId: '3'},
                    {type: 'message', data: '', lastEventId: '4'},
                    {type: 'message', data: 'last', lastEventId: '4'},
                  ];
                  const parse = chunks => {
                    const p = new EventStreamParser();
                    const events = chunks.flatMap(c => p.push(c));
                    return {events: JSON.stringify(events), retry: p.retry, comments: p.comments};
                  };
                  const want = JSON.stringify(expected);
                  const failures = [];
                  const check = (name, chunks) => {
                    const r = parse(chunks);
                    if (r.events !== want || r.retry !== 2500 || r.comments !== 2) failures.push(name + ': ' + JSON.stringify(r));
                  };
                  check('whole', [stream]);
                  check('one character at a time', [...stream]);
                  for (let i = 0; i <= stream.length; i++) check('split at ' + i, [stream.slice(0, i), stream.slice(i)]);
                  for (let i = 1; i < stream.length; i++) check('three pieces at ' + i, [stream.slice(0, i), '', stream.slice(i, i + 3), stream.slice(i + 3)]);
                  done(failures.length ? failures.slice(0, 5).join('\\n') : 'ok');
                }).catch(e => done('error: ' + e));
                """);
        assertThat(result).isEqualTo("ok");
    }

    @Test
    void theStreamReaderBacksOffRetriesTransientFailuresAndStopsOnRefusals() {
        openWithoutToken("#/");
        browser.js("""
                window.__retryTest = null;
                import('./sse.js').then(async ({followEvents}) => {
                  const enc = new TextEncoder();
                  const streamOf = (...chunks) => new ReadableStream({
                    start(c) { chunks.forEach(x => c.enqueue(typeof x === 'string' ? enc.encode(x) : x)); c.close(); }
                  });
                  const sse = body => new Response(body, {status: 200, headers: {'Content-Type': 'text/event-stream'}});
                  const euro = enc.encode('data: 5 \\u20ac\\r\\n\\r\\n');   // a 3-byte character, and a CRLF, to be cut in two
                  const at = euro.indexOf(0xe2);
                  const script = [
                    () => Promise.reject(new TypeError('Failed to fetch')),
                    () => Promise.reject(new TypeError('Failed to fetch')),
                    () => Promise.resolve(new Response('{"title":"busy"}', {status: 503, headers: {'Content-Type': 'application/problem+json'}})),
                    () => Promise.reject(new TypeError('Failed to fetch')),
                    // After a byte order mark (TextDecoder's to drop), one event, then the stream ends early:
                    // the back-off starts over.
                    () => Promise.resolve(sse(streamOf('\\uFEFFid: 1\\nevent: job.queued\\ndata: {}\\n\\n'))),
                    () => Promise.resolve(sse(streamOf('id: 2\\nevent: tick\\n', euro.slice(0, at + 1), euro.slice(at + 1, euro.length - 3),
                                                       euro.slice(euro.length - 3, euro.length - 1), euro.slice(euro.length - 1),
                                                       'id: 3\\nevent: job.finished\\ndata: {}\\n\\n', 'id: 4\\nevent: after\\ndata: {}\\n\\n'))),
                  ];
                  const calls = [];
                  const states = [];
                  const events = [];
                  const r1 = followEvents('jobs/x/events', {
                    minDelayMs: 40, maxDelayMs: 100,
                    headers: () => ({Authorization: 'Bearer t'}),
                    isLast: e => e.type === 'job.finished',
                    fetch: (url, init) => { calls.push({url, lastEventId: init.headers['Last-Event-ID'] || null,
                                                        accept: init.headers.Accept, auth: init.headers.Authorization}); return script[calls.length - 1](); },
                    onEvent: e => events.push(e),
                    onState: (s, info) => states.push(s === 'retrying' ? s + ':' + info.delayMs : s),
                  });
                  const done1 = await r1.done;

                  const refused = [];
                  const r2 = await followEvents('jobs/x/events', {
                    fetch: () => { refused.push(1); return Promise.resolve(new Response('{"title":"unauthorized","detail":"a bearer token is required"}',
                        {status: 401, headers: {'Content-Type': 'application/problem+json'}})); },
                  }).done;
                  const missing = [];
                  const r3 = await followEvents('jobs/x/events', {
                    fetch: () => { missing.push(1); return Promise.resolve(new Response('{"title":"not found"}', {status: 404, headers: {'Content-Type': 'application/problem+json'}})); },
                  }).done;
                  window.__retryTest = {done1, calls, states, events, r2, refused: refused.length, r3, missing: missing.length};
                }).catch(e => { window.__retryTest = {error: String(e)}; });
                """);
        browser.waitUntil("the scripted reader runs to its end", () -> browser.js("return window.__retryTest !== null;") == Boolean.TRUE);
        JsonNode r = JSON.readTree((String) browser.js("return JSON.stringify(window.__retryTest);"));
        assertThat(r.path("error").isMissingNode()).as(r.toString()).isTrue();

        assertThat(r.path("done1").path("reason").asString()).isEqualTo("finished");
        assertThat(r.path("events").valueStream().map(e -> e.path("type").asString() + "#" + e.path("lastEventId").asString()))
                .containsExactly("job.queued#1", "tick#2", "job.finished#3");
        assertThat(r.path("events").get(1).path("data").asString()).isEqualTo("5 \u20ac");
        // Six connections, each asking only for what came after the last event received.
        assertThat(r.path("calls").valueStream().map(c -> text(c.path("lastEventId"))))
                .containsExactly("null", "null", "null", "null", "null", "1");
        assertThat(r.path("calls")).allSatisfy(c -> {
            assertThat(c.path("accept").asString()).isEqualTo("text/event-stream");
            assertThat(c.path("auth").asString()).isEqualTo("Bearer t");
        });
        List<String> states = r.path("states").valueStream().map(JsonNode::asString).toList();
        assertThat(states).filteredOn(s -> !s.startsWith("retrying"))
                .containsExactly("connecting", "connecting", "connecting", "connecting", "connecting", "open", "connecting", "open", "finished");
        List<Integer> delays = states.stream().filter(s -> s.startsWith("retrying:")).map(s -> Integer.valueOf(s.substring(9))).toList();
        assertThat(delays).hasSize(5);
        // Jittered in [d/2, d] for d = 40, 80, 100 (the cap), 100; then 40 again after a connection that delivered an event.
        int[][] ranges = {{20, 40}, {40, 80}, {50, 100}, {50, 100}, {20, 40}};
        for (int i = 0; i < ranges.length; i++) {
            assertThat(delays.get(i)).as("back-off before attempt " + (i + 2)).isBetween(ranges[i][0], ranges[i][1]);
        }

        assertThat(r.path("r2").path("reason").asString()).isEqualTo("unauthorized");
        assertThat(r.path("r2").path("status").asInt()).isEqualTo(401);
        assertThat(r.path("r2").path("problem").path("detail").asString()).isEqualTo("a bearer token is required");
        assertThat(r.path("refused").asInt()).as("connections after a 401").isEqualTo(1);
        assertThat(r.path("r3").path("reason").asString()).isEqualTo("failed");
        assertThat(r.path("missing").asInt()).as("connections after a 404").isEqualTo(1);
    }

    @Test
    void theStreamReaderResumesAfterADroppedConnectionWithNothingMissedOrRepeated() throws Exception {
        String jobId = submit(Files.readString(Path.of("src/main/resources/static/example-job.json")));
        openWithoutToken("#/");
        // The real stream of a running job, through a fetch that cuts the first connection inside its
        // 3rd event and the second inside its 6th: the reader must resume after events 2 and 7.
        browser.js("""
                window.__resumeTest = null;
                const [jobId, token] = arguments;
                import('./sse.js').then(async ({followEvents}) => {
                  const cutInside = [3, 6];
                  const calls = [];
                  const cutting = async (url, init) => {
                    const n = calls.length;
                    calls.push({lastEventId: init.headers['Last-Event-ID'] || null, auth: init.headers.Authorization || null});
                    const res = await fetch(url, init);
                    if (n >= cutInside.length || !res.ok) return res;
                    const reader = res.body.getReader();
                    let seen = [];       // every byte passed on so far
                    const body = new ReadableStream({
                      async pull(c) {
                        const {value, done} = await reader.read();
                        if (done) { c.close(); return; }
                        const all = new Uint8Array([...seen, ...value]);
                        const ends = [];
                        for (let i = 1; i < all.length; i++) if (all[i - 1] === 10 && all[i] === 10) ends.push(i + 1);
                        const k = cutInside[n];
                        if (ends.length < k) { seen = all; c.enqueue(value); return; }
                        const from = k >= 2 ? ends[k - 2] : 0;             // the start of the k-th event
                        const cut = from + Math.floor((ends[k - 1] - from) / 2);  // halfway through it
                        c.enqueue(all.slice(seen.length, cut));
                        reader.cancel();
                        c.error(new TypeError('network error: connection dropped'));
                      },
                    });
                    return new Response(body, {status: res.status, headers: res.headers});
                  };
                  const events = [];
                  const states = [];
                  const result = await followEvents(`jobs/${jobId}/events`, {
                    headers: () => ({Authorization: `Bearer ${token}`}),
                    isLast: e => e.type === 'job.finished',
                    fetch: cutting,
                    onEvent: e => events.push({id: e.lastEventId, type: e.type, seq: JSON.parse(e.data).seq, status: JSON.parse(e.data).status || null}),
                    onState: s => states.push(s),
                  }).done;
                  window.__resumeTest = {result, calls, events, states};
                }).catch(e => { window.__resumeTest = {error: String(e)}; });
                """, jobId, TOKEN);
        browser.waitUntil("the reader follows the job to job.finished", () -> browser.js("return window.__resumeTest !== null;") == Boolean.TRUE);
        JsonNode r = JSON.readTree((String) browser.js("return JSON.stringify(window.__resumeTest);"));
        assertThat(r.path("error").isMissingNode()).as(r.toString()).isTrue();

        assertThat(r.path("result").path("reason").asString()).isEqualTo("finished");
        assertThat(r.path("calls").valueStream().map(c -> text(c.path("lastEventId"))))
                .containsExactly("null", "2", "7");
        assertThat(r.path("calls")).allSatisfy(c -> assertThat(c.path("auth").asString()).isEqualTo("Bearer " + TOKEN));
        List<JsonNode> events = r.path("events").valueStream().toList();
        assertThat(events).extracting(e -> e.path("id").asString())
                .containsExactlyElementsOf(IntStream.rangeClosed(1, events.size()).mapToObj(String::valueOf).toList());
        assertThat(events).allSatisfy(e -> assertThat(e.path("seq").asLong()).isEqualTo(Long.parseLong(e.path("id").asString())));
        assertThat(events.get(0).path("type").asString()).isEqualTo("job.queued");
        JsonNode last = events.get(events.size() - 1);
        assertThat(last.path("type").asString()).isEqualTo("job.finished");
        assertThat(last.path("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(events).filteredOn(e -> e.path("type").asString().equals("execution.finished")).hasSize(64);
        assertThat(r.path("states").valueStream().map(JsonNode::asString))
                .containsExactly("connecting", "open", "retrying", "connecting", "open", "retrying", "connecting", "open", "finished");
    }

    // ------------------------------------------------------------------ helpers

    private static String text(JsonNode node) {
        return node.isNull() || node.isMissingNode() ? "null" : node.asString();
    }

    private String baseUrl() {
        return "http://127.0.0.1:" + port + "/";
    }

    /** Loads the page at {@code hash} in a fresh document with no token in its session. */
    private void openWithoutToken(String hash) {
        browser.open(baseUrl() + "example-job.json");
        browser.js("sessionStorage.clear();");
        browser.open(baseUrl() + hash);
        browser.waitUntil("the page's script ran", () -> !browser.driver().findElements(By.cssSelector("#view > *")).isEmpty());
    }

    private void enterToken() {
        WebElement input = browser.driver().findElement(By.id("token-input"));
        input.clear();
        input.sendKeys(TOKEN);
        browser.driver().findElement(By.cssSelector("#token-form button[type='submit']")).click();
        browser.waitUntil("the token is kept for the session", () -> TOKEN.equals(browser.js("return sessionStorage.getItem('beacon.runner.token');")));
    }

    private String submit(String spec) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "jobs"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + TOKEN)
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(spec)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        return JSON.readTree(response.body()).path("id").asString();
    }

    private HttpResponse<String> get(String path, String token) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl() + path.substring(1)))
                .header("Accept", path.endsWith("/events") ? "text/event-stream" : "application/json")
                .timeout(Duration.ofSeconds(30));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private boolean isTerminal(String jobId) {
        try {
            HttpResponse<String> response = get("/jobs/" + jobId, TOKEN);
            String status = JSON.readTree(response.body()).path("status").asString();
            return List.of("SUCCEEDED", "PARTIAL", "FAILED", "CANCELLED", "TIMED_OUT").contains(status);
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** How many requests this document made whose URL contains {@code part} (Resource Timing). */
    private int requestsTo(String part) {
        Object n = browser.js("return performance.getEntriesByType('resource').filter(e => e.name.includes(arguments[0])).length;", part);
        return ((Number) n).intValue();
    }

    private String connState() {
        List<WebElement> conn = browser.driver().findElements(By.id("conn-state"));
        return conn.isEmpty() ? "" : String.valueOf(conn.get(0).getDomAttribute("data-state"));
    }

    private int cellsIn(String state) {
        Object n = browser.js("return document.querySelectorAll(\"#matrix .cell[data-state='\" + arguments[0] + \"']\").length;", state);
        return ((Number) n).intValue();
    }

    private String jobStatus() {
        List<WebElement> badge = browser.driver().findElements(By.cssSelector("#job-status [data-status]"));
        return badge.isEmpty() ? "" : badge.get(0).getDomAttribute("data-status");
    }
}
