package dev.llmstack.router.proxy;

import dev.llmstack.router.RouterSettings;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.routing.Policies;
import io.netty.channel.EventLoop;

/** What every connection handler and exchange of one router shares. */
interface RouterContext {
  RouterSettings settings();

  BackendRegistry registry();

  Policies policies();

  RetryBudget retryBudget();

  RouterObserver observer();

  /** The structured access log, or null when off. */
  dev.llmstack.router.stats.AccessLog accessLog();

  /** Prompt keys and the approximate prefix index of cache-aware routing. */
  RouterServer.CacheAware cacheAware();

  UpstreamPool pool(EventLoop loop);

  /** The first-byte deadlines of the exchanges on {@code loop}. */
  HeadDeadlines deadlines(EventLoop loop);

  /** The deadlines of the client connections on {@code loop} for their next request. */
  HeadDeadlines clientDeadlines(EventLoop loop);

  /** Requests being proxied now (for drain on shutdown). */
  java.util.concurrent.atomic.AtomicInteger inFlight();
}
