package dev.llmstack.engine.kvevents;

import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.kvevents.KvEventCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Publishes KV-cache events the way vLLM's ZmqEventPublisher does: a PUB socket sending {@code
 * [topic, seq (8-byte big-endian), msgpack batch]} with seq counting from 0, a buffer of the last
 * {@code bufferSteps} batches, and an optional ROUTER replay socket: a client sends the start seq
 * (8 bytes, big-endian) and gets every buffered batch from there as {@code [seq, payload]}, then
 * the end marker {@code [-1, empty]}.
 *
 * <p>{@link #publish} is called by the scheduler thread and never blocks: batches go through a
 * bounded queue to one I/O thread that owns both sockets (ZMQ sockets are not thread-safe).
 */
public final class KvEventPublisher implements AutoCloseable {

  static final byte[] END_SEQ = ByteBuffer.allocate(8).putLong(-1L).array();

  private final String topic;
  private final KvEventCodec.Encoding encoding;
  private final KvEventCodec.HashForm hashForm;
  private final int bufferSteps;
  private final ArrayBlockingQueue<KvEvent.Batch> queue = new ArrayBlockingQueue<>(100_000);
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong lastSeq = new AtomicLong(-1);
  private final AtomicInteger withhold = new AtomicInteger();
  private final CountDownLatch bound = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean closed;
  private volatile int port;
  private volatile int replayPort = -1;
  private volatile RuntimeException startError;

  /**
   * @param port PUB port, 0 for a free one
   * @param replayPort ROUTER port, 0 for a free one, null for no replay socket
   */
  public KvEventPublisher(
      String host,
      int port,
      Integer replayPort,
      String topic,
      KvEventCodec.Encoding encoding,
      KvEventCodec.HashForm hashForm,
      int bufferSteps) {
    this.topic = topic;
    this.encoding = encoding;
    this.hashForm = hashForm;
    this.bufferSteps = bufferSteps;
    this.thread =
        Thread.ofPlatform()
            .name("kv-events-" + port)
            .daemon(true)
            .start(() -> run(host, port, replayPort));
    try {
      if (!bound.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("KV event sockets did not bind");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    if (startError != null) {
      throw startError;
    }
  }

  public int port() {
    return port;
  }

  /** The replay socket's port, or -1 without one. */
  public int replayPort() {
    return replayPort;
  }

  /** Queues a batch for publishing; drops it (counted) if the I/O thread is far behind. */
  public void publish(KvEvent.Batch batch) {
    if (!queue.offer(batch)) {
      dropped.incrementAndGet();
    }
  }

  /** Sequence number of the last batch published (or withheld), -1 before the first. */
  public long lastSequence() {
    return lastSeq.get();
  }

  public long dropped() {
    return dropped.get();
  }

  /**
   * Test hook simulating lost messages: the next {@code n} batches get sequence numbers and enter
   * the replay buffer but are not sent on the PUB socket, so subscribers see a gap and must replay.
   */
  public void withholdNext(int n) {
    withhold.addAndGet(n);
  }

  private void run(String host, int port, Integer replayPortWanted) {
    try (ZContext ctx = new ZContext()) {
      ZMQ.Socket pub;
      ZMQ.Socket router = null;
      try {
        pub = ctx.createSocket(SocketType.PUB);
        pub.setSndHWM(100_000);
        pub.setLinger(0);
        this.port = bind(pub, host, port);
        if (replayPortWanted != null) {
          router = ctx.createSocket(SocketType.ROUTER);
          router.setLinger(0);
          this.replayPort = bind(router, host, replayPortWanted);
        }
      } catch (RuntimeException e) {
        startError =
            new IllegalStateException("cannot bind KV event sockets: " + e.getMessage(), e);
        bound.countDown();
        return;
      }
      bound.countDown();
      byte[] topicBytes = topic.getBytes(StandardCharsets.UTF_8);
      ArrayDeque<Object[]> buffer = new ArrayDeque<>();
      long seq = 0;
      while (!closed) {
        KvEvent.Batch batch;
        try {
          batch = queue.poll(2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          break;
        }
        while (batch != null) {
          byte[] payload = KvEventCodec.encode(batch, encoding, hashForm);
          byte[] seqBytes = ByteBuffer.allocate(8).putLong(seq).array();
          buffer.addLast(new Object[] {seq, payload});
          if (buffer.size() > bufferSteps) {
            buffer.removeFirst();
          }
          lastSeq.set(seq);
          seq++;
          if (withhold.get() > 0) {
            withhold.decrementAndGet();
          } else {
            pub.sendMore(topicBytes);
            pub.sendMore(seqBytes);
            pub.send(payload);
          }
          batch = queue.poll();
        }
        if (router != null) {
          serveReplays(router, buffer);
        }
      }
    }
  }

  /**
   * Binds to {@code port}, or for 0 to a port the OS hands out as free. (JeroMQ's bindToRandomPort
   * guesses in the dynamic range, where a guess can land on a port the OS also uses for outgoing
   * connections.)
   */
  private static int bind(ZMQ.Socket s, String host, int port) {
    int p = port;
    if (p == 0) {
      try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
        probe.setReuseAddress(false);
        probe.bind(new java.net.InetSocketAddress(host, 0));
        p = probe.getLocalPort();
      } catch (java.io.IOException e) {
        throw new IllegalStateException("no free port on " + host, e);
      }
    }
    s.bind("tcp://" + host + ":" + p);
    return p;
  }

  /**
   * Answers pending replay requests: {@code [identity, "", start seq]} from REQ or DEALER clients.
   */
  private static void serveReplays(ZMQ.Socket router, ArrayDeque<Object[]> buffer) {
    while (true) {
      byte[] identity = router.recv(ZMQ.DONTWAIT);
      if (identity == null) {
        return;
      }
      byte[] frame = router.hasReceiveMore() ? router.recv() : new byte[0];
      byte[] startFrame = frame;
      if (frame.length == 0 && router.hasReceiveMore()) {
        startFrame = router.recv(); // REQ-style empty delimiter before the payload
      }
      while (router.hasReceiveMore()) {
        router.recv();
      }
      long start = startFrame.length == 8 ? ByteBuffer.wrap(startFrame).getLong() : 0;
      for (Object[] entry : buffer) {
        long s = (Long) entry[0];
        if (s >= start) {
          router.sendMore(identity);
          router.sendMore(new byte[0]);
          router.sendMore(ByteBuffer.allocate(8).putLong(s).array());
          router.send((byte[]) entry[1]);
        }
      }
      router.sendMore(identity);
      router.sendMore(new byte[0]);
      router.sendMore(END_SEQ);
      router.send(new byte[0]);
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
