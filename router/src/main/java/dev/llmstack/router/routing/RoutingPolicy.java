package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;
import java.util.List;

/**
 * Picks an engine for a request from snapshots of the candidates. Policies do no I/O, so the
 * router, the virtual-time twin and unit tests run the same code. Candidates are never empty and
 * sorted by id.
 */
public interface RoutingPolicy {

  /** The name used on the command line, in the override header and in metrics. */
  String name();

  Decision pick(RouteRequest request, List<BackendSnapshot> candidates);
}
