package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Reads the framing of an engine's HTTP/1.1 response from its raw bytes, so the router relays the
 * response without decoding it into Netty's message objects and encoding it again. Decoding and
 * re-encoding each head, header map and body piece was about a sixth of the router's event loop
 * time for small JSON answers (a CPU profile, session 7), and it rewrote every SSE chunk's framing.
 *
 * <p>One framer per upstream connection, reused by each exchange on it. For each network read,
 * {@link #feed} says whether the response head is complete (then {@link #writeHead} copies its
 * status line and end-to-end header lines, hop-by-hop ones left out), which of the read's bytes are
 * body to relay verbatim (chunk framing included), and whether the response ended. The payload
 * bytes inside (chunk data, without the chunk sizes) also go to a {@link DataSink}, for the usage
 * numbers. Interim 1xx heads are skipped. Engine trailers are dropped, as before.
 */
final class ResponseFramer {

  /** How the body of the current response is delimited. */
  enum Framing {
    /** No body: 204, 304, or Content-Length: 0. */
    NONE,
    LENGTH,
    CHUNKED,
    /** No length and not chunked: the body ends when the engine closes the connection. */
    UNTIL_CLOSE
  }

  /** Receives the payload bytes of the body as they pass. */
  interface DataSink {
    void data(ByteBuf buf, int from, int to);
  }

  /** The response broke HTTP/1.1 framing or went over the router's limits. */
  static final class MalformedResponseException extends RuntimeException {
    MalformedResponseException(String message) {
      super(message, null, false, false);
    }
  }

  /** Largest response head accepted (status line and headers). */
  static final int MAX_HEAD_BYTES = 32 * 1024;

  private static final int MAX_CHUNK_LINE = 4096;

  private enum State {
    HEAD,
    LENGTH,
    CHUNK_SIZE,
    CHUNK_EXTENSION,
    CHUNK_DATA,
    CHUNK_DATA_END,
    TRAILERS,
    UNTIL_CLOSE,
    DONE
  }

  // Header names compared case-insensitively, as lower-case ASCII.
  private static final byte[] CONTENT_LENGTH = ascii("content-length");
  private static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
  private static final byte[] CONNECTION = ascii("connection");
  private static final byte[] CONTENT_TYPE = ascii("content-type");
  private static final byte[] CHUNKED = ascii("chunked");
  private static final byte[] CLOSE = ascii("close");
  private static final byte[] KEEP_ALIVE = ascii("keep-alive");
  private static final byte[] EVENT_STREAM = ascii("text/event-stream");

  /**
   * Never relayed: hop-by-hop headers (RFC 9110 §7.6.1), and the headers the router sets itself on
   * every response (ProxyExchange), so the engine's copies never reach the client twice.
   */
  private static final byte[][] DROPPED = {
    CONNECTION,
    KEEP_ALIVE,
    ascii("proxy-connection"),
    ascii("proxy-authenticate"),
    ascii("proxy-authorization"),
    ascii("te"),
    ascii("trailer"),
    ascii("upgrade"),
    ascii(ProxyExchange.ENGINE_HEADER),
    ascii(ProxyExchange.ROUTE_HEADER),
    ascii(ProxyExchange.REQUEST_ID_HEADER)
  };

  private final ByteBufAllocator alloc;
  private DataSink sink;
  private State state = State.HEAD;

  // The current response's head.
  private int status;
  private boolean keepAlive;
  private boolean eventStream;
  private Framing framing;
  private long remaining; // body bytes left (LENGTH) or chunk bytes left (CHUNK_DATA)
  private int chunkLine; // bytes of the current chunk-size line read so far
  private int sizeDigits;
  private int trailerLine; // bytes of the current trailer line read so far
  private boolean sawTrailers;

  // The head's lines in `source`: [lineStart[i], lineEnd[i]) without the line end; line 0 is the
  // status line. Valid until the next feed.
  private int[] lineStart = new int[16];
  private int[] lineEnd = new int[16];
  private int[] colon = new int[16]; // where each header line's name ends
  private boolean[] keep = new boolean[16];
  private int lines;

