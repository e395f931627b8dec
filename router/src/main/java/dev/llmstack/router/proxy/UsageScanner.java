package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Picks the usage numbers out of a response as it streams by, without copying or parsing it: the
 * last {@code "prompt_tokens":N}, {@code "completion_tokens":N} and {@code "cached_tokens":N} seen
 * (the usage object of a JSON answer, or of an SSE stream's usage chunk). A byte-at-a-time matcher
 * per field, so values split across network chunks are still read.
 */
final class UsageScanner {

  private static final byte[][] FIELDS = {
    "\"prompt_tokens\":".getBytes(StandardCharsets.US_ASCII),
    "\"completion_tokens\":".getBytes(StandardCharsets.US_ASCII),
    "\"cached_tokens\":".getBytes(StandardCharsets.US_ASCII)
  };

  private final int[] matched = new int[FIELDS.length];
  private final long[] value = {-1, -1, -1};
  private final boolean[] reading = new boolean[FIELDS.length];

  void scan(ByteBuf buf) {
    for (int i = buf.readerIndex(), end = buf.writerIndex(); i < end; i++) {
      byte b = buf.getByte(i);
      for (int f = 0; f < FIELDS.length; f++) {
        if (reading[f]) {
          if (b >= '0' && b <= '9') {
            value[f] = (value[f] < 0 ? 0 : value[f]) * 10 + (b - '0');
            continue;
          }
          if (b == ' ') {
            continue;
          }
          reading[f] = false;
        }
        byte[] p = FIELDS[f];
        matched[f] = b == p[matched[f]] ? matched[f] + 1 : (b == p[0] ? 1 : 0);
        if (matched[f] == p.length) {
          matched[f] = 0;
          reading[f] = true;
          value[f] = -1; // the latest occurrence wins
        }
      }
    }
  }

  /** -1 when the response carried no such field. */
  long promptTokens() {
    return value[0];
  }

  long completionTokens() {
    return value[1];
  }

  long cachedTokens() {
    return value[2];
  }
}
