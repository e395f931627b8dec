package dev.llmstack.router.proxy;

import static dev.llmstack.router.proxy.AsciiBytes.regionEqualsIgnoreCase;
import static dev.llmstack.router.proxy.AsciiBytes.skipSpace;
import static dev.llmstack.router.proxy.AsciiBytes.trimEnd;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;
import java.util.Arrays;

/**
 * The lines of one HTTP/1.x head, found in place in a buffer: line 0 is the start line (request or
 * status line), the others header lines, each with where its name ends and whether it is passed on.
 * Reused from message to message by its framer ({@link RequestFramer}, {@link ResponseFramer});
 * positions are valid while the buffer is.
 */
final class HeadLines {

  /** Bits of {@link #connectionTokens}. */
  static final int CLOSE = 1;

  static final int KEEP_ALIVE = 2;

  private static final byte[] CLOSE_TOKEN = AsciiBytes.ascii("close");
  private static final byte[] KEEP_ALIVE_TOKEN = AsciiBytes.ascii("keep-alive");

  /** Stops at a control character other than HTAB (CR and LF included), and at DEL. */
  private static final ByteProcessor FIND_CONTROL =
      b -> ((b & 0xff) >= 0x20 && b != 0x7f) || b == '\t';

  /** RFC 9110 §5.6.2 tchar: the bytes a header name may have. */
  private static final boolean[] TOKEN = new boolean[128];

