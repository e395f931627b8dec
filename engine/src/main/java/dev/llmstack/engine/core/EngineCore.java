package dev.llmstack.engine.core;

import dev.llmstack.engine.perf.BatchShape;
import dev.llmstack.engine.perf.PerformanceModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The simulated engine's discrete-event core: vLLM V1's scheduler (continuous batching with a token
 * budget, chunked prefill, running requests first, preemption by recompute when KV blocks run out)
 * over a paged KV cache with prefix caching, timed by a {@link PerformanceModel}.
 *
 * <p>A step is two calls: {@link #beginStep} picks the batch and returns how long it takes; {@link
 * #endStep}, called at that later engine time, applies it: computed tokens, new cached blocks,
 * sampled tokens, finished sequences. Drivers decide how time passes between the two (a real-time
 * thread or a virtual clock). Not thread-safe: one driver thread owns the core.
 */
public final class EngineCore {

  private final EngineConfig config;
  private final PerformanceModel perf;
  private final Vocabulary vocab;
  private final EngineObserver observer;
  private final KvEventCollector kvEvents;
  private final KvCacheManager kv;

  private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
  private final ArrayList<Sequence> running = new ArrayList<>();

  private Sequence[] scheduled = new Sequence[64];
  private int[] scheduledTokens = new int[64];
  private int numScheduled;
  private boolean stepInFlight;

  // Reused per step, so a step allocates nothing.
  private long shapePrefillTokens;
  private double shapePrefillAttention;
  private int shapeDecodeSeqs;
  private long shapeDecodeContext;
  private long shapePrefillContext;
  private long loadedTokens;

  public EngineCore(
      EngineConfig config, PerformanceModel perf, Vocabulary vocab, EngineObserver observer) {
    this.config = config;
    this.perf = perf;
    this.vocab = vocab;
    this.observer = observer;
    this.kvEvents = new KvEventCollector(config.kvEvents() && config.enablePrefixCaching());
    this.kv =
        new KvCacheManager(
            config.numGpuBlocks(),
            config.blockSize(),
            config.enablePrefixCaching(),
            kvEvents,
            config.cpuOffloadBlocks());
  }

  public EngineConfig config() {
    return config;
  }

  public KvCacheManager kvCache() {
    return kv;
  }

  public int numRunning() {
    return running.size();
  }

  public int numWaiting() {
    return waiting.size();
  }

  public boolean hasWork() {
    return !running.isEmpty() || !waiting.isEmpty();
  }

  /** Queues a new sequence; it is scheduled from the next step on. */
  public void submit(Sequence seq) {
    if (seq.status != Sequence.Status.WAITING || seq.numComputed != 0) {
      throw new IllegalStateException("sequence already submitted: " + seq);
    }
    waiting.addLast(seq);
  }

  /** Ends a sequence at once (client gone): its KV blocks return to the pool now. */
  public void abort(Sequence seq, long nanos) {
    switch (seq.status) {
      case WAITING -> waiting.remove(seq);
      case RUNNING -> running.remove(seq);
      case FINISHED -> {
        return;
      }
    }
    finish(seq, FinishReason.ABORT, nanos);
    observer.onQueueState(running.size(), waiting.size(), kv.usage());
    if (config.maxLoras() > 0 && observer.tracksLoras()) {
      observer.onLoras(lorasOf(running), lorasOf(waiting));
    }
  }

  /** Aborts everything (engine crash): every listener hears ABORT. */
  public void abortAll(long nanos) {
    for (Sequence seq : new ArrayList<>(running)) {
      abort(seq, nanos);
    }
    for (Sequence seq : new ArrayList<>(waiting)) {
      abort(seq, nanos);
    }
  }

  /** vLLM's reset_prefix_cache: refused (false) while any block is in use. */
  public boolean resetPrefixCache(long nanos) {
    boolean reset = kv.resetPrefixCache();
    publishKvEvents(nanos);
    return reset;
  }

  /**
   * Schedules the next batch at engine time {@code now}.
   *
   * @return the step's duration in nanoseconds, or -1 when there is nothing to run
   */
  public long beginStep(long now) {
    if (stepInFlight) {
      throw new IllegalStateException("step already in flight");
    }
    numScheduled = 0;
    shapePrefillTokens = 0;
    shapePrefillAttention = 0;
    shapeDecodeSeqs = 0;
    shapeDecodeContext = 0;
    shapePrefillContext = 0;
    loadedTokens = 0;
    int budget = config.maxNumBatchedTokens();
    boolean preempted = false;

    // Running sequences first, in arrival order; preempt the newest when blocks run out.
    for (int i = 0; i < running.size() && budget > 0; i++) {
      Sequence seq = running.get(i);
      int n = Math.min(seq.numTokens() - seq.numComputed, budget);
      if (n <= 0) {
        continue;
      }
      boolean ok = false;
      while (true) {
        if (kv.allocate(seq, 0, seq.numComputed + n)) {
          ok = true;
          break;
        }
        Sequence victim = running.remove(running.size() - 1);
        preempt(victim);
        preempted = true;
        if (victim == seq) {
          break;
        }
      }
      if (!ok) {
        break;
      }
      schedule(seq, n);
      budget -= n;
    }

    // Then waiting sequences, unless this step had to preempt (vLLM does the same).
    List<String> batchLoras = config.maxLoras() > 0 ? lorasOf(running) : null;
    List<Sequence> skipped = null;
    while (!preempted && budget > 0 && !waiting.isEmpty() && running.size() < config.maxNumSeqs()) {
      Sequence seq = waiting.peekFirst();
      String lora = seq.loraName();
      if (lora != null && batchLoras != null && !batchLoras.contains(lora)) {
        if (batchLoras.size() >= config.maxLoras()) {
          // vLLM: a batch uses at most max_loras adapters; this request waits, the next may go.
          if (skipped == null) {
            skipped = new ArrayList<>();
          }
          skipped.add(waiting.pollFirst());
          continue;
        }
      }
      int hitBlocks = kv.lookupPrefix(seq);
      // Blocks past the GPU hit that the CPU offload tier holds are loaded instead of recomputed.
      int cpuBlocks = kv.lookupOffloaded(seq, hitBlocks);
      int hitTokens = (hitBlocks + cpuBlocks) * config.blockSize();
      int n = Math.min(seq.numTokens() - hitTokens, budget);
      if (!kv.allocate(seq, hitBlocks, hitTokens + n)) {
        break;
      }
      waiting.pollFirst();
      // vLLM's prefix-cache counters count the GPU cache only; offload hits are the connector's.
      observer.onPrefixLookup(seq.numTokens(), hitBlocks * config.blockSize());
      if (seq.numCachedTokens < 0) {
        seq.numCachedTokens = hitTokens;
      }
      if (seq.firstScheduledNanos < 0) {
        seq.firstScheduledNanos = now;
      }
      seq.numComputed = hitTokens;
      loadedTokens += (long) cpuBlocks * config.blockSize();
      seq.status = Sequence.Status.RUNNING;
      running.add(seq);
      if (lora != null && batchLoras != null && !batchLoras.contains(lora)) {
        batchLoras.add(lora);
      }
      schedule(seq, n);
      budget -= n;
    }
    if (skipped != null) {
      for (int i = skipped.size() - 1; i >= 0; i--) {
        waiting.addFirst(skipped.get(i)); // back at the head, in their order
      }
    }

    if (numScheduled == 0) {
      return -1;
    }
    stepInFlight = true;
    // Loading offloaded KV over PCIe adds to the step (LMCache overlaps part of it with compute;
    // adding it whole keeps the model conservative).
    return perf.stepNanos(
            new BatchShape(
                shapePrefillTokens,
                shapePrefillAttention,
                shapeDecodeSeqs,
                shapeDecodeContext,
                shapePrefillContext))
        + (long) (loadedTokens * config.loadNanosPerToken());
  }

  /** Applies the step begun last, at engine time {@code now} (its end). */
  public void endStep(long now) {
    if (!stepInFlight) {
      throw new IllegalStateException("no step in flight");
    }
    stepInFlight = false;
    int tokensInStep = 0;
    boolean anyFinished = false;
    for (int i = 0; i < numScheduled; i++) {
      Sequence seq = scheduled[i];
      int n = scheduledTokens[i];
      scheduled[i] = null;
      if (seq.status != Sequence.Status.RUNNING) {
        continue; // aborted while the step ran
      }
      tokensInStep += n;
      seq.numComputed += n;
      kv.cacheComputedBlocks(seq);
      if (seq.numComputed == seq.numTokens()) {
        anyFinished |= sample(seq, now);
      }
    }
    if (anyFinished) {
      running.removeIf(s -> s.status == Sequence.Status.FINISHED);
    }
    publishKvEvents(now);
    observer.onStep(running.size(), waiting.size(), kv.usage(), tokensInStep);
    if (config.maxLoras() > 0 && observer.tracksLoras()) {
      observer.onLoras(lorasOf(running), lorasOf(waiting));
    }
  }

  private static List<String> lorasOf(Iterable<Sequence> seqs) {
    List<String> loras = new ArrayList<>(4);
    for (Sequence s : seqs) {
      if (s.loraName() != null && !loras.contains(s.loraName())) {
        loras.add(s.loraName());
      }
    }
    return loras;
  }

  private void schedule(Sequence seq, int n) {
    if (numScheduled == scheduled.length) {
      scheduled = Arrays.copyOf(scheduled, scheduled.length * 2);
      scheduledTokens = Arrays.copyOf(scheduledTokens, scheduledTokens.length * 2);
    }
    scheduled[numScheduled] = seq;
    scheduledTokens[numScheduled++] = n;
    int computed = seq.numComputed;
    boolean decode = n == 1 && computed == seq.numTokens() - 1 && seq.numOutputTokens() > 0;
    if (decode) {
      shapeDecodeSeqs++;
      shapeDecodeContext += computed;
    } else {
      shapePrefillTokens += n;
      shapePrefillAttention += n * (computed + n / 2.0);
      shapePrefillContext += computed + n;
    }
  }

  private void preempt(Sequence seq) {
    kv.free(seq);
    seq.numComputed = 0;
    seq.status = Sequence.Status.WAITING;
    seq.numPreemptions++;
    waiting.addFirst(seq);
    observer.onPreemption();
  }

  /** Samples the next token of {@code seq}; returns true when the sequence finished. */
  private boolean sample(Sequence seq, long now) {
    SamplingSpec sp = seq.sampling();
    int generated = seq.numOutputTokens();
    boolean eos = false;
    if (!sp.ignoreEos() && generated >= sp.minTokens() && config.eosProbability() > 0) {
      double u = (seq.nextRandom() >>> 11) * 0x1.0p-53;
      eos = u < config.eosProbability();
    }
    int token =
        eos
            ? vocab.eosTokenId()
            : vocab.wordToken((int) ((seq.nextRandom() >>> 1) % vocab.wordCount()));
    seq.appendToken(token);
    String text = eos ? "" : vocab.text(token);

    FinishReason reason = null;
    if (eos) {
      reason = FinishReason.STOP;
    } else if (seq.stopWindow != null) {
      int cut = matchStop(seq, text);
      if (cut >= 0) {
        text = text.substring(0, cut);
        reason = FinishReason.STOP;
      }
    }
    if (reason == null
        && (seq.numOutputTokens() >= sp.maxTokens() || seq.numTokens() >= config.maxModelLen())) {
      reason = FinishReason.LENGTH;
    }

    if (seq.firstTokenNanos < 0) {
      seq.firstTokenNanos = now;
      observer.onFirstToken(seq, now - seq.arrivalNanos());
    } else {
      observer.onInterToken(now - seq.lastTokenNanos);
    }
    seq.lastTokenNanos = now;
    // Known before the listener hears the token, so the last token and finish_reason travel
    // together.
    seq.finishReason = reason;
    seq.listener().onToken(seq, token, text, now);
    if (reason != null) {
      finish(seq, reason, now);
      return true;
    }
    return false;
  }

  /**
   * Appends {@code text} to the stop window; returns how much of {@code text} precedes a stop
   * string that now appears, or -1.
   */
  private static int matchStop(Sequence seq, String text) {
    StringBuilder w = seq.stopWindow;
    int before = w.length();
    w.append(text);
    int maxStop = 0;
    for (String stop : seq.sampling().stop()) {
      int at = w.indexOf(stop);
      if (at >= 0) {
        seq.stopReason = stop;
        return Math.max(0, at - before);
      }
      maxStop = Math.max(maxStop, stop.length());
    }
    if (w.length() > 2 * maxStop + 64) {
      w.delete(0, w.length() - maxStop);
    }
    return -1;
  }

  private void finish(Sequence seq, FinishReason reason, long now) {
    seq.status = Sequence.Status.FINISHED;
    seq.finishReason = reason;
    seq.finishNanos = now;
    kv.free(seq);
    observer.onFinished(seq, reason);
    seq.listener().onFinish(seq, reason, now);
  }

  private void publishKvEvents(long now) {
    List<dev.llmstack.protocol.kvevents.KvEvent> events = kvEvents.drain();
    if (!events.isEmpty()) {
      observer.onKvEvents(events, now);
    }
  }
}
