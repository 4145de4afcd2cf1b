package dev.beacon.runner.web.dashboard;

import static org.junit.jupiter.api.Assertions.fail;

import dev.beacon.runner.web.testing.ThreadDump;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven through its ChromeDriver, for the dashboard tests, with waits
 * that leave a screenshot behind when they time out.
 *
 * <p>Selenium Manager never runs: the driver and the browser binary are given explicitly
 * ({@code /usr/bin/chromedriver}, {@code /usr/bin/chromium}; override with
 * {@code -Ddashboard.chromedriver=…}, {@code -Ddashboard.chromium=…} or {@code CHROMEDRIVER} /
 * {@code CHROME_BIN}). Without them the test fails under CI (which installs them, so a missing
 * browser means a broken machine) and reports itself skipped elsewhere, naming what to install.
 */
final class HeadlessChromium implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    static final Path SHOTS = Path.of("target", "dashboard-screenshots");
    private static final Duration WAIT = Duration.ofSeconds(90);

    private WebDriver driver;
    private Path userDataDir;

    /**
     * A browser for one test class, as a JUnit extension: started before the class's first test
     * ({@code @RegisterExtension static final HeadlessChromium browser = new HeadlessChromium();}) and
     * closed after its last.
     */
    HeadlessChromium() {
    }

    private HeadlessChromium(WebDriver driver, Path userDataDir) {
        this.driver = driver;
        this.userDataDir = userDataDir;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        HeadlessChromium started = start();
        this.driver = started.driver;
        this.userDataDir = started.userDataDir;
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (driver != null) {
            close();
            driver = null;
        }
    }

    /** Starts a fresh browser with its own profile directory; fails the test if Chromium is not installed. */
    static HeadlessChromium start() throws IOException {
        Path chromium = Path.of(System.getProperty("dashboard.chromium",
                System.getenv().getOrDefault("CHROME_BIN", "/usr/bin/chromium")));
        Path chromedriver = Path.of(System.getProperty("dashboard.chromedriver",
                System.getenv().getOrDefault("CHROMEDRIVER", "/usr/bin/chromedriver")));
        if (!Files.isExecutable(chromium) || !Files.isExecutable(chromedriver)) {
            String missing = "The dashboard browser tests need Chromium and its driver at " + chromium + " and " + chromedriver
                    + " (install them with: apt-get update && apt-get install -y chromium chromium-driver;"
                    + " or point -Ddashboard.chromium / -Ddashboard.chromedriver at them).";
            // CI installs the browser, so there its absence is a failure. On a developer's machine with
            // only a JDK the rest of `./mvnw verify` must still pass: the browser tests report themselves
            // as skipped, naming what to install.
            if (System.getenv("CI") != null) {
                fail(missing);
            }
            Assumptions.abort(missing);
        }
        Files.createDirectories(SHOTS);
        Path userDataDir = Files.createTempDirectory("dashboard-chromium-");
        System.setProperty("webdriver.chrome.driver", chromedriver.toString());

        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments(
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000", "--user-data-dir=" + userDataDir);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort()
                .build();
        WebDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(20));
        // A page that has not loaded in a minute will not: fail with a thread dump instead of Selenium's 3 minutes.
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
        return new HeadlessChromium(driver, userDataDir);
    }

    WebDriver driver() {
        return driver;
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    /** Waits up to 90 s for {@code condition}; on time-out saves a screenshot named after {@code what} and fails. */
    void waitUntil(String what, BooleanSupplier condition) {
        try {
            new WebDriverWait(driver, WAIT, Duration.ofMillis(200))
                    .ignoring(StaleElementReferenceException.class)
                    .withMessage(what)
                    .until(d -> condition.getAsBoolean());
        } catch (RuntimeException e) {
            screenshot("failed-" + what.replaceAll("[^A-Za-z0-9]+", "-"));
            ThreadDump.print("gave up waiting until " + what);
            throw e;
        }
    }

    /** Opens {@code url}; a page that does not load within a minute fails the test with a thread dump. */
    void open(String url) {
        try {
            driver.get(url);
        } catch (org.openqa.selenium.TimeoutException e) {
            ThreadDump.print("the page " + url + " did not load");
            throw e;
        }
    }

    /** Saves the visible page as {@code target/dashboard-screenshots/{name}.png}. */
    void screenshot(String name) {
        try {
            byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
            Files.write(SHOTS.resolve(name + ".png"), png);
        } catch (IOException | RuntimeException e) {
            System.err.println("could not save screenshot " + name + ": " + e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            driver.quit();
        } finally {
            try (var paths = Files.walk(userDataDir)) {
                paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }
}