  static {
    for (char c = '0'; c <= '9'; c++) {
      TOKEN[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TOKEN[c] = true;
      TOKEN[c - 32] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TOKEN[c] = true;
    }
  }

  private int[] start = new int[16];
  private int[] end = new int[16];
  private int[] colon = new int[16];
  private boolean[] keep = new boolean[16];
  private int lines;

  /**
   * Finds the head that starts at {@code from}: returns where its body starts (after the empty
   * line), or -1 if the head is not complete before {@code to}. Empty lines before the start line
   * are skipped (RFC 9112 §2.2); a line may end with CRLF or a bare LF. With {@code strict} (a
   * client's request), a control character other than HTAB, or a CR not followed by LF, is an error
   * (RFC 9110 §5.5, RFC 9112 §2.2); an engine's response is only split at LF.
   *
   * @throws MalformedHttpException for a forbidden byte ({@code strict} only)
   */
  int find(ByteBuf buf, int from, int to, boolean strict) {
    lines = 0;
    int i = from;
    while (true) {
      int lf;
      int lineEnd;
      if (strict) {
        int c = buf.forEachByte(i, to - i, FIND_CONTROL);
        if (c < 0) {
          return -1;
        }
        byte b = buf.getByte(c);
        if (b == '\n') {
          lf = c;
        } else if (b == '\r') {
          if (c + 1 == to) {
            return -1;
          }
          if (buf.getByte(c + 1) != '\n') {
            throw new MalformedHttpException("a CR not followed by LF");
          }
          lf = c + 1;
        } else {
          throw new MalformedHttpException("a control character in the head");
        }
        lineEnd = c;
      } else {
        lf = buf.indexOf(i, to, (byte) '\n');
        if (lf < 0) {
          return -1;
        }
        lineEnd = lf > i && buf.getByte(lf - 1) == '\r' ? lf - 1 : lf;
      }
      if (lineEnd == i) {
        if (lines > 0) {
          return lf + 1;
        }
        i = lf + 1; // an empty line before the start line
        continue;
      }
      add(i, lineEnd);
      i = lf + 1;
    }
  }

  private void add(int s, int e) {
    if (lines == start.length) {
      start = Arrays.copyOf(start, lines * 2);
      end = Arrays.copyOf(end, lines * 2);
      colon = Arrays.copyOf(colon, lines * 2);
      keep = Arrays.copyOf(keep, lines * 2);
    }
    start[lines] = s;
    end[lines] = e;
    keep[lines] = true;
    lines++;
  }

  /**
   * Checks each header line's shape and finds its colon: no folding (obsolete, RFC 9112 §5.2), a
   * name, no whitespace before the colon (RFC 9112 §5.1); with {@code strict}, a name of token
   * characters only.
   */
  void splitHeaders(ByteBuf buf, boolean strict) {
    for (int l = 1; l < lines; l++) {
      int ls = start[l];
      byte first = buf.getByte(ls);
      if (first == ' ' || first == '\t') {
        throw new MalformedHttpException("a folded header line");
      }
      int c = buf.indexOf(ls, end[l], (byte) ':');
      if (c <= ls) {
        throw new MalformedHttpException("a header line without a name");
      }
      byte beforeColon = buf.getByte(c - 1);
      if (beforeColon == ' ' || beforeColon == '\t') {
        throw new MalformedHttpException("whitespace before a header's colon");
      }
      if (strict) {
        for (int k = ls; k < c; k++) {
          if (!isToken(buf.getByte(k))) {
            throw new MalformedHttpException("a header name with a character not allowed");
          }
        }
      }
      colon[l] = c;
    }
  }

  /** Whether {@code b} may be part of a token (a header name, a method). */
  static boolean isToken(byte b) {
    return b >= 0 && TOKEN[b];
  }

  int lines() {
    return lines;
  }

  int start(int line) {
    return start[line];
  }

  int end(int line) {
    return end[line];
  }

  /** Whether header line {@code line} is named {@code lowerName}, in any case. */
  boolean nameIs(ByteBuf buf, int line, byte[] lowerName) {
    return AsciiBytes.nameIs(buf, start[line], colon[line] - start[line], lowerName);
  }

  int nameLength(int line) {
    return colon[line] - start[line];
  }

  /** Where header line {@code line}'s value starts, leading whitespace skipped. */
  int valueStart(ByteBuf buf, int line) {
    return skipSpace(buf, colon[line] + 1, end[line]);
  }

  /** Where the value of header line {@code line} that starts at {@code from} ends, trimmed. */
  int valueEnd(ByteBuf buf, int line, int from) {
    return trimEnd(buf, from, end[line]);
  }

  boolean kept(int line) {
    return keep[line];
  }

  void drop(int line) {
    keep[line] = false;
  }

  /** Leaves out every header named {@code lowerName}. */
  void drop(ByteBuf buf, byte[] lowerName) {
    for (int l = 1; l < lines; l++) {
      if (nameIs(buf, l, lowerName)) {
        keep[l] = false;
      }
    }
  }

  /** Leaves out the headers named by the bytes [from, from + length) of {@code buf}, any case. */
  private void drop(ByteBuf buf, int from, int length) {
    for (int l = 1; l < lines; l++) {
      int ls = start[l];
      if (colon[l] - ls == length && regionEqualsIgnoreCase(buf, ls, buf, from, length)) {
        keep[l] = false;
      }
    }
  }

  /**
   * Reads a Connection header's value [vs, ve): returns {@link #CLOSE} and {@link #KEEP_ALIVE} bits
   * for those options, and leaves out every header the other options name, as they belong to this
   * hop (RFC 9110 §7.6.1).
   */
  int connectionTokens(ByteBuf buf, int vs, int ve) {
    int found = 0;
    for (int t = vs; t < ve; ) {
      int comma = buf.indexOf(t, ve, (byte) ',');
      int te = comma < 0 ? ve : comma;
      int ts = skipSpace(buf, t, te);
      int tEnd = trimEnd(buf, ts, te);
      if (AsciiBytes.nameIs(buf, ts, tEnd - ts, CLOSE_TOKEN)) {
        found |= CLOSE;
      } else if (AsciiBytes.nameIs(buf, ts, tEnd - ts, KEEP_ALIVE_TOKEN)) {
        found |= KEEP_ALIVE;
      } else if (tEnd > ts) {
        drop(buf, ts, tEnd - ts);
      }
      t = te + 1;
    }
    return found;
  }

  /**
   * An upper bound of the bytes the kept lines take with CRLF endings, start line included (its
   * line ending counted too).
   */
  int bytes() {
    return end[lines - 1] - start[0] + 2 * lines;
  }
}
