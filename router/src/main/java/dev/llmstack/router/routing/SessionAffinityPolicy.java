package dev.llmstack.router.routing;

import dev.llmstack.protocol.prefix.BlockHasher;
import dev.llmstack.router.backend.BackendSnapshot;
import java.util.Arrays;
import java.util.List;

/**
 * Keeps a session on one engine (its KV cache holds the conversation) by consistent hashing of the
 * session key over a ring of virtual nodes, with bounded load (Mirrokni et al.): an engine already
 * carrying more than {@code loadFactor} times the average load is skipped for the next one on the
 * ring, so a hot session cannot swamp an engine. Requests without a session key go to the
 * least-loaded engine.
 */
public final class SessionAffinityPolicy implements RoutingPolicy {

  private static final int VNODES = 160;

  private final double loadFactor;
  private final LeastOutstandingPolicy fallback = new LeastOutstandingPolicy();
  private volatile Ring ring = new Ring(new String[0], new long[0], new int[0]);

  public SessionAffinityPolicy(double loadFactor) {
    if (loadFactor < 1) {
      throw new IllegalArgumentException("load factor must be >= 1");
    }
    this.loadFactor = loadFactor;
  }

  @Override
  public String name() {
    return "session";
  }

  @Override
  public Decision pick(RouteRequest request, List<BackendSnapshot> candidates) {
    if (request.sessionKey() == null || request.sessionKey().isEmpty()) {
      Decision d = fallback.pick(request, candidates);
      return new Decision(d.backend(), "no-session," + d.reason());
    }
    Ring r = ringFor(candidates);
    double total = 0;
    for (BackendSnapshot b : candidates) {
      total += b.load();
    }
    // The request itself adds one unit of load.
    double bound = Math.max(1, Math.ceil(loadFactor * (total + 1) / candidates.size()));
    long h = BlockHasher.stringKey(request.sessionKey());
    int at = r.search(h);
    int n = r.hashes.length;
    for (int step = 0; step < n; step++) {
      int member = r.members[(at + step) % n];
      BackendSnapshot b = find(candidates, r.ids[member]);
      if (b.load() + 1 <= bound) {
        return new Decision(b, step == 0 ? "session-home" : "session-spill");
      }
    }
    Decision d = fallback.pick(request, candidates);
    return new Decision(d.backend(), "session-overload," + d.reason());
  }

  private static BackendSnapshot find(List<BackendSnapshot> candidates, String id) {
    for (BackendSnapshot b : candidates) {
      if (b.id().equals(id)) {
        return b;
      }
    }
    throw new IllegalStateException("ring out of date: " + id);
  }

  private Ring ringFor(List<BackendSnapshot> candidates) {
    Ring r = ring;
    if (r.matches(candidates)) {
      return r;
    }
    r = Ring.build(candidates);
    ring = r;
    return r;
  }

  /** Hash ring over member ids; hashes sorted, members[i] owns hashes[i]. */
  private record Ring(String[] ids, long[] hashes, int[] members) {

    static Ring build(List<BackendSnapshot> candidates) {
      String[] ids = new String[candidates.size()];
      long[][] points = new long[candidates.size() * VNODES][];
      int p = 0;
      for (int m = 0; m < ids.length; m++) {
        ids[m] = candidates.get(m).id();
        for (int v = 0; v < VNODES; v++) {
          points[p++] = new long[] {BlockHasher.stringKey(ids[m] + "#" + v), m};
        }
      }
      Arrays.sort(points, (a, b) -> Long.compare(a[0], b[0]));
      long[] hashes = new long[points.length];
      int[] members = new int[points.length];
      for (int i = 0; i < points.length; i++) {
        hashes[i] = points[i][0];
        members[i] = (int) points[i][1];
      }
      return new Ring(ids, hashes, members);
    }

    boolean matches(List<BackendSnapshot> candidates) {
      if (candidates.size() != ids.length) {
        return false;
      }
      for (int i = 0; i < ids.length; i++) {
        if (!ids[i].equals(candidates.get(i).id())) {
          return false;
        }
      }
      return true;
    }

    /** Index of the first point at or after {@code h}, wrapping around. */
    int search(long h) {
      int i = Arrays.binarySearch(hashes, h);
      if (i < 0) {
        i = -i - 1;
      }
      return i == hashes.length ? 0 : i;
    }
  }
}
