package dev.llmstack.router.proxy;

import static dev.llmstack.router.proxy.AsciiBytes.regionEqualsIgnoreCase;
import static dev.llmstack.router.proxy.AsciiBytes.skipSpace;
import static dev.llmstack.router.proxy.AsciiBytes.trimEnd;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;

/**
 * The lines of one HTTP/1.x head, copied out of a buffer into an array: line 0 is the start line
 * (request or status line), the others header lines, each with where its name ends and whether it
 * is passed on. One instance serves every framer ({@link RequestFramer}, {@link ResponseFramer}) of
 * a thread ({@link #shared}); what it holds is valid until the next {@link #find} on that thread.
 */
final class HeadLines {

  /**
   * A head is found, read and copied out within one call on its connection's event loop, so the
   * connections of one loop can share one instance. One per connection cost about 1.3 KB of heap
   * each, which a young collection copied again and again while the connection lived (an age table
   * of the router's collections, session 10).
   */
  private static final FastThreadLocal<HeadLines> SHARED =
      new FastThreadLocal<>() {
        @Override
        protected HeadLines initialValue() {
          return new HeadLines();
        }
      };

  /** This thread's instance. */
  static HeadLines shared() {
    return SHARED.get();
  }

  /** Bits of {@link #connectionTokens}. */
  static final int CLOSE = 1;

  static final int KEEP_ALIVE = 2;

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

  /** Bytes a head line may hold (RFC 9110 §5.5): not a control character other than HTAB. */
  private static final boolean[] LINE_BYTE = new boolean[256];

  static {
    for (int b = 0x20; b < 256; b++) {
      LINE_BYTE[b] = b != 0x7f;
    }
    LINE_BYTE['\t'] = true;
  }

  /** The head's bytes, copied out of the buffer; every position here is an index into it. */
  private byte[] bytes = new byte[1024];

  private int[] start = new int[16];
  private int[] end = new int[16];
  private int[] colon = new int[16];
  private boolean[] keep = new boolean[16];
  private int lines;

  /**
   * Finds the head that starts at {@code from} in {@code buf}: returns its length (where its body
   * starts, relative to {@code from}), or -1 if the head is not complete before {@code to}. The
   * head's bytes are then in {@link #bytes()} from index 0, and every position this class gives is
   * an index there. Empty lines before the start line are skipped (RFC 9112 §2.2). With {@code
   * strict} (a client's request), lines end with CRLF, and any other control character than HTAB is
   * an error (RFC 9110 §5.5, RFC 9112 §2.2); an engine's response is split at LF, a CR before it
   * dropped.
   *
   * @throws MalformedHttpException for a forbidden byte ({@code strict} only)
   */
  int find(ByteBuf buf, int from, int to, boolean strict) {
    // Copied a piece at a time: a read may carry a large body behind a small head.
    int n = to - from;
    int have = 0;
    int want = Math.min(n, 1024);
    while (true) {
      if (bytes.length < want) {
        bytes = Arrays.copyOf(bytes, Math.max(want, bytes.length * 2));
      }
      buf.getBytes(from + have, bytes, have, want - have);
      have = want;
      int length = scan(have, strict);
      if (length >= 0 || have == n) {
        return length;
      }
      want = (int) Math.min(n, 4L * have);
    }
  }

