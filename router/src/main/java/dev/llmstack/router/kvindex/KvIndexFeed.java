package dev.llmstack.router.kvindex;

import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.kvevents.KvEventSubscriber;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Keeps a {@link KvBlockIndex} fed: one {@link KvEventSubscriber} per engine (replaying gaps when
 * the engine offers a replay socket); an engine restart or a gap that replay could not close drops
 * what the index knew of that engine, so it never routes on blocks the engine may no longer hold.
 */
public final class KvIndexFeed implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(KvIndexFeed.class.getName());

  private final KvBlockIndex index;
  private final String topic;
  private final Map<String, KvEventSubscriber> subscribers = new ConcurrentHashMap<>();

  public KvIndexFeed(KvBlockIndex index, String topic) {
    this.index = index;
    this.topic = topic;
  }

  /** Whether the router follows this engine's KV events. */
  public boolean follows(String engine) {
    return subscribers.containsKey(engine);
  }

  public KvBlockIndex index() {
    return index;
  }

  /**
   * Starts following {@code engine}'s events at {@code endpoint} (and {@code replayEndpoint}, may
   * be null).
   */
  public void watch(String engine, String endpoint, String replayEndpoint) {
    subscribers.computeIfAbsent(
        engine,
        e ->
            new KvEventSubscriber(
                    endpoint,
                    replayEndpoint,
                    topic,
                    new KvEventSubscriber.Listener() {
                      @Override
                      public void onBatch(long seq, KvEvent.Batch batch) {
                        index.apply(engine, batch);
                      }

                      @Override
                      public void onGap(long expected, long got) {
                        LOG.warning(
                            () ->
                                engine
                                    + ": KV events "
                                    + expected
                                    + ".."
                                    + (got - 1)
                                    + " lost; resyncing");
                        index.clear(engine);
                      }

                      @Override
                      public void onReset() {
                        LOG.info(() -> engine + ": KV event stream restarted; resyncing");
                        index.clear(engine);
                      }
                    })
                .start());
  }

  /** Stops following an engine and forgets its blocks. */
  public void unwatch(String engine) {
    KvEventSubscriber s = subscribers.remove(engine);
    if (s != null) {
      s.close();
    }
    index.clear(engine);
  }

  @Override
  public void close() {
    subscribers.values().forEach(KvEventSubscriber::close);
    subscribers.clear();
  }
}
