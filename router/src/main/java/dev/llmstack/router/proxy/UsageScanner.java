package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Picks the usage numbers out of a response as it streams by, without parsing it: the last {@code
 * "prompt_tokens":N}, {@code "completion_tokens":N} and {@code "cached_tokens":N} seen (the usage
 * object of a JSON answer, or of an SSE stream's usage chunk).
 *
 * <p>It runs on every relayed piece, so it looks only at colons: each piece is copied into a
 * per-thread array behind the last bytes of the previous piece, colons are found eight bytes at a
 * time, and at a colon the bytes before it are compared with the three field names. A name or a
 * number split between network pieces is still read. An array, because {@code ByteBuf.forEachByte}
 * goes through a call site Netty's own decoders make megamorphic, and {@code getByte} checks bounds
 * per byte.
 */
final class UsageScanner implements ResponseFramer.DataSink {

  private static final byte[][] NAMES = {
    "\"prompt_tokens\"".getBytes(StandardCharsets.US_ASCII),
    "\"completion_tokens\"".getBytes(StandardCharsets.US_ASCII),
    "\"cached_tokens\"".getBytes(StandardCharsets.US_ASCII)
  };

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long COLONS = 0x3A3A3A3A3A3A3A3AL; // ':' in every byte

  /** Bytes of the previous piece kept in front of the next: the longest name. */
  private static final int CARRY = 19;

  private static final FastThreadLocal<byte[]> SCRATCH =
      new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
          return new byte[CARRY + 4096];
        }
      };

  // The three numbers, as fields: an array of them was one more object per request.
  private long promptTokens = -1;
  private long completionTokens = -1;
  private long cachedTokens = -1;
  private final byte[] tail = new byte[CARRY];
  private int tailLength;
  private int reading = -1; // the field whose number is being read, else -1

  /** Starts on a new response: the scanner of a client connection serves its exchanges in turn. */
  void reset() {
    promptTokens = -1;
    completionTokens = -1;
    cachedTokens = -1;
    tailLength = 0;
    reading = -1;
  }

  void scan(ByteBuf buf) {
    data(buf, buf.readerIndex(), buf.writerIndex());
  }

  /** Scans the bytes of {@code buf} in [from, to). */
  @Override
  public void data(ByteBuf buf, int from, int end) {
    byte[] a = SCRATCH.get();
    for (int i = from; i < end; ) {
      System.arraycopy(tail, 0, a, 0, tailLength);
      int n = Math.min(a.length - tailLength, end - i);
      buf.getBytes(i, a, tailLength, n);
      int limit = tailLength + n;
      scan(a, tailLength, limit);
      tailLength = Math.min(CARRY, limit);
      System.arraycopy(a, limit - tailLength, tail, 0, tailLength);
      i += n;
    }
  }

  private void scan(byte[] a, int from, int limit) {
    int i = reading >= 0 ? readNumber(a, from, limit) : from;
    while ((i = nextColon(a, i, limit)) < limit) {
      if (i >= 2 && a[i - 1] == '"' && a[i - 2] == 's') { // most colons end other keys
        int f = field(a, i);
        if (f >= 0) {
          reading = f;
          set(f, -1); // the latest occurrence wins
          i = readNumber(a, i + 1, limit);
          continue;
        }
      }
      i++;
    }
  }

  /**
   * Where the next colon is in {@code a[i, limit)}, else {@code limit}. Eight bytes at a time: a
   * JSON answer has a colon every ten to twenty bytes, and a byte loop with its bounds checks cost
   * the event loop more than any other method of the router's own in a CPU profile.
   */
  static int nextColon(byte[] a, int i, int limit) {
    for (; i <= limit - Long.BYTES; i += Long.BYTES) {
      long x = (long) LONGS.get(a, i) ^ COLONS;
      // the classic zero-byte test: the lowest flagged byte is the first zero (here, colon) exactly
      long zeros = (x - 0x0101010101010101L) & ~x & 0x8080808080808080L;
      if (zeros != 0) {
        return i + (Long.numberOfTrailingZeros(zeros) >>> 3);
      }
    }
    for (; i < limit; i++) {
      if (a[i] == ':') {
        return i;
      }
    }
    return limit;
  }

  /** Which of the three names ends just before the colon at {@code colon}, else -1. */
  private static int field(byte[] a, int colon) {
    for (int f = 0; f < NAMES.length; f++) {
      byte[] name = NAMES[f];
      if (colon >= name.length && endsAt(a, colon, name)) {
        return f;
      }
    }
    return -1;
  }

  /**
   * Whether {@code name} ends at {@code end}, compared from the back: the names share their last
   * eight bytes and differ just before, and other keys ending in {@code s"} differ within three. A
   * loop, because {@code Arrays.equals} on a range this short costs more to set up than to run.
   */
  private static boolean endsAt(byte[] a, int end, byte[] name) {
    for (int j = name.length - 1, k = end - 1; j >= 0; j--, k--) {
      if (a[k] != name[j]) {
        return false;
      }
    }
    return true;
  }

  /** Reads digits (after optional spaces) from i; returns where the number ended, or the limit. */
  private int readNumber(byte[] a, int i, int limit) {
    for (; i < limit; i++) {
      byte b = a[i];
      if (b >= '0' && b <= '9') {
        long v = get(reading);
        set(reading, (v < 0 ? 0 : v) * 10 + (b - '0'));
      } else if (b != ' ') {
        reading = -1;
        return i;
      }
    }
    return i; // the number may go on in the next piece
  }

  private long get(int field) {
    return switch (field) {
      case 0 -> promptTokens;
      case 1 -> completionTokens;
      default -> cachedTokens;
    };
  }

  private void set(int field, long v) {
    switch (field) {
      case 0 -> promptTokens = v;
      case 1 -> completionTokens = v;
      default -> cachedTokens = v;
    }
  }

  /** -1 when the response carried no such field. */
  long promptTokens() {
    return promptTokens;
  }

  long completionTokens() {
    return completionTokens;
  }

  long cachedTokens() {
    return cachedTokens;
  }
}
