package dev.llmstack.router.routing;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The router's policies by name. */
public final class Policies {

  private final Map<String, RoutingPolicy> byName = new TreeMap<>();

  public Policies(double sessionLoadFactor, dev.llmstack.router.kvindex.KvBlockIndex kvIndex) {
    for (RoutingPolicy p :
        List.of(
            new RoundRobinPolicy(),
            new LeastOutstandingPolicy(),
            new PowerOfTwoPolicy(),
            new SessionAffinityPolicy(sessionLoadFactor),
            new KvAwarePolicy(kvIndex, 256))) {
      byName.put(p.name(), p);
    }
  }

  /** The policy of that name, or null. */
  public RoutingPolicy get(String name) {
    return byName.get(name);
  }

  public java.util.Set<String> names() {
    return byName.keySet();
  }
}
