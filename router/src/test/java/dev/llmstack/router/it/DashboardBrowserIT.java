package dev.llmstack.router.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.router.Router;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live dashboard in a real browser: Debian's headless chromium, driven through Debian's
 * chromedriver by Selenium (nothing is downloaded), loads /dashboard while requests flow, sees
 * every engine in the table, a chart that keeps updating with data and routing decisions, and saves
 * a screenshot to {@code target/dashboard-screenshot.png}.
 *
 * <p>Without chromium this test fails (CI installs it) unless {@code LLMSTACK_SKIP_BROWSER_TESTS}
 * is set, for machines where it cannot be installed.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class DashboardBrowserIT {

  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Path SCREENSHOT = Path.of("target", "dashboard-screenshot.png");

  /** One policy per client, so the decisions table shows each one's reasons. */
  static final List<String> POLICIES = List.of("least-outstanding", "session", "prefix");

  @Test
  void dashboardShowsEnginesChartsAndDecisionsWhileRequestsFlow(@TempDir Path profile)
      throws Exception {
    if (System.getenv("LLMSTACK_SKIP_BROWSER_TESTS") != null) {
      Assumptions.abort("LLMSTACK_SKIP_BROWSER_TESTS is set");
    }
    assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
        .as("needs Debian's chromium and chromedriver: apt-get install -y chromium chromium-driver")
        .isTrue();

    List<SimulatedEngine> engines = new ArrayList<>();
    AtomicBoolean flowing = new AtomicBoolean(true);
    AtomicInteger done = new AtomicInteger();
    ExecutorService clients = Executors.newFixedThreadPool(3);
    WebDriver driver = null;
    ChromeDriverService service = null;
    try {
      for (int i = 0; i < 3; i++) {
        engines.add(SimulatedEngine.start(RouterIT.engineSettings().timeScale(2)));
      }
      List<String> urls = engines.stream().map(SimulatedEngine::baseUrl).toList();
      try (Router router = Router.start(RouterIT.routerSettings(urls))) {
        RouterIT.awaitEngines(router, urls.size());
        for (int c = 0; c < 3; c++) {
          int client = c;
          clients.execute(
              () -> {
                int n = 0;
                while (flowing.get()) {
                  try {
                    Http.post(
                        router.baseUrl() + "/v1/chat/completions",
                        RouterIT.chat("Client " + client + " turn " + n++, 48, true),
                        Map.of(
                            "x-session-id",
                            "client-" + client,
                            "x-llmstack-policy",
                            POLICIES.get(client)));
                    done.incrementAndGet();
                  } catch (RuntimeException e) {
                    // the router is shutting down at the end of the test
                  }
                }
              });
        }

        service =
            new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .withLogFile(new File("target/chromedriver.log"))
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1400,1500",
            "--user-data-dir=" + profile);
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        driver = new ChromeDriver(service, options);
        driver.get(router.baseUrl() + "/dashboard");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));

        // Every engine appears in the table, healthy. The table is redrawn every second, so its
        // cells are read in one script rather than through element handles that go stale.
        JavascriptExecutor js = (JavascriptExecutor) driver;
        String readRows =
            "return Array.from(document.querySelectorAll('#engines tbody tr'))"
                + ".map(r => r.querySelector('td.engine').textContent + ' '"
                + " + r.querySelector('td.health').textContent);";
        List<String> expected = urls.stream().map(u -> u + " healthy").toList();
        wait.until(
            d -> {
              Object rows = js.executeScript(readRows);
              return rows instanceof List<?> l
                  && l.size() == expected.size()
                  && l.containsAll(expected);
            });

        // The TTFT chart keeps updating, and with real values once requests have finished.
        WebElement ttft = driver.findElement(By.id("chart-ttft"));
        int before = Integer.parseInt(ttft.getDomAttribute("data-updates"));
        wait.until(
            d ->
                Integer.parseInt(ttft.getDomAttribute("data-updates")) >= before + 3
                    && Integer.parseInt(ttft.getDomAttribute("data-values")) >= 3);
        assertThat(driver.findElements(By.cssSelector("#chart-ttft canvas"))).isNotEmpty();
        assertThat(
                Integer.parseInt(
                    driver.findElement(By.id("chart-throughput")).getDomAttribute("data-values")))
            .isPositive();

        // Recent decisions carry each policy's reason.
        String readReasons =
            "return Array.from(document.querySelectorAll('#decisions tbody tr'))"
                + ".map(r => r.children[3].textContent + ';' + r.children[5].textContent);";
        wait.until(
            d -> {
              Object rows = js.executeScript(readReasons);
              return rows instanceof List<?> l
                  && !l.isEmpty()
                  && l.stream().allMatch(r -> r.toString().matches("[a-z-]+( \\(retry\\))?;.+"));
            });

        // A few more seconds of history make the screenshot worth looking at.
        wait.until(d -> Integer.parseInt(ttft.getDomAttribute("data-points")) >= 12);
        Files.createDirectories(SCREENSHOT.getParent());
        byte[] png =
            ((org.openqa.selenium.TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
        Files.write(SCREENSHOT, png);
        assertThat(png.length).isGreaterThan(10_000);
        // The page ran without a script error or a failed load (each would be logged SEVERE).
        assertThat(driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll())
            .filteredOn(e -> e.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue())
            .isEmpty();
        assertThat(done.get()).isPositive();
        flowing.set(false);
      }
    } finally {
      flowing.set(false);
      if (driver != null) {
        driver.quit();
      }
      if (service != null) {
        service.stop();
      }
      clients.shutdownNow();
      clients.awaitTermination(10, TimeUnit.SECONDS);
      engines.forEach(SimulatedEngine::close);
    }
  }
}
