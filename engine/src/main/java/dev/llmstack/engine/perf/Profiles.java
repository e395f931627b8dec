package dev.llmstack.engine.perf;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The shipped profiles (data files under resources/profiles/) and users' own profile files. */
public final class Profiles {

  /** Ids of the profiles shipped in the jar. */
  public static final List<String> SHIPPED =
      List.of(
          "llama-3.1-8b@h100",
          "llama-3.1-70b@4xh100",
          "llama-3.1-8b@a100",
          "llama-3.1-8b@a100-40gb",
          "qwen3-8b@h100");

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  private Profiles() {}

  /** A shipped profile by id, or a profile JSON file by path. */
  public static Profile load(String idOrPath) {
    try (InputStream in = Profiles.class.getResourceAsStream("/profiles/" + idOrPath + ".json")) {
      if (in != null) {
        return JSON.readValue(in, Profile.class);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("bad shipped profile " + idOrPath, e);
    }
    Path p = Path.of(idOrPath);
    if (!Files.isRegularFile(p)) {
      throw new IllegalArgumentException(
          "unknown profile '" + idOrPath + "': not a shipped profile " + SHIPPED + " nor a file");
    }
    try {
      return JSON.readValue(p.toFile(), Profile.class);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read profile " + p + ": " + e.getMessage(), e);
    }
  }
}
