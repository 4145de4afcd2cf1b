package dev.beacon.runner.web.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;

/**
 * Drives the dashboard in a real headless Chromium against the running application: submit the
 * example job from the form and watch all 64 cells succeed, read the comparison, get a validation
 * error for a bad spec, cancel a slow job and see its cells turn cancelled.
 *
 * <p>Needs {@code chromium} and {@code chromium-driver} (Debian packages), see {@link HeadlessChromium}:
 * without them the test fails rather than skips.
 *
 * <p>Runs with the {@code dashboard} profile: simulated endpoints of about 150 ms, so a job is seen
 * running and can be cancelled. Screenshots of every step land in {@code target/dashboard-screenshots/}.
 */
@SpringBootTest(
        classes = BeaconRunnerApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
                "beacon.runner.security.tokens[0]=" + DashboardBrowserTest.TOKEN,
        })
@ActiveProfiles("dashboard")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserTest {

    static final String TOKEN = "dashboard-test-token";

    @RegisterExtension
    static final HeadlessChromium browser = new HeadlessChromium();

    private static String finishedJobId;

    @LocalServerPort
    int port;

    private String baseUrl() {
        return "http://127.0.0.1:" + port + "/";
    }

    @Test
    @Order(1)
    void submittingTheExampleJobFillsTheWholeMatrixLive() {
        openJobsPage();
        enterToken();
        WebElement spec = browser.driver().findElement(By.id("spec"));
        browser.waitUntil("the form is prefilled with the example job", () -> spec.getDomProperty("value").contains("tiananmen"));
        browser.screenshot("01-jobs-page");

        browser.driver().findElement(By.id("submit-job")).click();
        browser.waitUntil("the job page opens", () -> browser.driver().getCurrentUrl().contains("#/jobs/"));
        String jobId = jobIdFromUrl();
        browser.waitUntil("the matrix shows 64 cells", () -> cells().size() == 64);
        browser.waitUntil("the job runs", () -> cellsIn("RUNNING") > 0 || cellsIn("SUCCEEDED") > 0);
        browser.screenshot("02-job-running");

        browser.waitUntil("all 64 cells succeeded", () -> cellsIn("SUCCEEDED") == 64);
        browser.waitUntil("the job is shown as succeeded", () -> jobStatus().equals("SUCCEEDED"));
        browser.waitUntil("the stream is closed after job.finished",
                () -> "done".equals(browser.driver().findElement(By.id("conn-state")).getDomAttribute("data-state")));
        assertThat(text("[data-count='SUCCEEDED'] .count-n")).isEqualTo("64");
        assertThat(text("[data-count='PENDING'] .count-n")).isEqualTo("0");
        assertThat(browser.js("return document.getElementById('cancel-job').disabled;")).isEqualTo(true);
        browser.screenshot("03-job-finished");

        // A cell opens its execution by keyboard, and keeps the focus while the page updates.
        press(() -> browser.driver().findElement(By.cssSelector("#matrix .cell[data-question='climate'][data-endpoint='mistral-7b@eu']")), Keys.ENTER);
        browser.waitUntil("the cell's answer is shown", () -> browser.driver().findElement(By.id("cell-detail")).isDisplayed());
        assertThat(text("#cell-detail h2")).contains("climate").contains("mistral-7b@eu");
        assertThat(text("#cell-detail .answer")).isNotBlank();
        assertThat(browser.js("return document.activeElement.dataset.endpoint;")).isEqualTo("mistral-7b@eu");
        browser.screenshot("03b-cell-detail");
        // Arrow keys move between cells.
        press(() -> browser.driver().switchTo().activeElement(), Keys.ARROW_RIGHT);
        assertThat(browser.js("return document.activeElement.dataset.endpoint;")).isEqualTo("mistral-7b@asia");
        press(() -> browser.driver().switchTo().activeElement(), Keys.ARROW_DOWN);
        assertThat(browser.js("return document.activeElement.dataset.question;")).isEqualTo("tiananmen");

        // A full reload replays the stream from the start and shows the same finished matrix.
        browser.driver().navigate().refresh();
        browser.waitUntil("the reloaded page shows all 64 cells succeeded", () -> cellsIn("SUCCEEDED") == 64);

        // The job is listed on the jobs page with its status.
        openJobsPage();
        browser.waitUntil("the finished job is listed", () -> !browser.driver().findElements(
                By.cssSelector("#jobs-table tr[data-job-id='" + jobId + "'] [data-status='SUCCEEDED']")).isEmpty());
        finishedJobId = jobId;
    }

    @Test
    @Order(2)
    void comparisonShowsEveryRegionsAnswerSideBySide() {
        assertThat(finishedJobId).as("a finished job from the previous step").isNotNull();
        browser.open(baseUrl() + "#/jobs/" + finishedJobId);
        browser.waitUntil("the job page loads", () -> cellsIn("SUCCEEDED") == 64);
        browser.driver().findElement(By.id("open-comparison")).click();

        browser.waitUntil("8 questions are compared", () -> browser.driver().findElements(By.cssSelector("#comparison section.question")).size() == 8);
        assertThat(browser.driver().findElements(By.cssSelector("#comparison .model-block"))).hasSize(8 * 3);
        List<WebElement> columns = browser.driver().findElements(By.cssSelector("#comparison .region-col"));
        assertThat(columns).hasSize(8 * 8);
        assertThat(browser.driver().findElements(By.cssSelector("#comparison .answer-text")))
                .allSatisfy(answer -> assertThat(answer.getText()).isNotBlank());
        // Similarity scores: 3 pairs for each 3-region model, 1 for the 2-region one.
        assertThat(browser.driver().findElements(By.cssSelector("#comparison .sims .sim"))).hasSize(8 * (3 + 1 + 3));
        browser.screenshot("06-comparison");

        // The page's word diff: LCS over words, case and punctuation ignored.
        Object diff = ((JavascriptExecutor) browser.driver()).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                import('./diff.js').then(m => {
                  const a = m.diffWords('The sky is blue.', 'the sky is very blue today');
                  const b = m.diffWords('one two three four', 'one three four five');
                  done([a.same, a.added, a.removed, b.same, b.added, b.removed,
                        b.parts.filter(p => p.kind !== 'space').map(p => p.kind[0] + ':' + p.text).join(' ')].join('|'));
                }).catch(e => done('error: ' + e));
                """);
        assertThat(diff).isEqualTo("4|2|0|3|1|1|s:one d:two s:three s:four a:five");

        // The region columns of a question sit side by side.
        WebElement first = browser.driver().findElement(By.cssSelector("#comparison .model-block .region-col:nth-child(1)"));
        WebElement second = browser.driver().findElement(By.cssSelector("#comparison .model-block .region-col:nth-child(2)"));
        assertThat(second.getRect().getX()).isGreaterThan(first.getRect().getX());
        assertThat(second.getRect().getY()).isEqualTo(first.getRect().getY());
    }

    @Test
    @Order(3)
    void aBadSpecShowsTheApisValidationErrorsAtTheirFields() {
        openJobsPage();
        enterToken(); // again: a retried test runs in a fresh browser
        browser.js("window.scrollTo(0, 0);");
        String bad = """
                {
                  "name": "bad-spec",
                  "questions": [{"id": "climate", "text": "What is your stance on climate change?"}],
                  "models": [
                    {"id": "llama3.2-1b", "regions": ["us"]},
                    {"id": "mistral-7b", "regions": ["mars"]}
                  ]
                }
                """;
        setSpec(bad);
        String before = browser.driver().getCurrentUrl();
        browser.driver().findElement(By.id("submit-job")).click();

        By error = By.cssSelector("#spec-errors .form-error[data-field='models[1].regions[0]']");
        browser.waitUntil("the unknown region is reported at its field", () -> !browser.driver().findElements(error).isEmpty());
        assertThat(browser.driver().findElement(error).getText()).contains("models[1].regions[0]").contains("mars").contains("line 6");
        assertThat(browser.driver().findElement(By.id("spec")).getDomAttribute("aria-invalid")).isEqualTo("true");
        assertThat(browser.driver().findElements(By.cssSelector(".gutter .gutter-error")))
                .extracting(WebElement::getText).contains("! 6");
        assertThat(browser.driver().getCurrentUrl()).isEqualTo(before);
        browser.screenshot("04-validation-error");

        // Going to the field selects its line in the editor.
        browser.driver().findElement(error).findElement(By.cssSelector("button.error-field")).click();
        Object selected = browser.js("const t = document.getElementById('spec'); return t.value.substring(t.selectionStart, t.selectionEnd);");
        assertThat(String.valueOf(selected)).contains("mars");
    }

    @Test
    @Order(4)
    void cancellingASlowJobTurnsItsRemainingCellsCancelled() {
        openJobsPage();
        enterToken(); // again: a retried test runs in a fresh browser
        // 200 questions of ~150 ms: over half a minute of work, so the job still runs when the click comes
        // even on a machine loaded enough to slow the browser down by seconds.
        String questions = IntStream.range(0, 200)
                .mapToObj(i -> "{\"id\": \"q" + i + "\", \"text\": \"Question number " + i + ": is the sky blue?\"}")
                .collect(Collectors.joining(",\n    "));
        setSpec("""
                {
                  "name": "slow-200q",
                  "questions": [
                    %s
                  ],
                  "models": [
                    {"id": "llama3.2-1b", "regions": ["us", "eu", "asia"]},
                    {"id": "mistral-7b", "regions": ["eu", "asia"]},
                    {"id": "qwen2.5-1.5b", "regions": ["us", "eu", "asia"]}
                  ]
                }
                """.formatted(questions));
        browser.driver().findElement(By.id("submit-job")).click();
        browser.waitUntil("the job page opens", () -> browser.driver().getCurrentUrl().contains("#/jobs/"));
        browser.waitUntil("the job runs", () -> cellsIn("RUNNING") > 0 || cellsIn("SUCCEEDED") > 0);
        browser.screenshot("05a-slow-job-running");
        // Read in one script call: the summary is re-rendered as events arrive, so a found element can go stale.
        assertThat(browser.js("return document.querySelector('#job-status [data-status]')?.getAttribute('data-status');"))
                .as("still running when cancelled").isEqualTo("RUNNING");

        browser.driver().findElement(By.id("cancel-job")).click();
        browser.waitUntil("the job is shown as cancelled", () -> jobStatus().equals("CANCELLED"));
        browser.waitUntil("every cell is terminal", () -> cellsIn("PENDING") == 0 && cellsIn("RUNNING") == 0);
        int cancelled = cellsIn("CANCELLED");
        assertThat(cancelled).isGreaterThan(0);
        assertThat(cells()).hasSize(200 * 8);
        assertThat(text("[data-count='CANCELLED'] .count-n")).isEqualTo(String.valueOf(cancelled));
        assertThat(browser.js("return document.getElementById('cancel-job').disabled;")).isEqualTo(true);
        browser.js("document.querySelector(\"#matrix .cell[data-state='CANCELLED']\").closest('tr').scrollIntoView({block: 'center'});");
        browser.screenshot("05b-slow-job-cancelled");
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Sends {@code key} to the element {@code target} finds, finding it again if a re-render replaced
     * it in between (a stale element received nothing, so sending again is not sending twice).
     */
    private void press(java.util.function.Supplier<WebElement> target, Keys key) {
        browser.waitUntil("the page takes " + key.name(), () -> {
            target.get().sendKeys(key);
            return true;
        });
    }

    /**
     * The text of the first element matching {@code css}, read in one script call: the job page is
     * re-rendered as events arrive, so an element found first and read afterwards can go stale.
     */
    private String text(String css) {
        return String.valueOf(browser.js("return document.querySelector(arguments[0])?.textContent;", css));
    }

    private void openJobsPage() {
        browser.open(baseUrl() + "#/");
        browser.waitUntil("the jobs page loads", () -> !browser.driver().findElements(By.id("submit-form")).isEmpty());
    }

    private void enterToken() {
        WebElement input = browser.driver().findElement(By.id("token-input"));
        input.clear();
        input.sendKeys(TOKEN);
        browser.driver().findElement(By.cssSelector("#token-form button[type='submit']")).click();
        browser.waitUntil("the token is kept for the session",
                () -> TOKEN.equals(browser.js("return sessionStorage.getItem('beacon.runner.token');")));
    }

    private void setSpec(String json) {
        WebElement spec = browser.driver().findElement(By.id("spec"));
        browser.waitUntil("the editor is ready", () -> !spec.getDomProperty("value").isEmpty());
        browser.js("const t = document.getElementById('spec'); t.value = arguments[0];"
                + " t.dispatchEvent(new Event('input', {bubbles: true}));", json);
    }

    private List<WebElement> cells() {
        return browser.driver().findElements(By.cssSelector("#matrix .cell"));
    }

    private int cellsIn(String state) {
        Object n = browser.js("return document.querySelectorAll(\"#matrix .cell[data-state='\" + arguments[0] + \"']\").length;", state);
        return ((Number) n).intValue();
    }

    private String jobStatus() {
        List<WebElement> badge = browser.driver().findElements(By.cssSelector("#job-status [data-status]"));
        return badge.isEmpty() ? "" : badge.get(0).getDomAttribute("data-status");
    }

    private String jobIdFromUrl() {
        String url = browser.driver().getCurrentUrl();
        return url.substring(url.indexOf("#/jobs/") + "#/jobs/".length()).replaceAll("/.*$", "");
    }
}
