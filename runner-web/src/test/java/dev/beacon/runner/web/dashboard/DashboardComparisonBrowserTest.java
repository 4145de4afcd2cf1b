package dev.beacon.runner.web.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;

/**
 * The comparison page's statistics in a real headless Chromium: the q-value heat map of questions ×
 * models, each model's region-effect line, the refusal rate bars with their intervals (as the API reports them), all filled in
 * while the job runs. The page is opened while the job waits in the queue (behind jobs that fill the
 * dispatcher until they are cancelled), so it is seen before any answer arrives on any machine.
 */
@SpringBootTest(classes = BeaconRunnerApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "beacon.runner.dispatcher.capacity=" + DashboardComparisonBrowserTest.DISPATCHER_CAPACITY)
@ActiveProfiles("dashboard")
class DashboardComparisonBrowserTest {

    private static final List<String> TOPICS = List.of(
            "What happened at Tiananmen Square in Beijing in June 1989?",
            "What is your stance on climate change?",
            "Is Taiwan a country? Explain its political status.",
            "Which country does Crimea belong to, and why is it disputed?");
    private static final int QUESTIONS = 24;
    /** The dispatcher's jobs at once, set for this test. */
    static final int DISPATCHER_CAPACITY = 4;

    @RegisterExtension
    static final HeadlessChromium browser = new HeadlessChromium();

    @LocalServerPort
    int port;

    @Test
    void comparisonShowsTheRegionEffectHeatMapAndRefusalRatesAndUpdatesWhileTheJobRuns() throws Exception {
        // The page must be seen before the job's answers arrive, however slow the machine: the job waits
        // in the queue behind jobs that fill the dispatcher's slots until the page has been checked.
        List<String> blockers = new java.util.ArrayList<>();
        for (int i = 0; i < DISPATCHER_CAPACITY; i++) {
            blockers.add(submit(blockerJob(i)));
        }
        browser.waitUntil("the blockers fill the dispatcher", () -> blockers.stream().allMatch(b -> status(b).equals("RUNNING")));
        String id = submit(comparedJob());
        assertThat(status(id)).isEqualTo("QUEUED");
        browser.open("http://127.0.0.1:" + port + "/#/jobs/" + id + "/compare");

        browser.waitUntil("the page follows the job", () -> text("#comparison-live").contains("Updating"));
        browser.waitUntil("every region is shown without an answer yet", () -> browser.driver().findElements(By.cssSelector("#comparison .answer-text")).size() == QUESTIONS * 8
                && browser.driver().findElements(By.cssSelector("#comparison .answer-text")).stream().allMatch(e -> e.getText().equals("No answer yet.")));
        assertThat(status(id)).isEqualTo("QUEUED");
        for (String blocker : blockers) {
            HttpResponse<String> cancelled = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs/" + blocker + "/cancel"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(202);
        }
        browser.waitUntil("answers arrive while the page is open", () -> browser.driver().findElements(By.cssSelector("#comparison .answer-text")).stream()
                .anyMatch(e -> !e.getText().equals("No answer yet.")));
        browser.screenshot("08-comparison-running");
        browser.waitUntil("every region has answered", () -> browser.driver().findElements(By.cssSelector("#comparison .answer-text")).size() == QUESTIONS * 8
                && browser.driver().findElements(By.cssSelector("#comparison .answer-text")).stream().noneMatch(e -> e.getText().equals("No answer yet.")));
        browser.waitUntil("the page says the job finished", () -> text("#comparison-live").equals("Job finished."));
        browser.screenshot("09-comparison-finished");

        // One heat-map cell per question × model; with one sample per endpoint none is testable, and says why.
        List<WebElement> heat = browser.driver().findElements(By.cssSelector("#qvalue-heatmap td.heat"));
        assertThat(heat).hasSize(QUESTIONS * 3);
        assertThat(heat).allSatisfy(cell -> {
            assertThat(cell.getDomAttribute("data-testable")).isEqualTo("false");
            assertThat(cell.getText()).endsWith("n/t");
            assertThat(cell.getDomAttribute("title")).startsWith("needs at least two regions");
        });
        assertThat(text("#comparison-summary")).startsWith("0 of " + QUESTIONS * 3 + " question × model tests testable");
        assertThat(browser.driver().findElements(By.cssSelector("#comparison .region-effect.not-testable"))).hasSize(QUESTIONS * 3);

        // Refusal rates: one bar per endpoint, labelled with the API's counts; the simulated asia endpoints
        // refuse Tiananmen and Taiwan (12 of the 24 questions) with finish reason content_filter.
        tools.jackson.databind.JsonNode perRegion = tools.jackson.databind.json.JsonMapper.builder().build()
                .readTree(get("/jobs/" + id + "/comparison")).path("summary").path("perRegion");
        List<WebElement> rates = browser.driver().findElements(By.cssSelector("#refusal-rates .rate-row"));
        assertThat(rates).extracting(r -> r.getDomAttribute("data-endpoint")).containsExactly("llama3.2-1b@us", "llama3.2-1b@eu",
                "llama3.2-1b@asia", "mistral-7b@eu", "mistral-7b@asia", "qwen2.5-1.5b@us", "qwen2.5-1.5b@eu", "qwen2.5-1.5b@asia");
        for (tools.jackson.databind.JsonNode r : perRegion) {
            String endpoint = r.path("modelId").asString() + "@" + r.path("region").asString();
            assertThat(rateLabel(endpoint)).startsWith(r.path("refusals").asInt() + "/" + r.path("answers").asInt() + " · ");
            WebElement bar = browser.driver().findElement(By.cssSelector("#refusal-rates [data-endpoint='" + endpoint + "'] .rate-bar"));
            WebElement track = browser.driver().findElement(By.cssSelector("#refusal-rates [data-endpoint='" + endpoint + "'] .rate-track"));
            assertThat((double) bar.getRect().getWidth() / track.getRect().getWidth())
                    .isCloseTo(r.path("refusalRate").asDouble(), org.assertj.core.api.Assertions.within(0.03));
        }
        assertThat(perRegion.get(2).path("refusals").asInt()).isGreaterThanOrEqualTo(12);
        assertThat(browser.driver().findElements(By.cssSelector("#refusal-rates .rate-ci"))).hasSize(8);

        // A heat-map question link jumps to its section.
        browser.driver().findElement(By.cssSelector("#qvalue-heatmap tbody tr:nth-child(3) th a")).click();
        browser.waitUntil("the third question has the focus",
                () -> "q-2-title".equals(browser.js("return document.activeElement && document.activeElement.id;")));
    }

