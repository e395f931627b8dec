package dev.llmstack.router.backend;

import dev.llmstack.protocol.openai.ModelCards;
import dev.llmstack.router.discovery.Endpoint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** All engines the router knows, keyed by id; safe for concurrent use. */
public final class BackendRegistry {

  private final ConcurrentHashMap<String, Backend> backends = new ConcurrentHashMap<>();

  /**
   * The engines in id order, rebuilt when one comes or goes: routing reads it on every request, and
   * sorting the candidates there cost microseconds per request in a fleet of a hundred engines.
   */
  private volatile Backend[] byId = new Backend[0];

  private final OutlierPolicy outliers;
  private final Consumer<Backend> onAdded;
  private final Consumer<Backend> onRemoved;

  public BackendRegistry(
      OutlierPolicy outliers, Consumer<Backend> onAdded, Consumer<Backend> onRemoved) {
    this.outliers = outliers;
    this.onAdded = onAdded;
    this.onRemoved = onRemoved;
  }

  /** Adds an engine unless present; returns the registry's entry. */
  public Backend add(Endpoint endpoint) {
    boolean[] created = {false};
    Backend b =
        backends.computeIfAbsent(
            endpoint.id(),
            id -> {
              created[0] = true;
              return new Backend(endpoint, outliers);
            });
    if (created[0]) {
      reorder();
      onAdded.accept(b);
    }
    return b;
  }

  public Backend remove(String id) {
    Backend b = backends.remove(id);
    if (b != null) {
      reorder();
      onRemoved.accept(b);
    }
    return b;
  }

  /**
   * Makes the registry hold exactly {@code endpoints}, except engines added by hand through the
   * admin API.
   */
  public synchronized void sync(Set<Endpoint> endpoints, Set<String> manual) {
    Set<String> wanted = new TreeSet<>();
    for (Endpoint e : endpoints) {
      wanted.add(e.id());
      add(e);
    }
    for (String id : List.copyOf(backends.keySet())) {
      if (!wanted.contains(id) && !manual.contains(id)) {
        remove(id);
      }
    }
  }

  /** Runs after each change to the map; the last of concurrent changes sees them all. */
  private synchronized void reorder() {
    byId =
        backends.values().stream()
            .sorted(java.util.Comparator.comparing(Backend::id))
            .toArray(Backend[]::new);
  }

  public Backend get(String id) {
    return backends.get(id);
  }

  public Collection<Backend> all() {
    return backends.values();
  }

  /** Routable engines serving {@code model}, as snapshots, in id order. */
  public List<BackendSnapshot> candidates(String model, long nowNanos) {
    Backend[] all = byId;
    List<BackendSnapshot> out = new ArrayList<>(all.length);
    for (Backend b : all) {
      if (b.models().contains(model) && b.routable(nowNanos)) {
        out.add(b.snapshot(nowNanos));
      }
    }
    return out;
  }

  /**
   * The base model of a LoRA adapter some engine serves (its /v1/models card names a parent), or
   * null when {@code model} is a base model or unknown.
   */
  public String baseModelOf(String model) {
    for (Backend b : backends.values()) {
      com.fasterxml.jackson.databind.JsonNode card = b.modelCards().get(model);
      String parent = card == null ? null : ModelCards.adapterParent(card);
      if (parent != null) {
        return parent;
      }
    }
    return null;
  }

  /** Whether any engine (healthy or not) serves {@code model}. */
  public boolean serves(String model) {
    for (Backend b : backends.values()) {
      if (b.models().contains(model)) {
        return true;
      }
    }
    return false;
  }

  /** Every model any engine serves, sorted. */
  public Set<String> models() {
    Set<String> all = new TreeSet<>();
    for (Backend b : backends.values()) {
      all.addAll(b.models());
    }
    return all;
  }
}
