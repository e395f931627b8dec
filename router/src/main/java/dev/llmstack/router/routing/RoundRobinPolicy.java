package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Each engine in turn. */
public final class RoundRobinPolicy implements RoutingPolicy {

  private final AtomicLong next = new AtomicLong();

  @Override
  public String name() {
    return "round-robin";
  }

  @Override
  public Decision pick(RouteRequest request, List<BackendSnapshot> candidates) {
    int i = (int) Math.floorMod(next.getAndIncrement(), (long) candidates.size());
    return new Decision(candidates.get(i), "turn");
  }
}
