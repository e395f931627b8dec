package dev.llmstack.router.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.discovery.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code /admin/engines}: list engines with their state; add one by hand ({@code POST {"url"}});
 * drain one ({@code POST /admin/engines/drain {"url", "drain": true|false}}): it takes no new
 * requests while its streams finish; remove one ({@code DELETE /admin/engines?url=...}).
 */
public final class AdminApi {

  /** A JSON reply with its status. */
  public record Reply(int status, String json) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final BackendRegistry registry;
  private final Set<String> manual = ConcurrentHashMap.newKeySet();

  public AdminApi(BackendRegistry registry) {
    this.registry = registry;
  }

  /** Engines added through this API: discovery leaves them alone. */
  public Set<String> manual() {
    return manual;
  }

  public Reply handle(HttpMethod method, String path, ByteBuf body, String uri) {
    if (path.equals("/admin/engines")) {
      if (method == HttpMethod.GET) {
        return new Reply(200, list());
      }
      if (method == HttpMethod.POST) {
        Endpoint e = endpoint(body, uri);
        manual.add(e.id());
        registry.add(e);
        return new Reply(201, engine(registry.get(e.id())).toString());
      }
      if (method == HttpMethod.DELETE) {
        String id = endpoint(body, uri).id();
        manual.remove(id);
        Backend removed = registry.remove(id);
        if (removed == null) {
          throw notFound(id);
        }
        return new Reply(200, "{\"removed\":" + JSON.valueToTree(id) + "}");
      }
    } else if (path.equals("/admin/engines/drain") && method == HttpMethod.POST) {
      String id = endpoint(body, uri).id();
      Backend b = registry.get(id);
      if (b == null) {
        throw notFound(id);
      }
      JsonNode j = json(body);
      b.draining(j == null || !j.has("drain") || j.get("drain").asBoolean(true));
      return new Reply(200, engine(b).toString());
    }
    throw new OpenAiException(
        new OpenAiError(405, "MethodNotAllowed", method + " " + path + " is not supported.", null));
  }

  private String list() {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode engines = root.putArray("engines");
    List<Backend> sorted =
        registry.all().stream().sorted((a, b) -> a.id().compareTo(b.id())).toList();
    for (Backend b : sorted) {
      engines.add(engine(b));
    }
    return root.toString();
  }

  private ObjectNode engine(Backend b) {
    long now = System.nanoTime();
    ObjectNode o = JSON.createObjectNode();
    o.put("url", b.id());
    o.put("health", b.health(now).name().toLowerCase(java.util.Locale.ROOT));
    o.put("draining", b.draining());
    o.put("routable", b.routable(now));
    o.put("manual", manual.contains(b.id()));
    ArrayNode models = o.putArray("models");
    b.models().stream().sorted().forEach(models::add);
    o.put("in_flight", b.inFlight());
    o.put("awaiting_first_byte", b.awaitingFirstByte());
    o.put("ejections", b.ejections());
    ObjectNode s = o.putObject("stats");
    s.put("running", b.stats().running());
    s.put("waiting", b.stats().waiting());
    s.put("kv_cache_usage", b.stats().kvUsage());
    s.put("prefix_cache_queries", b.stats().prefixQueries());
    s.put("prefix_cache_hits", b.stats().prefixHits());
    long at = b.stats().scrapedAtNanos();
    if (at == 0) {
      s.putNull("scrape_age_seconds");
    } else {
      s.put("scrape_age_seconds", (now - at) / 1e9);
    }
    return o;
  }

  private static Endpoint endpoint(ByteBuf body, String uri) {
    try {
      return Endpoint.parse(url(body, uri));
    } catch (IllegalArgumentException e) {
      throw new OpenAiException(OpenAiError.badRequest(e.getMessage(), "url"));
    }
  }

  private static String url(ByteBuf body, String uri) {
    List<String> q = new QueryStringDecoder(uri).parameters().get("url");
    if (q != null && !q.isEmpty()) {
      return q.get(0);
    }
    JsonNode j = json(body);
    if (j == null || !j.hasNonNull("url") || !j.get("url").isTextual()) {
      throw new OpenAiException(OpenAiError.badRequest("Field required: url", "url"));
    }
    return j.get("url").asText();
  }

  private static JsonNode json(ByteBuf body) {
    if (!body.isReadable()) {
      return null;
    }
    try {
      return JSON.readTree(body.toString(StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      throw new OpenAiException(OpenAiError.badRequest("JSON decode error: " + e.getMessage()));
    }
  }

  private static OpenAiException notFound(String id) {
    return new OpenAiException(
        new OpenAiError(404, "NotFoundError", "No engine " + id + ".", "url"));
  }
}