  private int scan(int to, boolean strict) {
    byte[] a = bytes;
    lines = 0;
    int i = 0;
    while (true) {
      int lf;
      int lineEnd;
      if (strict) {
        int c = i;
        while (c < to && LINE_BYTE[a[c] & 0xff]) {
          c++;
        }
        if (c == to) {
          return -1;
        }
        if (a[c] == '\n') {
          // Netty's decoder refuses this too: a front end that splits lines differently could
          // see other requests in the same bytes.
          throw new MalformedHttpException("a line ended by LF without CR");
        } else if (a[c] == '\r') {
          if (c + 1 == to) {
            return -1;
          }
          if (a[c + 1] != '\n') {
            throw new MalformedHttpException("a CR not followed by LF");
          }
          lf = c + 1;
        } else {
          throw new MalformedHttpException("a control character in the head");
        }
        lineEnd = c;
      } else {
        lf = AsciiBytes.indexOf(a, i, to, (byte) '\n');
        if (lf < 0) {
          return -1;
        }
        lineEnd = lf > i && a[lf - 1] == '\r' ? lf - 1 : lf;
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
  void splitHeaders(boolean strict) {
    byte[] a = bytes;
    for (int l = 1; l < lines; l++) {
      int ls = start[l];
      if (a[ls] == ' ' || a[ls] == '\t') {
        throw new MalformedHttpException("a folded header line");
      }
      int c;
      if (strict) {
        // One pass over the name: token characters up to the colon.
        c = ls;
        int e = end[l];
        while (c < e && isToken(a[c])) {
          c++;
        }
        if (c < e && a[c] != ':') {
          throw new MalformedHttpException(
              a[c] == ' ' || a[c] == '\t'
                  ? "whitespace before a header's colon"
                  : "a header name with a character not allowed");
        }
        if (c == e) {
          c = -1;
        }
      } else {
        c = AsciiBytes.indexOf(a, ls, end[l], (byte) ':');
      }
      if (c <= ls) {
        throw new MalformedHttpException("a header line without a name");
      }
      if (a[c - 1] == ' ' || a[c - 1] == '\t') {
        throw new MalformedHttpException("whitespace before a header's colon");
      }
      colon[l] = c;
    }
  }

  /** Whether {@code b} may be part of a token (a header name, a method). */
  static boolean isToken(byte b) {
    return b >= 0 && TOKEN[b];
  }

  /** The bytes of the head last found. */
  byte[] bytes() {
    return bytes;
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

  int nameStart(int line) {
    return start[line];
  }

  int nameLength(int line) {
    return colon[line] - start[line];
  }

  /** Whether header line {@code line} is named {@code lowerName}, in any case. */
  boolean nameIs(int line, byte[] lowerName) {
    return AsciiBytes.nameIs(bytes, start[line], colon[line] - start[line], lowerName);
  }

  /** Where header line {@code line}'s value starts, leading whitespace skipped. */
  int valueStart(int line) {
    return skipSpace(bytes, colon[line] + 1, end[line]);
  }

  /** Where the value of header line {@code line} that starts at {@code from} ends, trimmed. */
  int valueEnd(int line, int from) {
    return trimEnd(bytes, from, end[line]);
  }

  boolean kept(int line) {
    return keep[line];
  }

  void drop(int line) {
    keep[line] = false;
  }

  /** Leaves out every header named {@code lowerName}. */
  void drop(byte[] lowerName) {
    for (int l = 1; l < lines; l++) {
      if (nameIs(l, lowerName)) {
        keep[l] = false;
      }
    }
  }

  /** Leaves out the headers named by the bytes [from, from + length), in any case. */
  private void drop(int from, int length) {
    for (int l = 1; l < lines; l++) {
      int ls = start[l];
      if (colon[l] - ls == length && regionEqualsIgnoreCase(bytes, ls, from, length)) {
        keep[l] = false;
      }
    }
  }

  /**
   * Reads a Connection header's value [vs, ve): returns {@link #CLOSE} and {@link #KEEP_ALIVE} bits
   * for those options, and leaves out every header the other options name, as they belong to this
   * hop (RFC 9110 §7.6.1).
   */
  int connectionTokens(int vs, int ve) {
    byte[] a = bytes;
    int found = 0;
    for (int t = vs; t < ve; ) {
      int comma = AsciiBytes.indexOf(a, t, ve, (byte) ',');
      int te = comma < 0 ? ve : comma;
      int ts = skipSpace(a, t, te);
      int tEnd = trimEnd(a, ts, te);
      if (AsciiBytes.nameIs(a, ts, tEnd - ts, HeaderNames.CLOSE)) {
        found |= CLOSE;
      } else if (AsciiBytes.nameIs(a, ts, tEnd - ts, HeaderNames.KEEP_ALIVE)) {
        found |= KEEP_ALIVE;
      } else if (tEnd > ts) {
        drop(ts, tEnd - ts);
      }
      t = te + 1;
    }
    return found;
  }

  /**
   * An upper bound of the bytes the kept lines take with CRLF endings, start line included (its
   * line ending counted too).
   */
  int bytesWithCrlf() {
    return end[lines - 1] - start[0] + 2 * lines;
  }

  /** Writes header line {@code line} as it came, without its line ending. */
  void writeLine(ByteBuf out, int line) {
    out.writeBytes(bytes, start[line], end[line] - start[line]);
  }
}
