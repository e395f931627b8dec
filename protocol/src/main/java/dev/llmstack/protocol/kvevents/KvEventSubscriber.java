package dev.llmstack.protocol.kvevents;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Follows one engine's KV-event stream: a SUB socket on the publisher, sequence tracking, replay of
 * missed batches from the engine's replay socket (a gap, or joining late), and detection of a
 * publisher restart (sequence numbers start over), reported so the index can drop what it knew of
 * that engine. Batches reach the listener in sequence order on the subscriber's own thread.
 */
public final class KvEventSubscriber implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(KvEventSubscriber.class.getName());

  /** Receives an engine's batches in order. */
  public interface Listener {
    void onBatch(long seq, KvEvent.Batch batch);

    /** Batches {@code expected .. got-1} were missed and could not all be replayed. */
    default void onGap(long expected, long got) {}

    /** The publisher restarted: everything known from it before is stale. */
    default void onReset() {}
  }

  private static final long RESUBSCRIBE_AFTER_NANOS = 2_000_000_000L;

  private final String endpoint;
  private final String replayEndpoint;
  private final String topic;
  private final Listener listener;
  private final Thread thread;
  private volatile boolean closed;
  private volatile long lastSeq = -1;
  private volatile long replayed;

  /**
   * @param endpoint the publisher, e.g. {@code tcp://10.0.0.5:5557}
   * @param replayEndpoint its replay socket, or null
   */
  public KvEventSubscriber(
      String endpoint, String replayEndpoint, String topic, Listener listener) {
    this.endpoint = endpoint;
    this.replayEndpoint = replayEndpoint;
    this.topic = topic == null ? "" : topic;
    this.listener = listener;
    this.thread = Thread.ofPlatform().name("kv-sub " + endpoint).daemon(true).unstarted(this::run);
  }

  public KvEventSubscriber start() {
    thread.start();
    return this;
  }

  /** The last sequence number delivered, -1 before the first. */
  public long lastSequence() {
    return lastSeq;
  }

  /** Batches recovered through replay so far. */
  public long replayed() {
    return replayed;
  }

  private ZMQ.Socket dealer;

  /**
   * Live batches numbered above this and up to {@code lastSeq} were already delivered by a replay
   * made on (re)subscribing: duplicates, not an engine restart. MAX_VALUE when no such window.
   */
  private long duplicatesAbove = Long.MAX_VALUE;

  private void run() {
    try (ZContext ctx = new ZContext()) {
      if (replayEndpoint != null) {
        // One replay connection for the subscriber's life: a fresh socket per gap sometimes lost
        // the reply (seen with JeroMQ 0.6), and a standing connection also answers faster.
        dealer = ctx.createSocket(SocketType.DEALER);
        dealer.setLinger(0);
        dealer.setReceiveTimeOut(2000);
        dealer.connect(replayEndpoint);
      }
      ZMQ.Socket sub = null;
      long lastHeard = 0;
      while (!closed) {
        // A fresh JeroMQ SUB connection occasionally never receives (seen in about one run in four
        // here). A
        // subscription silent for a while is therefore made again: cheap, and any batch missed
        // meanwhile shows
        // up as a sequence gap that replay fills.
        if (sub == null || System.nanoTime() - lastHeard > RESUBSCRIBE_AFTER_NANOS) {
          if (sub != null) {
            sub.close();
          }
          sub = ctx.createSocket(SocketType.SUB);
          sub.setLinger(0);
          sub.setReceiveTimeOut(100);
          sub.setRcvHWM(100_000);
          sub.connect(endpoint);
          sub.subscribe(topic.getBytes(StandardCharsets.UTF_8));
          lastHeard = System.nanoTime();
          if (dealer != null) {
            // Ask for what was published before this subscription took: joining late (or after a
            // silent spell) must not wait for a later batch to reveal the gap; an engine whose
            // cache is already warm may publish nothing more for a long time.
            long before = lastSeq;
            replay(ctx, before + 1, Long.MAX_VALUE);
            if (lastSeq > before) {
              duplicatesAbove = before;
            }
          }
        }
        byte[] t = sub.recv();
        if (t == null) {
          continue;
        }
        lastHeard = System.nanoTime();
        byte[] seqBytes = sub.hasReceiveMore() ? sub.recv() : null;
        byte[] payload = sub.hasReceiveMore() ? sub.recv() : null;
        while (sub.hasReceiveMore()) {
          sub.recv();
        }
        if (seqBytes == null || seqBytes.length != 8 || payload == null) {
          continue;
        }
        long seq = ByteBuffer.wrap(seqBytes).getLong();
        try {
          handle(ctx, seq, payload);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, endpoint + ": bad KV event batch " + seq, e);
        }
      }
    }
  }

  private void handle(ZContext ctx, long seq, byte[] payload) {
    long last = lastSeq;
    if (last >= 0 && seq <= last && seq > duplicatesAbove) {
      return; // already delivered by the replay made when subscribing
    }
    duplicatesAbove = Long.MAX_VALUE;
    if (last >= 0 && seq <= last) {
      // Sequence numbers went back: the engine restarted with a fresh cache.
      listener.onReset();
      last = -1;
      lastSeq = -1;
    }
    long expected = last + 1;
    if (seq > expected && replayEndpoint != null) {
      replay(ctx, expected, seq);
    }
    if (lastSeq + 1 < seq) {
      listener.onGap(lastSeq + 1, seq);
    }
    deliver(seq, payload);
  }

  /** Fetches batches {@code from .. until-1} from the replay socket and delivers them. */
  private void replay(ZContext ctx, long from, long until) {
    dealer.sendMore(new byte[0]);
    dealer.send(ByteBuffer.allocate(8).putLong(from).array());
    while (!closed) {
      byte[] first = dealer.recv();
      if (first == null) {
        LOG.warning(endpoint + ": replay timed out");
        return;
      }
      byte[] seqBytes = first.length == 0 && dealer.hasReceiveMore() ? dealer.recv() : first;
      byte[] payload = dealer.hasReceiveMore() ? dealer.recv() : new byte[0];
      while (dealer.hasReceiveMore()) {
        dealer.recv();
      }
      if (seqBytes.length != 8) {
        continue;
      }
      long s = ByteBuffer.wrap(seqBytes).getLong();
      if (s < 0) {
        return; // end marker
      }
      if (s > lastSeq && s < until) {
        deliver(s, payload);
        replayed++;
      }
    }
  }

  private void deliver(long seq, byte[] payload) {
    KvEvent.Batch batch = KvEventCodec.decode(payload);
    lastSeq = seq;
    listener.onBatch(seq, batch);
  }

  @Override
  public void close() {
    closed = true;
    try {
      thread.join(3000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
