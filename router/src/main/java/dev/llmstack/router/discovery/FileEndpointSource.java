package dev.llmstack.router.discovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.llmstack.router.threads.BackgroundThreads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Engines listed in a YAML (or JSON) file, reloaded when it changes:
 *
 * <pre>
 * backends:
 *   - http://10.0.0.5:8000
 *   - url: http://10.0.0.6:8000
 * </pre>
 *
 * Polls the file's modification time (a WatchService misses changes on some filesystems and through
 * Kubernetes ConfigMap symlink swaps). A file that fails to parse keeps the last good set.
 */
public final class FileEndpointSource implements EndpointSource {

  private static final Logger LOG = Logger.getLogger(FileEndpointSource.class.getName());
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final Path file;
  private final long pollMillis;
  private final ScheduledExecutorService timer;
  private FileTime lastModified;

  public FileEndpointSource(Path file, long pollMillis, BackgroundThreads threads) {
    // below the event loops (BackgroundThreads, docs/configuration.md)
    this.timer = Executors.newSingleThreadScheduledExecutor(threads.factory("config-watch"));
    this.file = file;
    this.pollMillis = pollMillis;
  }

  /** Reads the backends of a config file. */
  public static Set<Endpoint> read(Path file) throws IOException {
    JsonNode root = YAML.readTree(file.toFile());
    Set<Endpoint> out = new LinkedHashSet<>();
    JsonNode list = root == null ? null : root.get("backends");
    if (list == null || !list.isArray()) {
      throw new IOException(file + ": expected a 'backends' list");
    }
    for (JsonNode b : list) {
      String url = b.isTextual() ? b.asText() : b.path("url").asText(null);
      if (url == null) {
        throw new IOException(file + ": each backend needs a url");
      }
      out.add(Endpoint.parse(url));
    }
    return out;
  }

  @Override
  public void start(Listener listener) throws IOException {
    lastModified = Files.getLastModifiedTime(file);
    listener.onEndpoints(read(file));
    timer.scheduleWithFixedDelay(
        () -> poll(listener), pollMillis, pollMillis, TimeUnit.MILLISECONDS);
  }

  private void poll(Listener listener) {
    try {
      FileTime t = Files.getLastModifiedTime(file);
      if (t.equals(lastModified)) {
        return;
      }
      Set<Endpoint> endpoints = read(file);
      lastModified = t;
      LOG.info(() -> "reloaded " + file + ": " + endpoints.size() + " backend(s)");
      listener.onEndpoints(endpoints);
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot reload " + file + ", keeping the previous backends", e);
    }
  }

  @Override
  public String describe() {
    return "config file " + file;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
