package dev.beacon.runner.web.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.BeaconRunnerApplication;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * With the API mounted under {@code beacon.runner.web.base-path=/beacon}, the dashboard is served
 * there too and reaches the API, its event stream and the comparison through its relative URLs.
 */
@SpringBootTest(
        classes = BeaconRunnerApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "beacon.runner.web.base-path=/beacon")
class DashboardUnderBasePathBrowserTest {

    @RegisterExtension
    static final HeadlessChromium browser = new HeadlessChromium();

    @LocalServerPort
    int port;

    @Test
    void theDashboardRunsAJobUnderTheRunnersBasePath() {
        // Without the trailing slash: redirected, so that the page's relative URLs stay under /beacon/.
        browser.open("http://127.0.0.1:" + port + "/beacon");
        browser.waitUntil("the jobs page loads under /beacon/", () -> !browser.driver().findElements(By.id("submit-form")).isEmpty());
        assertThat(browser.driver().getCurrentUrl()).startsWith("http://127.0.0.1:" + port + "/beacon/");
        browser.waitUntil("the form is prefilled from /beacon/example-job.json",
                () -> browser.driver().findElement(By.id("spec")).getDomProperty("value").contains("tiananmen"));

        browser.driver().findElement(By.id("submit-job")).click();
        browser.waitUntil("the job page opens", () -> browser.driver().getCurrentUrl().contains("#/jobs/"));
        browser.waitUntil("all 64 cells succeeded over /beacon/jobs/{id}/events",
                () -> ((Number) browser.js("return document.querySelectorAll(\"#matrix .cell[data-state='SUCCEEDED']\").length;"))
                        .intValue() == 64);
        browser.screenshot("07-base-path-job");

        browser.driver().findElement(By.id("open-comparison")).click();
        browser.waitUntil("the comparison loads from /beacon/jobs/{id}/comparison",
                () -> browser.driver().findElements(By.cssSelector("#comparison section.question")).size() == 8);

        browser.open("http://127.0.0.1:" + port + "/beacon/#/");
        browser.waitUntil("the job is listed from /beacon/jobs",
                () -> !browser.driver().findElements(By.cssSelector("#jobs-table [data-status='SUCCEEDED']")).isEmpty());
    }
}
