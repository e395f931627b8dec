package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Power of two choices: two engines at random, the less loaded wins. Nearly as good as
 * least-outstanding with stale load figures, and it never herds every request onto the one engine
 * that looked idle.
 */
public final class PowerOfTwoPolicy implements RoutingPolicy {

  @Override
  public String name() {
    return "power-of-two";
  }

  @Override
  public Decision pick(RouteRequest request, List<BackendSnapshot> candidates) {
    int n = candidates.size();
    if (n == 1) {
      return new Decision(candidates.get(0), "only");
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int i = r.nextInt(n);
    int j = r.nextInt(n - 1);
    if (j >= i) {
      j++;
    }
    BackendSnapshot a = candidates.get(i);
    BackendSnapshot b = candidates.get(j);
    BackendSnapshot w = b.load() < a.load() ? b : a;
    BackendSnapshot l = w == a ? b : a;
    return new Decision(
        w,
        "load="
            + LeastOutstandingPolicy.fmt(w.load())
            + "<="
            + LeastOutstandingPolicy.fmt(l.load()));
  }
}
