package dev.llmstack.router.routing;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The router's policies by name. */
public final class Policies {

  private final Map<String, RoutingPolicy> byName = new TreeMap<>();

  public Policies(
      double sessionLoadFactor,
      dev.llmstack.router.kvindex.KvBlockIndex kvIndex,
      dev.llmstack.router.kvindex.ApproximatePrefixIndex approximate,
      java.util.function.Predicate<String> followsKvEvents) {
    this(
        sessionLoadFactor,
        kvIndex,
        approximate,
        followsKvEvents,
        CostWeights.DEFAULT,
        System::nanoTime);
  }

  /**
   * {@code clock} is the time base of the approximate index's TTL: System.nanoTime in the router,
   * virtual time in the simulator twin.
   */
  public Policies(
      double sessionLoadFactor,
      dev.llmstack.router.kvindex.KvBlockIndex kvIndex,
      dev.llmstack.router.kvindex.ApproximatePrefixIndex approximate,
      java.util.function.Predicate<String> followsKvEvents,
      CostWeights weights,
      java.util.function.LongSupplier clock) {
    for (RoutingPolicy p :
        List.of(
            new RoundRobinPolicy(),
            new LeastOutstandingPolicy(),
            new PowerOfTwoPolicy(),
            new SessionAffinityPolicy(sessionLoadFactor),
            new PrefixAwarePolicy(approximate, kvIndex.hasher().blockSize(), weights, clock),
            new KvAwarePolicy(kvIndex, approximate, followsKvEvents, weights, clock))) {
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