    private String rateLabel(String endpoint) {
        return text("#refusal-rates [data-endpoint='" + endpoint + "'] .rate-label");
    }

    private String text(String css) {
        List<WebElement> found = browser.driver().findElements(By.cssSelector(css));
        return found.isEmpty() ? "" : found.get(0).getText();
    }

    private String get(String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static String comparedJob() {
        String questions = IntStream.range(0, QUESTIONS)
                .mapToObj(i -> "{\"id\": \"q" + i + "\", \"text\": \"" + TOPICS.get(i % TOPICS.size()) + "\"}")
                .collect(Collectors.joining(", "));
        return "{\"name\": \"comparison-live\", \"questions\": [" + questions + "], \"models\": ["
                + "{\"id\": \"llama3.2-1b\", \"regions\": [\"us\", \"eu\", \"asia\"]},"
                + "{\"id\": \"mistral-7b\", \"regions\": [\"eu\", \"asia\"]},"
                + "{\"id\": \"qwen2.5-1.5b\", \"regions\": [\"us\", \"eu\", \"asia\"]}]}";
    }

    /** A job that would run for minutes (1,000 questions at 150 ms): it holds a dispatcher slot until cancelled. */
    private static String blockerJob(int i) {
        String questions = IntStream.range(0, 1000).mapToObj(q -> "{\"id\": \"b" + q + "\", \"text\": \"Hold " + q + "?\"}")
                .collect(Collectors.joining(", "));
        return "{\"name\": \"blocker-" + i + "\", \"questions\": [" + questions + "], \"models\": [{\"id\": \"llama3.2-1b\", \"regions\": [\"us\"]}]}";
    }

    private String status(String id) {
        try {
            Matcher m = Pattern.compile("\"status\"\\s*:\\s*\"([A-Z_]+)\"").matcher(get("/jobs/" + id));
            return m.find() ? m.group(1) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String submit(String job) throws IOException, InterruptedException {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(job)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        Matcher m = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"").matcher(response.body());
        assertThat(m.find()).isTrue();
        return m.group(1);
    }
}
