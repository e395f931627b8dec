package dev.llmstack.bench.workload;

import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import java.util.SplittableRandom;

/**
 * The words synthetic prompts are made of: tokens that decode to one space-led plain word and
 * encode back to themselves alone, so a text of {@code n} such words is exactly {@code n} tokens
 * and the same words give the same token ids in the router, the engine and the twin.
 *
 * @param bos the beginning-of-sequence token a completion prompt starts with, or -1
 */
public record WordVocabulary(String[] words, int[] ids, int bos) {

  public static WordVocabulary of(ModelTokenizer tokenizer) {
    int[] ids = tokenizer.plainWordTokenIds();
    String[] words = new String[ids.length];
    int[] one = new int[1];
    for (int i = 0; i < ids.length; i++) {
      one[0] = ids[i];
      words[i] = tokenizer.decode(one, false);
    }
    int[] withSpecials = tokenizer.encode(words[0], true);
    int bos = withSpecials.length > 1 ? withSpecials[0] : -1;
    return new WordVocabulary(words, ids, bos);
  }

  public int size() {
    return ids.length;
  }

  private SplittableRandom random(long seed) {
    // Mix the seed so nearby seeds (hash ids 0, 1, 2, ...) give unrelated runs.
    return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L);
  }

  /** Appends the run of {@code length} words of {@code seed}. */
  public void appendText(StringBuilder out, long seed, int length) {
    SplittableRandom r = random(seed);
    for (int i = 0; i < length; i++) {
      out.append(words[r.nextInt(words.length)]);
    }
  }

  /** Writes the token ids of the run of {@code length} words of {@code seed} at {@code offset}. */
  public void appendIds(int[] out, int offset, long seed, int length) {
    SplittableRandom r = random(seed);
    for (int i = 0; i < length; i++) {
      out[offset + i] = ids[r.nextInt(words.length)];
    }
  }

  /** The prompt's text, as sent to /v1/completions. */
  public String text(Prompt.Runs p) {
    StringBuilder sb = new StringBuilder(p.words() * 7);
    for (int i = 0; i < p.seeds().length; i++) {
      appendText(sb, p.seeds()[i], p.lengths()[i]);
    }
    return sb.toString();
  }

  /** The token ids the engine sees for the prompt's text: BOS, then one token per word. */
  public int[] tokenIds(Prompt.Runs p) {
    int start = bos >= 0 ? 1 : 0;
    int[] out = new int[start + p.words()];
    if (bos >= 0) {
      out[0] = bos;
    }
    int at = start;
    for (int i = 0; i < p.seeds().length; i++) {
      appendIds(out, at, p.seeds()[i], p.lengths()[i]);
      at += p.lengths()[i];
    }
    return out;
  }

  /** A run's text on its own (used to build chat messages). */
  public String text(long seed, int length) {
    StringBuilder sb = new StringBuilder(length * 7);
    appendText(sb, seed, length);
    return sb.toString();
  }
}
