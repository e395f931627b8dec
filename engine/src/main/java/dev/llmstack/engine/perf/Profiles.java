package dev.llmstack.engine.perf;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.StringJoiner;

/**
 * The profiles shipped in the jar (JSON files under {@code resources/profiles/<id>.json}) and
 * users' own profile files of the same shape.
 */
public final class Profiles {

  private static final List<String> SHIPPED =
      List.of(
          "llama-3.1-8b@h100",
          "llama-3.1-70b@4xh100",
          "llama-3.1-8b@a100",
          "llama-3.1-8b@a100-40gb",
          "qwen3-8b@h100");

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private Profiles() {}

  /** Ids of the profiles shipped in the jar, the default first. */
  public static List<String> available() {
    return SHIPPED;
  }

  /**
   * A shipped profile by id, or else a profile JSON file by path.
   *
   * @throws IllegalArgumentException naming the id or file and what is wrong with it
   */
  public static Profile load(String idOrPath) {
    if (idOrPath == null || idOrPath.isBlank()) {
      throw new IllegalArgumentException("no profile given; shipped profiles: " + SHIPPED);
    }
    try (InputStream in = Profiles.class.getResourceAsStream("/profiles/" + idOrPath + ".json")) {
      if (in != null) {
        return read(in, "shipped profile " + idOrPath);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read shipped profile " + idOrPath, e);
    }
    Path path = Path.of(idOrPath);
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException(
          "unknown profile '"
              + idOrPath
              + "': neither a shipped profile "
              + SHIPPED
              + " nor a readable JSON file");
    }
    try (InputStream in = Files.newInputStream(path)) {
      return read(in, "profile file " + path);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read profile file " + path + ": " + e, e);
    }
  }

  private static Profile read(InputStream in, String what) throws IOException {
    try {
      Profile p = JSON.readValue(in, Profile.class);
      if (p == null) {
        throw new IllegalArgumentException("bad " + what + ": the file is empty or null");
      }
      return p;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("bad " + what + ": " + reason(e), e);
    }
  }

  /** Our own validation message when a record rejected a value, else Jackson's, with a position. */
  private static String reason(JsonProcessingException e) {
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      if (t instanceof IllegalArgumentException) {
        return t.getMessage();
      }
    }
    StringJoiner path = new StringJoiner(".");
    if (e instanceof JsonMappingException m) {
      for (JsonMappingException.Reference r : m.getPath()) {
        if (r.getFieldName() != null) {
          path.add(r.getFieldName());
        }
      }
    }
    String message = e.getOriginalMessage();
    StringBuilder why = new StringBuilder();
    if (message.startsWith("Missing") && message.contains("creator property")) {
      why.append("missing field '").append(path).append('\'');
    } else {
      why.append(message);
      if (path.length() > 0) {
        why.append(" at '").append(path).append('\'');
      }
    }
    JsonLocation at = e.getLocation();
    if (at != null) {
      why.append(" (line ").append(at.getLineNr()).append(", column ").append(at.getColumnNr());
      why.append(')');
    }
    return why.toString();
  }
}