  private boolean sawBytes; // since the last reset

  /** Part of a head that did not arrive in one read. */
  private ByteBuf partialHead;

  // What the last feed found.
  private ByteBuf source;
  private boolean headReady;
  private int forwardFrom;
  private int forwardTo;
  private boolean ended;
  private boolean finalCrlf;
  private int dataBytes;
  private boolean extraBytes;

  ResponseFramer(ByteBufAllocator alloc) {
    this.alloc = alloc;
  }

  /** Starts on a new response; {@code sink} gets its payload bytes (may be null). */
  void reset(DataSink sink) {
    this.sink = sink;
    state = State.HEAD;
    releasePartialHead();
    source = null;
    headReady = false;
    ended = false;
    extraBytes = false;
    sawBytes = false;
  }

  /** Frees what the framer holds; the connection is gone. */
  void release() {
    releasePartialHead();
    source = null;
  }

  /**
   * Reads one network read of the response. The caller keeps owning {@code in}; the ranges this
   * reports are in {@link #source()}, valid until the next feed or reset.
   *
   * @throws MalformedResponseException if the bytes break HTTP/1.1 response framing
   */
  void feed(ByteBuf in) {
    sawBytes |= in.isReadable();
    headReady = false;
    finalCrlf = false;
    dataBytes = 0;
    ByteBuf buf = in;
    int i = in.readerIndex();
    int end = in.writerIndex();
    forwardFrom = i;
    forwardTo = i;
    if (state == State.HEAD) {
      if (partialHead != null) {
        partialHead.writeBytes(in, i, end - i);
        buf = partialHead;
        i = buf.readerIndex();
        end = buf.writerIndex();
      }
      source = buf;
      int bodyStart;
      while (true) {
        bodyStart = parseHead(buf, i, end);
        if (bodyStart < 0) {
          if (end - i > MAX_HEAD_BYTES) {
            throw new MalformedResponseException(
                "response head larger than " + MAX_HEAD_BYTES + " bytes");
          }
          if (partialHead == null) {
            partialHead = alloc.heapBuffer(Math.max(256, 2 * (end - i)));
            partialHead.writeBytes(buf, i, end - i);
          } else {
            partialHead.readerIndex(i);
          }
          forwardFrom = forwardTo = end;
          return;
        }
        if (status >= 100 && status < 200) {
          if (status == 101) {
            throw new MalformedResponseException("unexpected 101 Switching Protocols");
          }
          i = bodyStart; // an interim response: nothing to relay, the final head follows
          continue;
        }
        break;
      }
      headReady = true;
      i = bodyStart;
      forwardFrom = forwardTo = i;
      state = bodyState();
    } else {
      source = buf;
      releasePartialHead(); // its body bytes, if any, were relayed as retained slices
    }
    consumeBody(buf, i, end);
  }

  private State bodyState() {
    return switch (framing) {
      case NONE -> State.DONE;
      case LENGTH -> remaining == 0 ? State.DONE : State.LENGTH;
      case CHUNKED -> {
        chunkLine = 0;
        sizeDigits = 0;
        remaining = 0;
        sawTrailers = false;
        yield State.CHUNK_SIZE;
      }
      case UNTIL_CLOSE -> State.UNTIL_CLOSE;
    };
  }

