package dev.llmstack.engine.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.TestHttp;
import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.kvevents.KvEventCodec;
import dev.llmstack.protocol.kvevents.KvEventSubscriber;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * KV events over real ZMQ sockets: vLLM's frames, decoding, replay after a gap, restart detection.
 */
class KvEventsIT {

  static String ids(int from, int n) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(from + i);
    }
    return sb.append(']').toString();
  }

  static void complete(TestHttp http, int from, int n) {
    TestHttp.Reply r =
        http.post("/v1/completions", "{\"prompt\":" + ids(from, n) + ",\"max_tokens\":1}");
    assertThat(r.status()).isEqualTo(200);
  }

  @Test
  void rawSubscriberSeesVllmFramesAndStoredTokens() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(
            EngineSettings.defaults().port(0).timeScale(20).maxModelLen(2048).kvEventsPort(0))) {
      // A plain ZMQ SUB socket, read continuously on its own thread as a vLLM consumer would.
      java.util.concurrent.BlockingQueue<byte[][]> frames =
          new java.util.concurrent.LinkedBlockingQueue<>();
      AtomicBooleanHolder stop = new AtomicBooleanHolder();
      Thread reader =
          Thread.ofPlatform()
              .start(
                  () -> {
                    try (ZContext ctx = new ZContext()) {
                      ZMQ.Socket sub = null;
                      long connectedAt = 0;
                      while (!stop.value) {
                        // Now and then (one run in a few here) a fresh JeroMQ SUB connection never
                        // receives; a consumer that heard nothing for a while connects again.
                        if (sub == null
                            || (frames.isEmpty() && System.nanoTime() - connectedAt > 2e9)) {
                          if (sub != null) {
                            sub.close();
                          }
                          sub = ctx.createSocket(SocketType.SUB);
                          sub.setReceiveTimeOut(50);
                          sub.connect(engine.kvEventsEndpoint());
                          sub.subscribe("kv-events".getBytes());
                          connectedAt = System.nanoTime();
                        }
                        byte[] topic = sub.recv();
                        if (topic != null) {
                          byte[] seq = sub.recv();
                          byte[] payload = sub.recv();
                          frames.add(
                              new byte[][] {
                                topic, seq, payload, sub.hasReceiveMore() ? new byte[1] : null
                              });
                        }
                      }
                    }
                  });
      TestHttp http = new TestHttp(engine.baseUrl());
      byte[][] got = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      int next = 10_000;
      try {
        // PUB/SUB drops messages sent before the subscription lands (slow joiner): send until one
        // arrives.
        while (got == null && System.nanoTime() < deadline) {
          complete(http, next, 64);
          next += 1000;
          got = frames.poll(100, TimeUnit.MILLISECONDS);
        }
      } finally {
        stop.value = true;
        reader.join(5000);
      }
      assertThat(got)
          .as("a KV event arrived; published up to seq " + engine.kvEventPublisher().lastSequence())
          .isNotNull();
      assertThat(got[3]).as("exactly three frames").isNull();
      assertThat(new String(got[0])).isEqualTo("kv-events");
      assertThat(got[1]).hasSize(8);
      assertThat(ByteBuffer.wrap(got[1]).getLong()).isNotNegative();
      KvEvent.Batch batch = KvEventCodec.decode(got[2]);
      KvEvent.BlockStored stored = (KvEvent.BlockStored) batch.events().get(0);
      assertThat(stored.blockSize()).isEqualTo(16);
      assertThat(stored.medium()).isEqualTo("GPU");
      assertThat(stored.tokenIds()).hasSize(stored.blockHashes().length * 16);
      int first = stored.tokenIds()[0];
      assertThat(first).isBetween(10_000, next);
      assertThat(stored.tokenIds()[15]).isEqualTo(first + 15);
    }
  }

  private static final class AtomicBooleanHolder {
    volatile boolean value;
  }

  @Test
  void subscriberReplaysAGapAndDeliversEverythingInOrder() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(
            EngineSettings.defaults()
                .port(0)
                .timeScale(20)
                .maxModelLen(2048)
                .kvEventsPort(0)
                .kvReplayPort(0))) {
      List<Long> seqs = new CopyOnWriteArrayList<>();
      List<KvEvent> events = new CopyOnWriteArrayList<>();
      List<long[]> gaps = new CopyOnWriteArrayList<>();
      TestHttp http = new TestHttp(engine.baseUrl());
      try (KvEventSubscriber sub =
          new KvEventSubscriber(
                  engine.kvEventsEndpoint(),
                  engine.kvReplayEndpoint(),
                  "kv-events",
                  new KvEventSubscriber.Listener() {
                    @Override
                    public void onBatch(long seq, KvEvent.Batch batch) {
                      seqs.add(seq);
                      events.addAll(batch.events());
                    }

                    @Override
                    public void onGap(long expected, long got) {
                      gaps.add(new long[] {expected, got});
                    }
                  })
              .start()) {
        // The subscription takes a moment to land (ZMQ slow joiner); once any batch arrives, the
        // subscriber replays whatever it missed before it.
        int warm = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sub.lastSequence() < 0 && System.nanoTime() < deadline) {
          complete(http, 100_000 + warm++ * 1000, 64);
          Thread.sleep(100);
        }
        awaitSeq(sub, engine.kvEventPublisher().lastSequence());
        // Three batches are lost on the wire, then traffic continues.
        engine.kvEventPublisher().withholdNext(3);
        for (int i = 0; i < 4; i++) {
          complete(http, 2000 + i * 1000, 64);
        }
        awaitSeq(sub, engine.kvEventPublisher().lastSequence());
        long last = engine.kvEventPublisher().lastSequence();
        assertThat(last).isGreaterThanOrEqualTo(4);
        // Every sequence number exactly once, in order, though 3 never came over PUB.
        assertThat(seqs)
            .isEqualTo(java.util.stream.LongStream.rangeClosed(0, last).boxed().toList());
        assertThat(sub.replayed()).isGreaterThanOrEqualTo(3);
        assertThat(gaps).isEmpty();
        long stored = events.stream().filter(e -> e instanceof KvEvent.BlockStored).count();
        assertThat(stored).isGreaterThanOrEqualTo(4 + warm);
      }
    }
  }

  static void awaitSeq(KvEventSubscriber sub, long seq) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (sub.lastSequence() < seq && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(sub.lastSequence()).isGreaterThanOrEqualTo(seq);
  }

  @Test
  void subscriberDetectsAPublisherRestart() throws Exception {
    List<String> log = new CopyOnWriteArrayList<>();
    KvEvent.Batch batch = new KvEvent.Batch(1, List.of(new KvEvent.AllBlocksCleared()), null);
    KvEventPublisher first =
        new KvEventPublisher(
            "127.0.0.1",
            0,
            null,
            "t",
            KvEventCodec.Encoding.ARRAY,
            KvEventCodec.HashForm.INT64,
            100);
    int port = first.port();
    try (KvEventSubscriber sub =
        new KvEventSubscriber(
                "tcp://127.0.0.1:" + port,
                null,
                "t",
                new KvEventSubscriber.Listener() {
                  @Override
                  public void onBatch(long seq, KvEvent.Batch b) {
                    log.add("batch " + seq);
                  }

                  @Override
                  public void onReset() {
                    log.add("reset");
                  }
                })
            .start()) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (log.isEmpty() && System.nanoTime() < deadline) {
        first.publish(batch);
        Thread.sleep(50);
      }
      for (int i = 0; i < 3; i++) {
        first.publish(batch);
      }
      Thread.sleep(300);
      first.close();
      // The engine comes back on the same port with fresh sequence numbers.
      KvEventPublisher second =
          new KvEventPublisher(
              "127.0.0.1",
              port,
              null,
              "t",
              KvEventCodec.Encoding.ARRAY,
              KvEventCodec.HashForm.INT64,
              100);
      try {
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!log.contains("reset") && System.nanoTime() < deadline) {
          second.publish(batch);
          Thread.sleep(50);
        }
      } finally {
        second.close();
      }
      assertThat(log).contains("reset");
      assertThat(sub.lastSequence()).isNotNegative();
    }
  }
}
