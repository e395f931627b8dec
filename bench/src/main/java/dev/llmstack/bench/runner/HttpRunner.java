package dev.llmstack.bench.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.bench.workload.BenchRequest;
import dev.llmstack.bench.workload.Prompt;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.bench.workload.Workload;
import dev.llmstack.protocol.openai.ModelCards;
import dev.llmstack.protocol.tokenizer.ChatMessage;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Drives an OpenAI-compatible endpoint over real HTTP: each request is sent at its intended time on
 * its own virtual thread and its server-sent events are timed as they arrive. Works against the
 * router, a vLLM server or any other gateway.
 */
public final class HttpRunner {

  /** Where to send and how long to wait. */
  public record Target(String baseUrl, String model, Duration requestTimeout, double maxSeconds) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Target target;
  private final WordVocabulary words;
  private final HttpClient client;
  private final PrintStream log;

  public HttpRunner(Target target, WordVocabulary words, PrintStream log) {
    this.target = target;
    this.words = words;
    this.log = log;
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();
  }

  /**
   * The model to ask for: the given one, else the first base model the target lists. Fails with a
   * one-line message when the target cannot be reached.
   */
  public static String resolveModel(String baseUrl, String model) {
    HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      HttpResponse<String> r =
          c.send(
              HttpRequest.newBuilder(URI.create(baseUrl + "/v1/models"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalArgumentException(
            "target " + baseUrl + " answered /v1/models with HTTP " + r.statusCode());
      }
      JsonNode data = JSON.readTree(r.body()).path("data");
      if (model != null) {
        return model;
      }
      if (data.isEmpty()) {
        throw new IllegalArgumentException("target " + baseUrl + " serves no models");
      }
      // A base model, not a LoRA adapter (a card with a parent): its name picks the tokenizer.
      for (JsonNode card : data) {
        if (ModelCards.adapterParent(card) == null) {
          return card.path("id").asText();
        }
      }
      return data.get(0).path("id").asText();
    } catch (ConnectException e) {
      throw new IllegalArgumentException(
          "target " + baseUrl + " is unreachable (connection refused)");
    } catch (IOException e) {
      throw new IllegalArgumentException("target " + baseUrl + " is unreachable: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    } finally {
      c.close();
    }
  }

  /** Runs the workload to its end (or {@code maxSeconds}) and returns every request's record. */
  public RunResult run(String name, Workload workload) throws InterruptedException {
    RecordSink sink = new RecordSink();
    PriorityQueue<BenchRequest> pending =
        new PriorityQueue<>((a, b) -> Long.compare(a.sendAtNanos(), b.sendAtNanos()));
    Object lock = new Object();
    AtomicInteger inFlight = new AtomicInteger();
    Workload.Dispatch dispatch =
        r -> {
          synchronized (lock) {
            pending.add(r);
            lock.notifyAll();
          }
        };
    workload.start(dispatch);
    Progress progress = new Progress(log, name);
    int expected = workload.expectedRequests();
    long start = System.nanoTime();
    long limit = target.maxSeconds() > 0 ? (long) (target.maxSeconds() * 1e9) : Long.MAX_VALUE;
    AtomicLong lastEnd = new AtomicLong();
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      while (true) {
        BenchRequest next;
        synchronized (lock) {
          long now = System.nanoTime() - start;
          progress.update(sink.size(), expected, sink.errors(), now);
          if (pending.isEmpty()) {
            if (inFlight.get() == 0) {
              break;
            }
            lock.wait(100);
            continue;
          }
          BenchRequest head = pending.peek();
          if (head.sendAtNanos() >= limit) {
            pending.clear();
            continue;
          }
          long wait = head.sendAtNanos() - now;
          if (wait > 0) {
            lock.wait(Math.max(1, Math.min(100, wait / 1_000_000)), 0);
            continue;
          }
          next = pending.poll();
          inFlight.incrementAndGet();
        }
        threads.submit(
            () -> {
              RequestRecord rec = send(next, start, workload.needsAnswers(), sink);
              sink.add(rec);
              lastEnd.accumulateAndGet(rec.endNanos(), Math::max);
              workload.completed(next, rec, dispatch);
              synchronized (lock) {
                inFlight.decrementAndGet();
                lock.notifyAll();
              }
            });
      }
    }
    progress.update(sink.size(), sink.size(), sink.errors(), Long.MAX_VALUE);
    Map<String, Object> extra = new HashMap<>();
    extra.put("target", target.baseUrl());
    extra.put("model", target.model());
    return new RunResult(name, sink.records(), sink.itl(), lastEnd.get(), extra);
  }

  private RequestRecord send(BenchRequest r, long start, boolean keepAnswer, RecordSink sink) {
    long sent = System.nanoTime() - start;
    boolean chat = r.prompt() instanceof Prompt.Chat;
    ObjectNode body = JSON.createObjectNode();
    body.put("model", r.lora() != null ? r.lora() : target.model());
    switch (r.prompt()) {
      case Prompt.Chat c -> {
        ArrayNode msgs = body.putArray("messages");
        for (ChatMessage m : c.messages()) {
          msgs.addObject().put("role", m.role()).put("content", m.content());
        }
      }
      case Prompt.Runs runs -> body.put("prompt", words.text(runs));
    }
    body.put("max_tokens", r.maxTokens());
    body.put("ignore_eos", true);
    body.put("stream", true);
    body.putObject("stream_options").put("include_usage", true);
    if (r.user() != null) {
      body.put("user", r.user());
    }
    HttpRequest req =
        HttpRequest.newBuilder(
                URI.create(target.baseUrl() + (chat ? "/v1/chat/completions" : "/v1/completions")))
            .timeout(target.requestTimeout())
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    long first = -1;
    long last = -1;
    int chunks = 0;
    int promptTokens = 0;
    int outputTokens = -1;
    int cached = -1;
    String engine = null;
    String error = null;
    StringBuilder answer = keepAnswer ? new StringBuilder() : null;
    long[] gaps = new long[Math.max(16, r.maxTokens())];
    int nGaps = 0;
    try {
      HttpResponse<Stream<String>> resp = client.send(req, HttpResponse.BodyHandlers.ofLines());
      engine = resp.headers().firstValue("x-llmstack-engine").orElse(null);
      try (Stream<String> lines = resp.body()) {
        if (resp.statusCode() != 200) {
          String text = String.join("\n", (Iterable<String>) lines::iterator);
          error = "HTTP " + resp.statusCode() + ": " + errorMessage(text);
        } else {
          Iterator<String> it = lines.iterator();
          boolean done = false;
          while (it.hasNext()) {
            String line = it.next();
            if (!line.startsWith("data:")) {
              continue;
            }
            String data = line.substring(5).trim();
            if (data.equals("[DONE]")) {
              done = true;
              break;
            }
            JsonNode ev = JSON.readTree(data);
            if (ev.has("error")) {
              error = "stream error: " + ev.path("error").path("message").asText();
              break;
            }
            JsonNode choice = ev.path("choices").path(0);
            String text =
                chat
                    ? choice.path("delta").path("content").asText("")
                    : choice.path("text").asText("");
            if (!text.isEmpty()) {
              long now = System.nanoTime() - start;
              if (first < 0) {
                first = now;
              } else {
                if (nGaps == gaps.length) {
                  gaps = java.util.Arrays.copyOf(gaps, gaps.length * 2);
                }
                gaps[nGaps++] = now - last;
              }
              last = now;
              chunks++;
              if (answer != null) {
                answer.append(text);
              }
            }
            JsonNode usage = ev.get("usage");
            if (usage != null && !usage.isNull()) {
              promptTokens = usage.path("prompt_tokens").asInt();
              outputTokens = usage.path("completion_tokens").asInt();
              JsonNode c = usage.path("prompt_tokens_details").path("cached_tokens");
              cached = c.isNumber() ? c.asInt() : -1;
            }
          }
          if (error == null && !done) {
            error = "stream ended without [DONE]";
          }
        }
      }
    } catch (java.net.http.HttpTimeoutException e) {
      error = "timeout";
    } catch (IOException e) {
      error = "I/O: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = "interrupted";
    } catch (RuntimeException e) {
      error = "client: " + e;
    }
    long end = System.nanoTime() - start;
    if (error == null && first < 0) {
      error = "no tokens";
    }
    sink.gaps(gaps, nGaps);
    return new RequestRecord(
        r.id(),
        r.user(),
        engine,
        r.sendAtNanos(),
        sent,
        first,
        end,
        promptTokens,
        outputTokens >= 0 ? outputTokens : chunks,
        cached,
        error,
        answer == null ? null : answer.toString());
  }

  private static String errorMessage(String body) {
    try {
      JsonNode m = JSON.readTree(body).path("error").path("message");
      if (m.isTextual()) {
        return m.asText();
      }
    } catch (IOException | RuntimeException ignored) {
      // not JSON: the raw body says more
    }
    return body.length() > 200 ? body.substring(0, 200) : body;
  }
}
