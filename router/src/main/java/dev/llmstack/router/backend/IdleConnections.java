package dev.llmstack.router.backend;

import io.netty.channel.Channel;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Idle keep-alive connections to engines, by engine id, for one event loop: only that loop's thread
 * may touch it, so it needs no lock. Both the proxy's upstream pools and the engine monitor keep
 * theirs here.
 */
public final class IdleConnections {

  private final int maxPerEngine;
  private final Map<String, ArrayDeque<Channel>> idle = new HashMap<>();

  public IdleConnections(int maxPerEngine) {
    this.maxPerEngine = maxPerEngine;
  }

  /** The most recently used live connection to {@code engine} (the warmest), or null. */
  public Channel poll(String engine) {
    ArrayDeque<Channel> q = idle.get(engine);
    while (q != null && !q.isEmpty()) {
      Channel ch = q.pollLast();
      if (ch.isActive()) {
        return ch;
      }
    }
    return null;
  }

  /** Keeps a live connection for reuse; closes it when {@code engine} already has enough. */
  public void offer(String engine, Channel ch) {
    if (!ch.isActive()) {
      return;
    }
    ArrayDeque<Channel> q = idle.computeIfAbsent(engine, k -> new ArrayDeque<>());
    if (q.size() >= maxPerEngine) {
      ch.close();
    } else {
      q.addLast(ch);
    }
  }

  /** Closes and drops every idle connection to {@code engine}. */
  public void closeAll(String engine) {
    ArrayDeque<Channel> q = idle.remove(engine);
    if (q != null) {
      q.forEach(Channel::close);
    }
  }
}