  private void consumeBody(ByteBuf buf, int i, int end) {
    if (state == State.DONE) {
      messageEnded(i, end);
      return;
    }
    while (i < end) {
      switch (state) {
        case LENGTH, UNTIL_CLOSE -> {
          int n = state == State.UNTIL_CLOSE ? end - i : (int) Math.min(remaining, end - i);
          data(buf, i, i + n);
          i += n;
          forwardTo = i;
          if (state == State.LENGTH) {
            remaining -= n;
            if (remaining == 0) {
              state = State.DONE;
            }
          }
        }
        case CHUNK_SIZE -> {
          byte b = buf.getByte(i++);
          chunkLength();
          int digit = Character.digit(b, 16);
          if (digit >= 0) {
            if (++sizeDigits > 15) {
              throw new MalformedResponseException("chunk size too large");
            }
            remaining = remaining << 4 | digit;
          } else if (sizeDigits == 0) {
            throw new MalformedResponseException("chunk size missing");
          } else if (b == '\n') {
            chunkSizeRead();
          } else if (b == ';' || b == ' ' || b == '\t' || b == '\r') {
            state = State.CHUNK_EXTENSION;
            if (b == '\r') {
              chunkLine = -1; // marks a CR seen: only LF may follow
            }
          } else {
            throw new MalformedResponseException("bad chunk size");
          }
          forwardTo = i;
        }
        case CHUNK_EXTENSION -> {
          byte b = buf.getByte(i++);
          if (b == '\n') {
            chunkSizeRead();
          } else if (chunkLine < 0) {
            throw new MalformedResponseException("CR without LF after a chunk size");
          } else if (b == '\r') {
            chunkLine = -1;
          } else {
            chunkLength();
          }
          forwardTo = i;
        }
        case CHUNK_DATA -> {
          int n = (int) Math.min(remaining, end - i);
          data(buf, i, i + n);
          i += n;
          forwardTo = i;
          remaining -= n;
          if (remaining == 0) {
            state = State.CHUNK_DATA_END;
            chunkLine = 0;
          }
        }
        case CHUNK_DATA_END -> {
          byte b = buf.getByte(i++);
          if (b == '\n') {
            state = State.CHUNK_SIZE;
            chunkLine = 0;
            sizeDigits = 0;
          } else if (b != '\r' || chunkLine++ > 0) {
            throw new MalformedResponseException("chunk data longer than its size");
          }
          forwardTo = i;
        }
        case TRAILERS -> {
          // Not relayed: the client gets the empty line that ends them, and no trailers.
          byte b = buf.getByte(i);
          if (b == '\n') {
            if (trailerLine == 0) {
              state = State.DONE;
              if (!sawTrailers && i - forwardTo == 1 && buf.getByte(forwardTo) == '\r') {
                forwardTo = i + 1; // no trailers: the final CRLF goes on with the rest
              } else {
                finalCrlf = true;
              }
            } else {
              sawTrailers = true;
              trailerLine = 0;
            }
          } else if (b != '\r' && ++trailerLine > MAX_HEAD_BYTES) {
            throw new MalformedResponseException("trailers too large");
          }
          i++;
        }
        case DONE -> {
          messageEnded(i, end);
          return;
        }
        default -> throw new IllegalStateException(state.name());
      }
    }
    if (state == State.DONE) {
      messageEnded(end, end);
    }
  }

  private void chunkLength() {
    if (++chunkLine > MAX_CHUNK_LINE) {
      throw new MalformedResponseException("chunk size line too long");
    }
  }

  private void chunkSizeRead() {
    if (remaining == 0) {
      state = State.TRAILERS;
      trailerLine = 0;
    } else {
      state = State.CHUNK_DATA;
    }
  }

  private void messageEnded(int i, int end) {
    ended = true;
    extraBytes |= i < end; // bytes after the response: the connection can't be trusted again
  }

  private void data(ByteBuf buf, int from, int to) {
    if (to > from) {
      dataBytes += to - from;
      if (sink != null) {
        sink.data(buf, from, to);
      }
    }
  }

