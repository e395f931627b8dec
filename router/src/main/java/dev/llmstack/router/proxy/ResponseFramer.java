package dev.llmstack.router.proxy;

import static dev.llmstack.router.proxy.AsciiBytes.ascii;
import static dev.llmstack.router.proxy.AsciiBytes.endsWithToken;
import static dev.llmstack.router.proxy.AsciiBytes.parseLength;
import static dev.llmstack.router.proxy.AsciiBytes.startsWithIgnoreCase;
import static dev.llmstack.router.proxy.HeaderNames.CHUNKED;
import static dev.llmstack.router.proxy.HeaderNames.CONNECTION;
import static dev.llmstack.router.proxy.HeaderNames.CONTENT_LENGTH;
import static dev.llmstack.router.proxy.HeaderNames.CONTENT_TYPE;
import static dev.llmstack.router.proxy.HeaderNames.KEEP_ALIVE;
import static dev.llmstack.router.proxy.HeaderNames.PROXY_AUTHENTICATE;
import static dev.llmstack.router.proxy.HeaderNames.PROXY_AUTHORIZATION;
import static dev.llmstack.router.proxy.HeaderNames.PROXY_CONNECTION;
import static dev.llmstack.router.proxy.HeaderNames.REQUEST_ID;
import static dev.llmstack.router.proxy.HeaderNames.TE;
import static dev.llmstack.router.proxy.HeaderNames.TRAILER;
import static dev.llmstack.router.proxy.HeaderNames.TRANSFER_ENCODING;
import static dev.llmstack.router.proxy.HeaderNames.UPGRADE;

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

  /** Largest response head accepted (status line and headers). */
  static final int MAX_HEAD_BYTES = 32 * 1024;

  private enum State {
    HEAD,
    LENGTH,
    CHUNKED,
    UNTIL_CLOSE,
    DONE
  }

  private static final byte[] EVENT_STREAM = ascii("text/event-stream");

  /**
   * Never relayed: hop-by-hop headers (RFC 9110 §7.6.1), and the headers the router sets itself on
   * every response (ProxyExchange), so the engine's copies never reach the client twice.
   */
  private static final byte[][] DROPPED = {
    CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    UPGRADE,
    ascii(ProxyExchange.ENGINE_HEADER),
    ascii(ProxyExchange.ROUTE_HEADER),
    REQUEST_ID
  };

  private final ByteBufAllocator alloc;
  private DataSink sink;
  private State state = State.HEAD;

  // The current response's head.
  private int status;
  private boolean keepAlive;
  private boolean eventStream;
  private Framing framing;
  private long remaining; // body bytes left (LENGTH)
  private final ChunkedBody chunks = new ChunkedBody(MAX_HEAD_BYTES, false);
  private final DataSink payload = this::data;

  // The head's lines: this thread's parser (HeadLines.shared), valid right after the feed that
  // reported the head, until any framer on the thread parses another.
  private HeadLines head;

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
   * The caller is done with what the last feed reported. A head that came in pieces was gathered
   * into a buffer of the framer's own; once the head is read, its bytes have been relayed (copied,
   * or as retained slices), so the buffer goes now, not at the next feed, which may never come on a
   * connection left idle in the pool.
   */
  void readDone() {
    if (state != State.HEAD) {
      releasePartialHead();
    }
    source = null;
  }

  /**
   * Reads one network read of the response. The caller keeps owning {@code in}; the ranges this
   * reports are in {@link #source()}, valid until {@link #readDone}, the next feed or reset.
   *
   * @throws MalformedHttpException if the bytes break HTTP/1.1 response framing
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
            throw new MalformedHttpException(
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
            throw new MalformedHttpException("unexpected 101 Switching Protocols");
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
        chunks.start();
        yield State.CHUNKED;
      }
      case UNTIL_CLOSE -> State.UNTIL_CLOSE;
    };
  }

  private void consumeBody(ByteBuf buf, int i, int end) {
    if (state == State.CHUNKED) {
      i = chunks.consume(buf, i, end, payload);
      forwardTo = chunks.relayTo();
      finalCrlf = chunks.finalCrlf();
      if (chunks.done()) {
        state = State.DONE;
      }
    }
    while (i < end && state != State.DONE) {
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
    if (state == State.DONE) {
      messageEnded(i, end);
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
    head = HeadLines.shared();
    int length = head.find(buf, from, Math.min(end, from + MAX_HEAD_BYTES + 1), false);
    if (length < 0) {
      return -1;
    }
    interpretHead();
    return from + length;
  }

  private void interpretHead() {
    byte[] buf = head.bytes();
    int s = head.start(0);
    int e = head.end(0);
    // "HTTP/1.x SSS reason"
    if (e - s < 12
        || buf[s] != 'H'
        || buf[s + 1] != 'T'
        || buf[s + 2] != 'T'
        || buf[s + 3] != 'P'
        || buf[s + 4] != '/'
        || buf[s + 5] != '1'
        || buf[s + 6] != '.'
        || buf[s + 8] != ' '
        || (e - s > 12 && buf[s + 12] != ' ')) {
      throw new MalformedHttpException("bad status line");
    }
    int minor = buf[s + 7] - '0';
    if (minor != 0 && minor != 1) {
      throw new MalformedHttpException("bad HTTP version");
    }
    status = 0;
    for (int k = s + 9; k < s + 12; k++) {
      int d = buf[k] - '0';
      if (d < 0 || d > 9) {
        throw new MalformedHttpException("bad status code");
      }
      status = status * 10 + d;
    }
    // First every line's shape, so the names are known before any is looked up.
    head.splitHeaders(false);
    long length = -1;
    boolean chunked = false;
    boolean hasTransferEncoding = false;
    int connection = 0;
    eventStream = false;
    for (int l = 1; l < head.lines(); l++) {
      int vs = head.valueStart(l);
      int ve = head.valueEnd(l, vs);
      if (head.nameIs(l, CONTENT_LENGTH)) {
        long v = parseLength(buf, vs, ve);
        if (length >= 0 && v != length) {
          throw new MalformedHttpException("conflicting Content-Length values");
        }
        length = v;
      } else if (head.nameIs(l, TRANSFER_ENCODING)) {
        hasTransferEncoding = true;
        // Chunked only if it is the last coding (RFC 9112 §6.3).
        chunked = endsWithToken(buf, vs, ve, CHUNKED);
      } else if (head.nameIs(l, CONTENT_TYPE)) {
        eventStream = startsWithIgnoreCase(buf, vs, ve, EVENT_STREAM);
      } else if (head.nameIs(l, CONNECTION)) {
        connection |= head.connectionTokens(vs, ve);
      }
      for (byte[] dropped : DROPPED) {
        if (head.nameIs(l, dropped)) {
          head.drop(l);
          break;
        }
      }
    }
    keepAlive =
        (connection & HeadLines.CLOSE) == 0
            && (minor == 1 || (connection & HeadLines.KEEP_ALIVE) != 0);
    if (status < 200 || status == 204 || status == 304) {
      framing = Framing.NONE;
    } else if (hasTransferEncoding) {
      // Transfer-Encoding overrides Content-Length, which must then not go on (RFC 9112 §6.3).
      head.drop(CONTENT_LENGTH);
      if (chunked) {
        framing = Framing.CHUNKED;
      } else {
        framing = Framing.UNTIL_CLOSE;
        head.drop(TRANSFER_ENCODING);
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
      head.drop(TRANSFER_ENCODING);
    }
    int s = head.start(0);
    out.writeBytes(HTTP_11);
    out.writeBytes(head.bytes(), s + 8, head.end(0) - s - 8);
    out.writeShort(CRLF);
    for (int l = 1; l < head.lines(); l++) {
      if (head.kept(l)) {
        head.writeLine(out, l);
        out.writeShort(CRLF);
      }
    }
  }

  /** An upper bound of {@link #writeHead}'s size. */
  int headBytes() {
    return head.bytesWithCrlf();
  }

  private static final byte[] HTTP_11 = ascii("HTTP/1.1");
  static final short CRLF = AsciiBytes.CRLF;

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
        || (framing == Framing.CHUNKED && state == State.CHUNKED && chunks.atChunkBoundary());
  }

  private void releasePartialHead() {
    if (partialHead != null) {
      partialHead.release();
      partialHead = null;
    }
  }
}
