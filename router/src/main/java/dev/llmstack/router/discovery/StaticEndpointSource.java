package dev.llmstack.router.discovery;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** A fixed list of engines ({@code --backends}). */
public final class StaticEndpointSource implements EndpointSource {

  private final Set<Endpoint> endpoints;

  public StaticEndpointSource(List<String> urls) {
    Set<Endpoint> set = new LinkedHashSet<>();
    for (String url : urls) {
      if (!url.isBlank()) {
        set.add(Endpoint.parse(url));
      }
    }
    this.endpoints = Set.copyOf(set);
  }

  @Override
  public void start(Listener listener) {
    listener.onEndpoints(endpoints);
  }

  @Override
  public String describe() {
    return "static " + endpoints.size() + " backend(s)";
  }
}
