package dev.llmstack.router.discovery;

import java.net.URI;

/**
 * One engine's address as discovery reports it. The id is the base URL ({@code http://host:port}),
 * which is also what responses name in the engine header.
 */
public record Endpoint(String id, String host, int port) {

  /** Parses {@code http://host:port} (a trailing slash or /v1 suffix is ignored). */
  public static Endpoint parse(String url) {
    String u = url.trim();
    if (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    if (u.endsWith("/v1")) {
      u = u.substring(0, u.length() - 3);
    }
    if (!u.contains("://")) {
      u = "http://" + u;
    }
    URI uri = URI.create(u);
    if (!"http".equals(uri.getScheme())) {
      throw new IllegalArgumentException("only http:// engine URLs are supported: " + url);
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("engine URL has no host: " + url);
    }
    int port = uri.getPort() > 0 ? uri.getPort() : 80;
    return new Endpoint("http://" + uri.getHost() + ":" + port, uri.getHost(), port);
  }

  public static Endpoint of(String host, int port) {
    return new Endpoint("http://" + host + ":" + port, host, port);
  }
}
