package dev.llmstack.protocol.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Tokenizes rendered chat text piece by piece, cutting it at special tokens and remembering each
 * piece's ids. A HuggingFace tokenizer splits out added special tokens before it pre-tokenizes, so
 * the pieces between them tokenize independently and the result is the same as encoding the whole
 * text (checked against a sample when a tokenizer is loaded, see {@link ModelTokenizer}). A
 * conversation's next turn repeats every earlier message, and each message's text is its own piece
 * between the template's header and end-of-turn tokens: only the new messages are tokenized.
 */
final class SegmentedEncoder {

  /** Pieces shorter than this are tokenized again each time: caching them saves nothing. */
  private static final int MIN_CACHED_CHARS = 64;

  private final HfTokenizer tokenizer;
  private final Map<Character, String[]> specialByFirstChar = new HashMap<>();

  /** First characters of special tokens: most text characters are rejected here, with no lookup. */
  private final java.util.BitSet specialFirstChars = new java.util.BitSet();

  private final Map<String, Integer> specialIds = new HashMap<>();
  private final ConcurrentHashMap<String, int[]> pieces = new ConcurrentHashMap<>();
  private final AtomicLong cachedChars = new AtomicLong();
  private final long maxCachedChars;
  private final AtomicLong hits = new AtomicLong();

  SegmentedEncoder(HfTokenizer tokenizer, Map<String, Integer> special, long maxCachedChars) {
    this.tokenizer = tokenizer;
    this.maxCachedChars = maxCachedChars;
    Map<Character, List<String>> grouped = new HashMap<>();
    special.forEach(
        (text, id) -> {
          if (!text.isEmpty()) {
            specialIds.put(text, id);
            grouped.computeIfAbsent(text.charAt(0), c -> new ArrayList<>()).add(text);
            specialFirstChars.set(text.charAt(0));
          }
        });
    // Longest first, so a special token that extends another wins, as in the tokenizer.
    grouped.forEach(
        (c, list) ->
            specialByFirstChar.put(
                c,
                list.stream()
                    .sorted(Comparator.comparingInt(String::length).reversed())
                    .toArray(String[]::new)));
  }

  /** Pieces served from the cache so far. */
  long hits() {
    return hits.get();
  }

  /** The ids of {@code text}, without adding special tokens (the template wrote them). */
  int[] encode(String text) {
    int[] out = new int[Math.max(16, text.length() / 3)];
    int n = 0;
    int pieceStart = 0;
    int i = 0;
    int len = text.length();
    while (i < len) {
      char c = text.charAt(i);
      String[] candidates = specialFirstChars.get(c) ? specialByFirstChar.get(c) : null;
      String match = null;
      if (candidates != null) {
        for (String s : candidates) {
          if (text.startsWith(s, i)) {
            match = s;
            break;
          }
        }
      }
      if (match == null) {
        i++;
        continue;
      }
      if (i > pieceStart) {
        int[] ids = piece(text.substring(pieceStart, i));
        out = ensure(out, n + ids.length);
        System.arraycopy(ids, 0, out, n, ids.length);
        n += ids.length;
      }
      out = ensure(out, n + 1);
      out[n++] = specialIds.get(match);
      i += match.length();
      pieceStart = i;
    }
    if (pieceStart < len) {
      int[] ids = piece(text.substring(pieceStart));
      out = ensure(out, n + ids.length);
      System.arraycopy(ids, 0, out, n, ids.length);
      n += ids.length;
    }
    return Arrays.copyOf(out, n);
  }

  private int[] piece(String s) {
    if (s.length() < MIN_CACHED_CHARS) {
      return tokenizer.encode(s, false);
    }
    int[] ids = pieces.get(s);
    if (ids != null) {
      hits.incrementAndGet();
      return ids;
    }
    ids = tokenizer.encode(s, false);
    if (cachedChars.addAndGet(s.length()) > maxCachedChars) {
      // Crude but bounded: start over rather than track recency for every piece.
      pieces.clear();
      cachedChars.set(s.length());
    }
    pieces.put(s, ids);
    return ids;
  }

  private static int[] ensure(int[] a, int size) {
    return size <= a.length ? a : Arrays.copyOf(a, Math.max(size, a.length * 2));
  }
}
