package dev.llmstack.bench.workload;

import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.protocol.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * Multi-round QA, after the vLLM production-stack benchmark: users share a long system prompt, each
 * has its own long history, and asks {@code rounds} questions in one conversation, the next only
 * after the previous answer arrived. Users join on a ramp, one every {@code 1/qps} seconds, and
 * pace their rounds {@code users/qps} seconds apart, so the offered load is {@code qps} while the
 * system keeps up (closed loop: a slow system gets fewer requests, as with real users).
 */
public final class MultiRoundQa implements Workload {

  /** The workload's knobs; defaults follow production-stack's single-node run. */
  public record Params(
      int users,
      int rounds,
      int systemPromptTokens,
      int historyTokens,
      int questionTokens,
      int answerTokens,
      double qps) {

    public static final Params DEFAULT = new Params(15, 20, 1000, 20000, 50, 100, 0.5);

    public Params {
      if (users <= 0 || rounds <= 0) {
        throw new IllegalArgumentException("users and rounds must be positive");
      }
      if (systemPromptTokens < 0 || historyTokens < 0 || questionTokens <= 0 || answerTokens <= 0) {
        throw new IllegalArgumentException("token lengths must be positive");
      }
      if (!(qps > 0)) {
        throw new IllegalArgumentException("qps must be positive, got " + qps);
      }
    }
  }

  private static final long SYSTEM_SEED = 0x5359535445L;

  private final Params p;
  private final WordVocabulary words;
  private final String systemPrompt;
  private final List<List<ChatMessage>> conversations = new ArrayList<>();
  private final int[] roundsSent;
  private final long[] lastSent;

  public MultiRoundQa(Params p, WordVocabulary words) {
    this.p = p;
    this.words = words;
    this.systemPrompt = words.text(SYSTEM_SEED, p.systemPromptTokens());
    this.roundsSent = new int[p.users()];
    this.lastSent = new long[p.users()];
  }

  @Override
  public String name() {
    return "multi-round-qa";
  }

  @Override
  public boolean needsAnswers() {
    return true;
  }

  @Override
  public int expectedRequests() {
    return p.users() * p.rounds();
  }

  @Override
  public void start(Dispatch dispatch) {
    for (int u = 0; u < p.users(); u++) {
      List<ChatMessage> conv = new ArrayList<>();
      if (p.systemPromptTokens() > 0) {
        conv.add(new ChatMessage("system", systemPrompt));
      }
      conversations.add(conv);
      long at = Math.round(u / p.qps() * 1e9);
      String history = words.text(userSeed(u, -1), p.historyTokens());
      conv.add(new ChatMessage("user", history + question(u, 0)));
      send(u, at, dispatch);
    }
  }

  private String question(int user, int round) {
    return words.text(userSeed(user, round), p.questionTokens());
  }

  private static long userSeed(int user, int round) {
    return 0x5155450000000000L + ((long) user << 20) + round + 1;
  }

  private synchronized void send(int user, long at, Dispatch dispatch) {
    int round = roundsSent[user]++;
    lastSent[user] = at;
    dispatch.submit(
        new BenchRequest(
            "qa-u" + user + "-r" + round,
            "user-" + user,
            at,
            new Prompt.Chat(conversations.get(user)),
            p.answerTokens()));
  }

  @Override
  public void completed(BenchRequest request, RequestRecord record, Dispatch dispatch) {
    int user = Integer.parseInt(request.user().substring("user-".length()));
    synchronized (this) {
      if (roundsSent[user] >= p.rounds()) {
        return;
      }
      List<ChatMessage> conv = conversations.get(user);
      conv.add(new ChatMessage("assistant", record.answer() == null ? "" : record.answer()));
      conv.add(new ChatMessage("user", question(user, roundsSent[user])));
      long paced = lastSent[user] + Math.round(p.users() / p.qps() * 1e9);
      send(user, Math.max(paced, record.endNanos()), dispatch);
    }
  }
}