  /**
   * Parses a head starting at {@code from}; returns where its body starts, or -1 when the head is
   * not complete yet.
   */
  private int parseHead(ByteBuf buf, int from, int end) {
    lines = 0;
    int i = from;
    while (true) {
      int lf = buf.indexOf(i, end, (byte) '\n');
      if (lf < 0) {
        return -1;
      }
      int lineEndAt = lf > i && buf.getByte(lf - 1) == '\r' ? lf - 1 : lf;
      if (lineEndAt == i && lines > 0) {
        interpretHead(buf);
        return lf + 1;
      }
      if (lineEndAt == i) {
        // Blank lines before a status line are tolerated (RFC 9112 §2.2).
        i = lf + 1;
        continue;
      }
      addLine(i, lineEndAt);
      i = lf + 1;
    }
  }

  private void addLine(int start, int end) {
    if (lines == lineStart.length) {
      lineStart = java.util.Arrays.copyOf(lineStart, lines * 2);
      lineEnd = java.util.Arrays.copyOf(lineEnd, lines * 2);
      colon = java.util.Arrays.copyOf(colon, lines * 2);
      keep = java.util.Arrays.copyOf(keep, lines * 2);
    }
    lineStart[lines] = start;
    lineEnd[lines] = end;
    keep[lines] = true;
    lines++;
  }

  private void interpretHead(ByteBuf buf) {
    int s = lineStart[0];
    int e = lineEnd[0];
    // "HTTP/1.x SSS reason"
    if (e - s < 12
        || buf.getByte(s) != 'H'
        || buf.getByte(s + 1) != 'T'
        || buf.getByte(s + 2) != 'T'
        || buf.getByte(s + 3) != 'P'
        || buf.getByte(s + 4) != '/'
        || buf.getByte(s + 5) != '1'
        || buf.getByte(s + 6) != '.'
        || buf.getByte(s + 8) != ' '
        || (e - s > 12 && buf.getByte(s + 12) != ' ')) {
      throw new MalformedResponseException("bad status line");
    }
    int minor = buf.getByte(s + 7) - '0';
    if (minor != 0 && minor != 1) {
      throw new MalformedResponseException("bad HTTP version");
    }
    status = 0;
    for (int k = s + 9; k < s + 12; k++) {
      int d = buf.getByte(k) - '0';
      if (d < 0 || d > 9) {
        throw new MalformedResponseException("bad status code");
      }
      status = status * 10 + d;
    }
    // First every line's shape, so the names are known before any is looked up.
    for (int l = 1; l < lines; l++) {
      int ls = lineStart[l];
      byte first = buf.getByte(ls);
      if (first == ' ' || first == '\t') {
        throw new MalformedResponseException("folded header line");
      }
      int c = buf.indexOf(ls, lineEnd[l], (byte) ':');
      if (c <= ls) {
        throw new MalformedResponseException("header line without a name");
      }
      byte beforeColon = buf.getByte(c - 1);
      if (beforeColon == ' ' || beforeColon == '\t') {
        throw new MalformedResponseException("whitespace before a header's colon");
      }
      colon[l] = c;
    }
    long length = -1;
    boolean chunked = false;
    boolean hasTransferEncoding = false;
    boolean close = false;
    boolean keepAliveToken = false;
    eventStream = false;
    for (int l = 1; l < lines; l++) {
      int ls = lineStart[l];
      int vs = skipSpace(buf, colon[l] + 1, lineEnd[l]);
      int ve = trimEnd(buf, vs, lineEnd[l]);
      int nameLength = colon[l] - ls;
      if (nameIs(buf, ls, nameLength, CONTENT_LENGTH)) {
        long v = parseLength(buf, vs, ve);
        if (length >= 0 && v != length) {
          throw new MalformedResponseException("conflicting Content-Length values");
        }
        length = v;
      } else if (nameIs(buf, ls, nameLength, TRANSFER_ENCODING)) {
        hasTransferEncoding = true;
        // Chunked only if it is the last coding (RFC 9112 §6.3).
        chunked = endsWithToken(buf, vs, ve, CHUNKED);
      } else if (nameIs(buf, ls, nameLength, CONTENT_TYPE)) {
        eventStream = startsWithIgnoreCase(buf, vs, ve, EVENT_STREAM);
      } else if (nameIs(buf, ls, nameLength, CONNECTION)) {
        for (int t = vs; t < ve; ) {
          int comma = buf.indexOf(t, ve, (byte) ',');
          int te = comma < 0 ? ve : comma;
          int ts = skipSpace(buf, t, te);
          int tEnd = trimEnd(buf, ts, te);
          if (nameIs(buf, ts, tEnd - ts, CLOSE)) {
            close = true;
          } else if (nameIs(buf, ts, tEnd - ts, KEEP_ALIVE)) {
            keepAliveToken = true;
          } else if (tEnd > ts) {
            dropHeader(buf, ts, tEnd - ts); // named by Connection: this hop's (RFC 9110 §7.6.1)
          }
          t = te + 1;
        }
      }
      for (byte[] dropped : DROPPED) {
        if (nameIs(buf, ls, nameLength, dropped)) {
          keep[l] = false;
          break;
        }
      }
    }
    keepAlive = !close && (minor == 1 || keepAliveToken);
    if (status < 200 || status == 204 || status == 304) {
      framing = Framing.NONE;
    } else if (hasTransferEncoding) {
      // Transfer-Encoding overrides Content-Length, which must then not go on (RFC 9112 §6.3).
      dropHeader(buf, CONTENT_LENGTH);
      if (chunked) {
        framing = Framing.CHUNKED;
      } else {
        framing = Framing.UNTIL_CLOSE;
        dropHeader(buf, TRANSFER_ENCODING);
      }
    } else if (length >= 0) {
      framing = length == 0 ? Framing.NONE : Framing.LENGTH;
      remaining = length;
    } else {
      framing = Framing.UNTIL_CLOSE;
    }
    if (framing == Framing.UNTIL_CLOSE) {
      keepAlive = false;
    }
  }

