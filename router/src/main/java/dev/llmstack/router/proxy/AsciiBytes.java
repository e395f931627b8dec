package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/**
 * Comparisons and parsing on the ASCII bytes of HTTP heads, which {@link HeadLines} copies into an
 * array first: reading a direct buffer byte by byte costs a bounds and liveness check per byte
 * (most of the request path's time in a profile, session 9), an array read costs nothing.
 */
final class AsciiBytes {

  static final short CRLF = ('\r' << 8) | '\n';

  private AsciiBytes() {}

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** Writes a header line: its name with ": " ({@code nameColonSpace}), the value, CRLF. */
  static void writeHeader(ByteBuf out, byte[] nameColonSpace, String value) {
    out.writeBytes(nameColonSpace);
    ByteBufUtil.writeAscii(out, value);
    out.writeShort(CRLF);
  }

  /** Writes {@code v} >= 0 in decimal, without making a String. */
  static void writeDecimal(ByteBuf out, int v) {
    int digits = 1;
    for (int x = v; x >= 10; x /= 10) {
      digits++;
    }
    out.ensureWritable(digits);
    int at = out.writerIndex() + digits;
    for (int k = 1; k <= digits; k++) {
      out.setByte(at - k, '0' + v % 10);
      v /= 10;
    }
    out.writerIndex(at);
  }

  static int indexOf(byte[] a, int from, int to, byte b) {
    for (int i = from; i < to; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }

  static int skipSpace(byte[] a, int i, int end) {
    while (i < end && (a[i] == ' ' || a[i] == '\t')) {
      i++;
    }
    return i;
  }

  static int trimEnd(byte[] a, int start, int end) {
    while (end > start && (a[end - 1] == ' ' || a[end - 1] == '\t')) {
      end--;
    }
    return end;
  }

  /** A Content-Length value: decimal digits only (RFC 9110 §8.6), at most 18 of them. */
  static long parseLength(byte[] a, int from, int to) {
    if (from == to || to - from > 18) {
      throw new MalformedHttpException("bad Content-Length");
    }
    long v = 0;
    for (int i = from; i < to; i++) {
      int d = a[i] - '0';
      if (d < 0 || d > 9) {
        throw new MalformedHttpException("bad Content-Length");
      }
      v = v * 10 + d;
    }
    return v;
  }

  /** Whether the comma-separated list in [from, to) ends with {@code token}. */
  static boolean endsWithToken(byte[] a, int from, int to, byte[] token) {
    int start = to - token.length;
    if (start < from || !regionEqualsIgnoreCase(a, start, token)) {
      return false;
    }
    int before = trimEnd(a, from, start);
    return before == from || a[before - 1] == ',';
  }

  static boolean startsWithIgnoreCase(byte[] a, int from, int to, byte[] prefix) {
    return to - from >= prefix.length && regionEqualsIgnoreCase(a, from, prefix);
  }

  /** Whether [start, start + length) is {@code lowerName}, in any case. */
  static boolean nameIs(byte[] a, int start, int length, byte[] lowerName) {
    return length == lowerName.length && regionEqualsIgnoreCase(a, start, lowerName);
  }

  /** Whether [start, start + bytes.length) is {@code bytes}, byte for byte. */
  static boolean regionEquals(byte[] a, int start, byte[] bytes) {
    return java.util.Arrays.equals(a, start, start + bytes.length, bytes, 0, bytes.length);
  }

  static boolean regionEqualsIgnoreCase(byte[] a, int start, byte[] lower) {
    for (int k = 0; k < lower.length; k++) {
      byte b = a[start + k];
      byte l = lower[k];
      if (b != l && (l < 'a' || l > 'z' || (b | 0x20) != l)) {
        return false;
      }
    }
    return true;
  }

  static boolean regionEqualsIgnoreCase(byte[] a, int as, int bs, int n) {
    for (int k = 0; k < n; k++) {
      byte x = a[as + k];
      byte y = a[bs + k];
      if (x != y && ((x | 0x20) != (y | 0x20) || !Character.isLetter(x))) {
        return false;
      }
    }
    return true;
  }
}
