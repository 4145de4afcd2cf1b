package dev.beacon.runner.web.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import tools.jackson.databind.json.JsonMapper;

/**
 * The job page of a job with samples, in real headless Chromium: each matrix cell stands for all the
 * samples of its question and endpoint (how many succeeded of how many), and its detail lists every
 * sample's answer in order; the executions download as CSV and NDJSON.
 */
@SpringBootTest(classes = BeaconRunnerApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("dashboard")
class DashboardSamplesBrowserTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String JOB = """
            {"name": "three-samples",
             "questions": [{"id": "press", "text": "Which countries have the least press freedom, and why?"},
                           {"id": "climate", "text": "What is your stance on climate change?"}],
             "models": [{"id": "llama3.2-1b", "regions": ["us", "eu", "asia"]}, {"id": "mistral-7b", "regions": ["eu", "asia"]}],
             "samples": 3}""";

    @RegisterExtension
    static final HeadlessChromium browser = new HeadlessChromium();

    @LocalServerPort
    int port;

    @Test
    void eachCellStandsForItsSamplesAndItsDetailListsEveryAnswer() throws Exception {
        HttpResponse<String> accepted = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(JOB)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String jobId = JSON.readTree(accepted.body()).path("id").asString();

        browser.open("http://127.0.0.1:" + port + "/#/jobs/" + jobId);
        browser.waitUntil("the matrix shows 2 questions x 5 endpoints", () -> cells().size() == 10);
        browser.waitUntil("every cell succeeded in all its samples", () -> cells().stream()
                .allMatch(c -> "SUCCEEDED".equals(c.getDomAttribute("data-state")) && c.getText().contains("3/3 ok")));
        browser.waitUntil("the counts add up to 30 cells", () -> browser.driver()
                .findElement(By.cssSelector("[data-count='SUCCEEDED'] .count-n")).getText().equals("30"));
        browser.waitUntil("the total says 30 of 30", () -> browser.driver().findElement(By.cssSelector(".count-total")).getText().contains("30 of 30"));
        browser.screenshot("samples-01-job-finished");

        browser.js("document.querySelector(\"#matrix .cell[data-question='press'][data-endpoint='mistral-7b@eu']\").click();");
        browser.waitUntil("the detail lists three samples", () -> browser.driver().findElements(By.cssSelector("#cell-detail .sample")).size() == 3);
        // One script call reads the whole list: the panel is re-rendered as events arrive, so found elements can go stale.
        @SuppressWarnings("unchecked")
        List<List<String>> samples = (List<List<String>>) browser.js("return [...document.querySelectorAll('#cell-detail .sample')].map(s => "
                + "[s.dataset.sample, s.dataset.state, s.innerText, s.querySelector('.answer')?.innerText || '']);");
        assertThat(samples).extracting(s -> s.get(0)).containsExactly("0", "1", "2");
        assertThat(samples).allSatisfy(s -> {
            assertThat(s.get(1)).isEqualTo("SUCCEEDED");
            assertThat(s.get(2)).as("the provider's own word on what it served").contains("served by mistral-7b");
            assertThat(s.get(3)).isNotBlank();
        });
        browser.screenshot("samples-02-cell-detail");

        // The executions download as CSV and NDJSON, named after the job.
        for (String format : List.of("csv", "ndjson")) {
            browser.driver().findElement(By.id("download-" + format)).click();
            browser.waitUntil("the " + format + " export was fetched", () -> ("job-" + jobId + "-executions." + (format.equals("csv") ? "csv" : "jsonl"))
                    .equals(browser.driver().findElement(By.id("download-" + format)).getDomAttribute("data-downloaded")));
        }
    }

    @Test
    void aFinishedJobWithCancelledCellsOffersARetryThatLinksBackToIt() throws Exception {
        StringBuilder questions = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            questions.append(i == 0 ? "" : ",").append("{\"id\":\"q").append(i).append("\",\"text\":\"Question ").append(i).append("?\"}");
        }
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString("{\"questions\":[" + questions + "],\"models\":[{\"id\":\"mistral-7b\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        String source = JSON.readTree(accepted.body()).path("id").asString();
        http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs/" + source + "/cancel"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());

        browser.open("http://127.0.0.1:" + port + "/#/jobs/" + source);
        browser.waitUntil("the job is shown as finished", () -> !browser.driver().findElements(By.cssSelector("#job-status [data-status='CANCELLED']")).isEmpty());
        browser.waitUntil("the cancelled job offers a retry", () -> browser.driver().findElement(By.id("retry-job")).isDisplayed());
        browser.driver().findElement(By.id("retry-job")).click();
        browser.waitUntil("the retry's page opens", () -> !browser.driver().getCurrentUrl().endsWith(source)
                && !browser.driver().findElements(By.id("retry-of")).isEmpty());
        // Checked inside waitUntil (which retries a stale element): the page re-renders as events arrive.
        browser.waitUntil("the retry links back to its source", () -> source.equals(browser.driver().findElement(By.id("retry-of")).getText()));
        browser.waitUntil("the retry succeeds", () -> browser.driver().findElements(By.cssSelector("#job-status [data-status='SUCCEEDED']")).size() == 1);
        browser.screenshot("samples-03-retry");
        String retry = browser.driver().getCurrentUrl().substring(browser.driver().getCurrentUrl().lastIndexOf('/') + 1);
        // And the source links to it: both ways.
        browser.js("document.getElementById('retry-of').click();");
        browser.waitUntil("the source lists its retry", () -> !browser.driver().findElements(
                By.cssSelector("#retried-as a[href$='" + retry + "']")).isEmpty());
    }

    @Test
    void theComparisonPageMarksWhatChangedSinceABaselineRun() throws Exception {
        String baseline = submitAndWait("{\"questions\":[{\"id\":\"q\",\"text\":\"What is your stance on climate change?\"}],"
                + "\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"eu\"]}],\"samples\":5}");
        String later = submitAndWait("{\"questions\":[{\"id\":\"q\",\"text\":\"Which countries have the least press freedom, and why?\"}],"
                + "\"models\":[{\"id\":\"llama3.2-1b\",\"regions\":[\"eu\"]}],\"samples\":5}");

        browser.open("http://127.0.0.1:" + port + "/#/jobs/" + later + "/compare");
        browser.waitUntil("the comparison loads", () -> !browser.driver().findElements(By.cssSelector("#comparison .region-col")).isEmpty());
        browser.driver().findElement(By.id("baseline-id")).sendKeys(baseline);
        browser.driver().findElement(By.id("apply-baseline")).click();
        browser.waitUntil("the region is marked as changed since the baseline",
                () -> !browser.driver().findElements(By.cssSelector("#comparison .baseline-note[data-changed='true']")).isEmpty());
        browser.waitUntil("the note says what changed and its p-value", () -> {
            String note = browser.driver().findElement(By.cssSelector("#comparison .baseline-note")).getText();
            return note.contains("Changed since the baseline") && note.contains("p =");
        });
        browser.screenshot("samples-04-drift");
    }

    private String submitAndWait(String job) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(job)).build(), HttpResponse.BodyHandlers.ofString());
        String id = JSON.readTree(accepted.body()).path("id").asString();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> List.of("SUCCEEDED", "PARTIAL").contains(JSON.readTree(http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs/" + id)).build(), HttpResponse.BodyHandlers.ofString()).body())
                .path("status").asString()));
        return id;
    }

    private List<WebElement> cells() {
        return browser.driver().findElements(By.cssSelector("#matrix .cell"));
    }
}