  private void dropHeader(ByteBuf buf, byte[] lowerName) {
    for (int l = 1; l < lines; l++) {
      if (nameIs(buf, lineStart[l], colon[l] - lineStart[l], lowerName)) {
        keep[l] = false;
      }
    }
  }

  /** Drops the headers named by the bytes [from, from + length) of {@code buf}, in any case. */
  private void dropHeader(ByteBuf buf, int from, int length) {
    for (int l = 1; l < lines; l++) {
      int ls = lineStart[l];
      if (colon[l] - ls == length && regionEqualsIgnoreCase(buf, ls, buf, from, length)) {
        keep[l] = false;
      }
    }
  }

  /**
   * Writes the response head as the client gets it, up to and not including the empty line: the
   * status line as HTTP/1.1 (the router speaks 1.1 to its clients whatever the engine speaks), and
   * the end-to-end header lines, each ended with CRLF. Only right after a feed that reported the
   * head.
   */
  void writeHead(ByteBuf out) {
    writeHead(out, false);
  }

  /**
   * As {@link #writeHead(ByteBuf)}; with {@code withoutTransferEncoding}, also without the engine's
   * Transfer-Encoding, for a client that gets the payload alone.
   */
  void writeHead(ByteBuf out, boolean withoutTransferEncoding) {
    if (withoutTransferEncoding) {
      dropHeader(source, TRANSFER_ENCODING);
    }
    int s = lineStart[0];
    out.writeBytes(HTTP_11);
    out.writeBytes(source, s + 8, lineEnd[0] - s - 8);
    out.writeShort(CRLF);
    for (int l = 1; l < lines; l++) {
      if (keep[l]) {
        out.writeBytes(source, lineStart[l], lineEnd[l] - lineStart[l]);
        out.writeShort(CRLF);
      }
    }
  }

  /** An upper bound of {@link #writeHead}'s size. */
  int headBytes() {
    return lineEnd[lines - 1] - lineStart[0] + 2 * lines;
  }

  private static final byte[] HTTP_11 = ascii("HTTP/1.1");
  static final short CRLF = ('\r' << 8) | '\n';

