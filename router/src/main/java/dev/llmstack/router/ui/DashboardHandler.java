package dev.llmstack.router.ui;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves the live dashboard: its page and scripts from the classpath ({@code /dashboard/...} in the
 * router jar), the charting library from its WebJar ({@code META-INF/resources/webjars/uplot/...}),
 * and the state JSON. Nothing is fetched from the network at run time and users build nothing.
 *
 * <p>Files are read once and kept in memory (they are a few tens of KiB), so an event loop never
 * touches the jar after the first request. The page itself is revalidated on every load; the
 * library's path carries its version, so browsers may keep it for a day.
 */
public final class DashboardHandler {

  /** What to send back; the HTTP layer turns it into a response. */
  public record Reply(int status, String contentType, String cacheControl, byte[] body) {}

  static final String PREFIX = "/dashboard";
  private static final String UPLOT = "/dashboard/vendor/uplot/";
  private static final Map<String, String> TYPES =
      Map.of(
          "html", "text/html; charset=utf-8",
          "js", "text/javascript; charset=utf-8",
          "css", "text/css; charset=utf-8",
          "png", "image/png",
          "svg", "image/svg+xml",
          "json", "application/json");

  private final DashboardState state;
  private final String uplotRoot;
  private final Map<String, byte[]> files = new ConcurrentHashMap<>();

  public DashboardHandler(DashboardState state) {
    this.state = state;
    this.uplotRoot = "META-INF/resources/webjars/uplot/" + webjarVersion("uplot") + "/dist/";
  }

  /** Whether this handler answers the path. */
  public static boolean handles(String path) {
    return path.equals(PREFIX) || path.startsWith(PREFIX + "/");
  }

  /** GET or HEAD of a dashboard path. */
  public Reply handle(String path) {
    if (path.equals(PREFIX) || path.equals(PREFIX + "/")) {
      return file("dashboard/index.html", "no-cache");
    }
    if (path.equals(PREFIX + "/api/state")) {
      return new Reply(200, TYPES.get("json"), "no-store", state.json());
    }
    String rest = path.substring(PREFIX.length() + 1);
    if (!safe(rest)) {
      return notFound();
    }
    if (path.startsWith(UPLOT)) {
      return file(uplotRoot + path.substring(UPLOT.length()), "public, max-age=86400");
    }
    return file("dashboard/" + rest, "no-cache");
  }

  /** Letters, digits, '-', '_', '.', '/' only, and no "..": nothing outside the two roots. */
  private static boolean safe(String p) {
    if (p.isEmpty() || p.contains("..") || p.startsWith("/")) {
      return false;
    }
    for (int i = 0; i < p.length(); i++) {
      char c = p.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.' || c == '/')) {
        return false;
      }
    }
    return true;
  }

  private Reply file(String resource, String cacheControl) {
    int dot = resource.lastIndexOf('.');
    String type = dot < 0 ? null : TYPES.get(resource.substring(dot + 1));
    if (type == null) {
      return notFound();
    }
    byte[] body = files.computeIfAbsent(resource, DashboardHandler::load);
    if (body.length == 0) {
      return notFound();
    }
    return new Reply(200, type, cacheControl, body);
  }

  /** A resource's bytes, or an empty array when there is none (remembered too: no re-lookups). */
  private static byte[] load(String resource) {
    try (InputStream in = DashboardHandler.class.getClassLoader().getResourceAsStream(resource)) {
      return in == null ? new byte[0] : in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Reply notFound() {
    return new Reply(
        404,
        "text/plain; charset=utf-8",
        "no-store",
        "Not found\n".getBytes(StandardCharsets.UTF_8));
  }

  /** The version of an npm WebJar on the classpath, from its Maven metadata: pinned in one POM. */
  static String webjarVersion(String name) {
    String props = "META-INF/maven/org.webjars.npm/" + name + "/pom.properties";
    try (InputStream in = DashboardHandler.class.getClassLoader().getResourceAsStream(props)) {
      if (in == null) {
        throw new IllegalStateException("WebJar " + name + " is not on the classpath");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
