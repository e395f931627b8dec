package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/** Comparisons and parsing on the ASCII bytes of HTTP heads, in place in a buffer. */
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

  static int skipSpace(ByteBuf buf, int i, int end) {
    while (i < end) {
      byte b = buf.getByte(i);
      if (b != ' ' && b != '\t') {
        break;
      }
      i++;
    }
    return i;
  }

  static int trimEnd(ByteBuf buf, int start, int end) {
    while (end > start) {
      byte b = buf.getByte(end - 1);
      if (b != ' ' && b != '\t') {
        break;
      }
      end--;
    }
    return end;
  }

  /** A Content-Length value: decimal digits only (RFC 9110 §8.6), at most 18 of them. */
  static long parseLength(ByteBuf buf, int from, int to) {
    if (from == to || to - from > 18) {
      throw new MalformedHttpException("bad Content-Length");
    }
    long v = 0;
    for (int i = from; i < to; i++) {
      int d = buf.getByte(i) - '0';
      if (d < 0 || d > 9) {
        throw new MalformedHttpException("bad Content-Length");
      }
      v = v * 10 + d;
    }
    return v;
  }

  /** Whether the comma-separated list in [from, to) ends with {@code token}. */
  static boolean endsWithToken(ByteBuf buf, int from, int to, byte[] token) {
    int start = to - token.length;
    if (start < from || !regionEqualsIgnoreCase(buf, start, token)) {
      return false;
    }
    int before = trimEnd(buf, from, start);
    return before == from || buf.getByte(before - 1) == ',';
  }

  static boolean startsWithIgnoreCase(ByteBuf buf, int from, int to, byte[] prefix) {
    return to - from >= prefix.length && regionEqualsIgnoreCase(buf, from, prefix);
  }

  /** Whether [start, start + length) is {@code lowerName}, in any case. */
  static boolean nameIs(ByteBuf buf, int start, int length, byte[] lowerName) {
    return length == lowerName.length && regionEqualsIgnoreCase(buf, start, lowerName);
  }

  /** Whether [start, start + bytes.length) is {@code bytes}, byte for byte. */
  static boolean regionEquals(ByteBuf buf, int start, byte[] bytes) {
    for (int k = 0; k < bytes.length; k++) {
      if (buf.getByte(start + k) != bytes[k]) {
        return false;
      }
    }
    return true;
  }

  static boolean regionEqualsIgnoreCase(ByteBuf buf, int start, byte[] lower) {
    for (int k = 0; k < lower.length; k++) {
      byte b = buf.getByte(start + k);
      byte l = lower[k];
      if (b != l && (l < 'a' || l > 'z' || (b | 0x20) != l)) {
        return false;
      }
    }
    return true;
  }

  static boolean regionEqualsIgnoreCase(ByteBuf a, int as, ByteBuf b, int bs, int n) {
    for (int k = 0; k < n; k++) {
      byte x = a.getByte(as + k);
      byte y = b.getByte(bs + k);
      if (x != y && ((x | 0x20) != (y | 0x20) || !Character.isLetter(x))) {
        return false;
      }
    }
    return true;
  }
}