  // ---- what the last feed found ----

  ByteBuf source() {
    return source;
  }

  boolean headReady() {
    return headReady;
  }

  int status() {
    return status;
  }

  boolean keepAlive() {
    return keepAlive;
  }

  boolean eventStream() {
    return eventStream;
  }

  Framing framing() {
    return framing;
  }

  /** Start of the body bytes to relay as they are. */
  int forwardFrom() {
    return forwardFrom;
  }

  /** End of the body bytes to relay as they are. */
  int forwardTo() {
    return forwardTo;
  }

  /** Whether any byte of the response arrived since the last reset. */
  boolean sawBytes() {
    return sawBytes;
  }

  /** The response ended in the last feed. */
  boolean ended() {
    return ended;
  }

  /** The client needs a CRLF after the relayed bytes to end the chunked body (trailers dropped). */
  boolean finalCrlf() {
    return finalCrlf;
  }

  /** Payload bytes in the last feed (chunk sizes not counted). */
  int dataBytes() {
    return dataBytes;
  }

  /** The engine sent bytes after the response ended: its connection is not reused. */
  boolean extraBytes() {
    return extraBytes;
  }

  /**
   * Whether what the client got so far ends at a chunk boundary, so the router can still add a
   * chunk of its own (a mid-stream error) and end the body properly.
   */
  boolean atChunkBoundary() {
    return framing == Framing.UNTIL_CLOSE
        || (framing == Framing.CHUNKED && state == State.CHUNK_SIZE && chunkLine == 0);
  }

  private void releasePartialHead() {
    if (partialHead != null) {
      partialHead.release();
      partialHead = null;
    }
  }

  // ---- bytes ----

  private static byte[] ascii(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static int skipSpace(ByteBuf buf, int i, int end) {
    while (i < end) {
      byte b = buf.getByte(i);
      if (b != ' ' && b != '\t') {
        break;
      }
      i++;
    }
    return i;
  }

  private static int trimEnd(ByteBuf buf, int start, int end) {
    while (end > start) {
      byte b = buf.getByte(end - 1);
      if (b != ' ' && b != '\t') {
        break;
      }
      end--;
    }
    return end;
  }

  private static long parseLength(ByteBuf buf, int from, int to) {
    if (from == to || to - from > 18) {
      throw new MalformedResponseException("bad Content-Length");
    }
    long v = 0;
    for (int i = from; i < to; i++) {
      int d = buf.getByte(i) - '0';
      if (d < 0 || d > 9) {
        throw new MalformedResponseException("bad Content-Length");
      }
      v = v * 10 + d;
    }
    return v;
  }

  /** Whether the comma-separated list in [from, to) ends with {@code token}. */
  private static boolean endsWithToken(ByteBuf buf, int from, int to, byte[] token) {
    int start = to - token.length;
    if (start < from || !regionEqualsIgnoreCase(buf, start, token)) {
      return false;
    }
    int before = trimEnd(buf, from, start);
    return before == from || buf.getByte(before - 1) == ',';
  }

  private static boolean startsWithIgnoreCase(ByteBuf buf, int from, int to, byte[] prefix) {
    return to - from >= prefix.length && regionEqualsIgnoreCase(buf, from, prefix);
  }

  private static boolean nameIs(ByteBuf buf, int start, int length, byte[] lowerName) {
    return length == lowerName.length && regionEqualsIgnoreCase(buf, start, lowerName);
  }

  private static boolean regionEqualsIgnoreCase(ByteBuf buf, int start, byte[] lower) {
    for (int k = 0; k < lower.length; k++) {
      byte b = buf.getByte(start + k);
      byte l = lower[k];
      if (b != l && (l < 'a' || l > 'z' || (b | 0x20) != l)) {
        return false;
      }
    }
    return true;
  }

  private static boolean regionEqualsIgnoreCase(ByteBuf a, int as, ByteBuf b, int bs, int n) {
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
