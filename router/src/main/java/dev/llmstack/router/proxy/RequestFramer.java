package dev.llmstack.router.proxy;

import static dev.llmstack.router.proxy.AsciiBytes.ascii;
import static dev.llmstack.router.proxy.AsciiBytes.endsWithToken;
import static dev.llmstack.router.proxy.AsciiBytes.nameIs;
import static dev.llmstack.router.proxy.AsciiBytes.parseLength;
import static dev.llmstack.router.proxy.HeaderNames.CHUNKED;
import static dev.llmstack.router.proxy.HeaderNames.CONNECTION;
import static dev.llmstack.router.proxy.HeaderNames.CONTENT_LENGTH;
import static dev.llmstack.router.proxy.HeaderNames.EXPECT;
import static dev.llmstack.router.proxy.HeaderNames.HOST;
import static dev.llmstack.router.proxy.HeaderNames.KEEP_ALIVE;
import static dev.llmstack.router.proxy.HeaderNames.PROXY_AUTHENTICATE;
import static dev.llmstack.router.proxy.HeaderNames.PROXY_AUTHORIZATION;
import static dev.llmstack.router.proxy.HeaderNames.PROXY_CONNECTION;
import static dev.llmstack.router.proxy.HeaderNames.REQUEST_ID;
import static dev.llmstack.router.proxy.HeaderNames.TE;
import static dev.llmstack.router.proxy.HeaderNames.TRAILER;
import static dev.llmstack.router.proxy.HeaderNames.TRANSFER_ENCODING;
import static dev.llmstack.router.proxy.HeaderNames.UPGRADE;

import dev.llmstack.protocol.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * Reads client requests from the raw bytes of a connection, in place of Netty's request decoder and
 * aggregator. Netty decoded every head into a header map, which the router then cleaned and wrote
 * out again for the engine, and wrapped every body in a composite buffer; that was the largest
 * piece of the router's own per-request work left (a CPU profile, session 8).
 *
 * <p>Here a request is read once: the request line and the few headers the router acts on (framing,
 * Connection, Host, Expect, its own x-llmstack-* and x-request-id, the session header). The other
 * header lines go on to the engine as they came ({@link ClientMessage.Request#headerLines}). A
 * Content-Length body is a slice of what was read; a chunked one is collected into a buffer of its
 * own and goes on with a length. What breaks HTTP/1.1's rules for requests is refused before
 * routing ({@link ClientMessage.Refused}), each with the status RFC 9110 and RFC 9112 give it; the
 * connection then ends, since after a framing error nothing on it can be trusted (no request
 * smuggling past the router).
 */
final class RequestFramer extends ByteToMessageDecoder {

  /** Largest request head: request line and headers. */
  static final int MAX_HEAD_BYTES = 32 * 1024;

  /** Longest request line; a longer one gets 414. */
  static final int MAX_REQUEST_LINE = 8 * 1024;

  private static final byte[] CONTINUE_100 = ascii("100-continue");
  private static final byte[] POLICY_OVERRIDE = ascii(RouterHandler.POLICY_OVERRIDE_HEADER);
  private static final byte[] ENGINE_OVERRIDE = ascii(RouterHandler.ENGINE_OVERRIDE_HEADER);

  // What the router does with a header, by name (kind).
  private static final int OTHER = 0;
  private static final int DROPPED = 1;
  private static final int CONTENT_LENGTH_HEADER = 2;
  private static final int TRANSFER_ENCODING_HEADER = 3;
  private static final int CONNECTION_HEADER = 4;
  private static final int HOST_HEADER = 5;
  private static final int EXPECT_HEADER = 6;
  private static final int REQUEST_ID_HEADER = 7;
  private static final int POLICY_HEADER = 8;
  private static final int ENGINE_HEADER = 9;
  private static final int SESSION_HEADER = 10;

  /**
   * What the header named [s, s + length) is to the router. Picked by the name's length first, so a
   * header the router does not read costs about one comparison. Hop-by-hop headers (RFC 9110
   * §7.6.1) and those the router writes itself for the engine (Host, Content-Length, x-request-id)
   * or has answered (Expect) are never forwarded as they came.
   */
  private int kind(byte[] a, int s, int length) {
    int kind =
        switch (length) {
          case 2 -> nameIs(a, s, length, TE) ? DROPPED : OTHER;
          case 4 -> nameIs(a, s, length, HOST) ? HOST_HEADER : OTHER;
          case 6 -> nameIs(a, s, length, EXPECT) ? EXPECT_HEADER : OTHER;
          case 7 ->
              nameIs(a, s, length, TRAILER) || nameIs(a, s, length, UPGRADE) ? DROPPED : OTHER;
          case 10 ->
              nameIs(a, s, length, CONNECTION)
                  ? CONNECTION_HEADER
                  : nameIs(a, s, length, KEEP_ALIVE) ? DROPPED : OTHER;
          case 12 -> nameIs(a, s, length, REQUEST_ID) ? REQUEST_ID_HEADER : OTHER;
          case 14 -> nameIs(a, s, length, CONTENT_LENGTH) ? CONTENT_LENGTH_HEADER : OTHER;
          case 16 -> nameIs(a, s, length, PROXY_CONNECTION) ? DROPPED : OTHER;
          case 17 ->
              nameIs(a, s, length, TRANSFER_ENCODING)
                  ? TRANSFER_ENCODING_HEADER
                  : nameIs(a, s, length, POLICY_OVERRIDE)
                      ? POLICY_HEADER
                      : nameIs(a, s, length, ENGINE_OVERRIDE) ? ENGINE_HEADER : OTHER;
          case 18 -> nameIs(a, s, length, PROXY_AUTHENTICATE) ? DROPPED : OTHER;
          case 19 -> nameIs(a, s, length, PROXY_AUTHORIZATION) ? DROPPED : OTHER;
          default -> OTHER;
        };
    if (kind == OTHER && nameIs(a, s, length, sessionHeader)) {
      return SESSION_HEADER;
    }
    return kind;
  }

  private enum State {
    HEAD,
    BODY,
    CHUNKED_BODY,
    /**
     * A request was refused, or the connection's last request (not kept alive) was read: what
     * follows is ignored until the connection closes.
     */
    DISCARD
  }

  private final int maxBodyBytes;
  private final byte[] sessionHeader;

  /** This thread's head parser ({@link HeadLines#shared}), taken at each {@link #readHead}. */
  private HeadLines lines;

  /** Complete lines of an incomplete head, when it was last parsed. */
  private int linesOfPartialHead;

  private final ChunkedBody chunks = new ChunkedBody(MAX_HEAD_BYTES, true);
  private final ResponseFramer.DataSink collect = this::collect;
  private State state = State.HEAD;

  // The request whose body is being read.
  private HttpMethod method;
  private String uri;
  private boolean http10;
  private boolean keepAlive;
  private byte[] headerLines;
  private ByteBufAllocator alloc; // the connection's
  private long bodyLength;
  private ByteBuf chunkedBody;
  private String requestId;
  private String policyOverride;
  private String engineOverride;
  private String session;

  /**
   * @param maxBodyBytes larger bodies are refused with 413
   * @param sessionHeader the header that names a request's session, for session affinity
   */
  RequestFramer(int maxBodyBytes, String sessionHeader) {
    this.maxBodyBytes = maxBodyBytes;
    this.sessionHeader = ascii(sessionHeader.toLowerCase(Locale.ROOT));
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    alloc = ctx.alloc();
    try {
      switch (state) {
        case HEAD -> readHead(in, out);
        case BODY -> {
          if (in.readableBytes() >= bodyLength) {
            out.add(request(body(in)));
          }
        }
        case CHUNKED_BODY -> readChunks(in, out);
        case DISCARD -> in.skipBytes(in.readableBytes());
      }
    } catch (MalformedHttpException e) {
      refuse(in, out, OpenAiError.badRequest("Malformed HTTP request: " + e.getMessage() + "."));
    } catch (Refusal r) {
      refuse(in, out, r.error);
    }
  }

  private void readHead(ByteBuf in, List<Object> out) {
    int from = in.readerIndex();
    int to = in.writerIndex();
    lines = HeadLines.shared();
    // A head that came in pieces is parsed again only once a new line has ended.
    if (scanned > 0 && in.indexOf(from + scanned - 1, to, (byte) '\n') < 0) {
      scanned = to - from + 1;
      checkHeadSize(to - from);
      return;
    }
    int headLength = lines.find(in, from, Math.min(to, from + MAX_HEAD_BYTES), true);
    if (headLength < 0) {
      scanned = to - from + 1;
      linesOfPartialHead = lines.lines();
      checkHeadSize(to - from);
      return;
    }
    scanned = 0;
    linesOfPartialHead = 0;
    if (lines.end(0) - lines.start(0) > MAX_REQUEST_LINE) {
      throw tooLongLine();
    }
    interpret(lines.bytes());
    in.skipBytes(headLength);
    boolean expectContinue = this.expectContinue;
    if (chunked) {
      chunkedBody = Unpooled.EMPTY_BUFFER;
      chunks.start();
      state = State.CHUNKED_BODY;
      if (expectContinue && !in.isReadable()) {
        out.add(ClientMessage.ContinueExpected.INSTANCE);
      }
      readChunks(in, out);
    } else if (in.readableBytes() >= bodyLength) {
      out.add(request(body(in)));
    } else {
      state = State.BODY;
      if (expectContinue && !in.isReadable()) {
        out.add(ClientMessage.ContinueExpected.INSTANCE);
      }
    }
  }

  /** Bytes of an incomplete head already looked at, plus one; 0 when none. */
  private int scanned;

  private void checkHeadSize(int bytes) {
    if (linesOfPartialHead == 0 && bytes > MAX_REQUEST_LINE + 2) {
      throw tooLongLine();
    }
    if (bytes >= MAX_HEAD_BYTES) {
      throw tooLargeHead();
    }
  }

  // What interpret found about framing; only read right after it.
  private boolean chunked;
  private boolean expectContinue;

  /** Reads the request line and headers of the head in {@code in} (as {@link #lines} found it). */
  private void interpret(byte[] in) {
    readRequestLine(in);
    lines.splitHeaders(true);
    long length = -1;
    int transferEncodings = 0;
    boolean finalChunked = false;
    boolean onlyChunked = true;
    int connection = 0;
    int hosts = 0;
    expectContinue = false;
    boolean otherExpectation = false;
    requestId = null;
    policyOverride = null;
    engineOverride = null;
    session = null;
    for (int l = 1; l < lines.lines(); l++) {
      int kind = kind(in, lines.nameStart(l), lines.nameLength(l));
      if (kind == OTHER) {
        continue; // an end-to-end header the router does not read: forwarded
      }
      int vs = lines.valueStart(l);
      int ve = lines.valueEnd(l, vs);
      switch (kind) {
        case CONTENT_LENGTH_HEADER -> {
          long v = parseLength(in, vs, ve);
          if (length >= 0 && v != length) {
            throw new MalformedHttpException("conflicting Content-Length values");
          }
          length = v;
        }
        case TRANSFER_ENCODING_HEADER -> {
          transferEncodings++;
          finalChunked = endsWithToken(in, vs, ve, CHUNKED);
          onlyChunked &= nameIs(in, vs, ve - vs, CHUNKED);
        }
        case CONNECTION_HEADER -> connection |= lines.connectionTokens(vs, ve);
        case HOST_HEADER -> hosts++;
        case EXPECT_HEADER -> {
          if (nameIs(in, vs, ve - vs, CONTINUE_100)) {
            expectContinue = true;
          } else {
            otherExpectation = true;
          }
        }
        case REQUEST_ID_HEADER -> requestId = requestId != null ? requestId : value(in, vs, ve);
        case POLICY_HEADER ->
            policyOverride = policyOverride != null ? policyOverride : value(in, vs, ve);
        case ENGINE_HEADER ->
            engineOverride = engineOverride != null ? engineOverride : value(in, vs, ve);
        case SESSION_HEADER -> session = session != null ? session : value(in, vs, ve);
        default -> {}
      }
      if (kind != SESSION_HEADER && kind != POLICY_HEADER && kind != ENGINE_HEADER) {
        lines.drop(l); // hop-by-hop, or written by the router itself
      }
    }
    if (http10) {
      keepAlive = (connection & HeadLines.KEEP_ALIVE) != 0 && (connection & HeadLines.CLOSE) == 0;
      expectContinue = false; // RFC 7231 §5.1.1: ignored in an HTTP/1.0 request
      otherExpectation = false;
    } else {
      keepAlive = (connection & HeadLines.CLOSE) == 0;
      if (hosts == 0) {
        throw new MalformedHttpException("an HTTP/1.1 request without Host");
      }
    }
    if (hosts > 1) {
      throw new MalformedHttpException("more than one Host");
    }
    if (otherExpectation) {
      throw new Refusal(
          new OpenAiError(
              417,
              "ExpectationFailed",
              "The only expectation the router meets is 100-continue.",
              null));
    }
    chunked = transferEncodings > 0;
    if (chunked) {
      // RFC 9112 §6.1 and §6.3: an HTTP/1.0 request with Transfer-Encoding, or one whose final
      // coding is not chunked, or one with a Content-Length as well, cannot be framed safely.
      if (http10) {
        throw new MalformedHttpException("Transfer-Encoding in an HTTP/1.0 request");
      }
      if (!finalChunked) {
        throw new MalformedHttpException("a Transfer-Encoding whose final coding is not chunked");
      }
      if (length >= 0) {
        throw new MalformedHttpException("both Transfer-Encoding and Content-Length");
      }
      if (!onlyChunked || transferEncodings > 1) {
        throw new Refusal(
            new OpenAiError(
                501,
                "NotImplementedError",
                "Transfer codings other than chunked are not supported.",
                null));
      }
      bodyLength = -1;
    } else {
      bodyLength = Math.max(0, length);
      if (bodyLength > maxBodyBytes) {
        throw tooLargeBody();
      }
    }
    headerLines = keptLines(in);
  }

  /**
   * The kept header lines, each ended with CRLF, copied out of the head: the engine gets them in
   * one write. Copying them from the array the head was parsed in costs less than slicing the
   * network buffer and copying ranges of it later, which went through a new NIO buffer view per
   * range (an allocation profile, session 9).
   */
  private byte[] keptLines(byte[] in) {
    int size = 0;
    for (int l = 1; l < lines.lines(); l++) {
      if (lines.kept(l)) {
        size += lines.end(l) - lines.start(l) + 2;
      }
    }
    byte[] out = new byte[size];
    int at = 0;
    for (int l = 1; l < lines.lines(); l++) {
      if (lines.kept(l)) {
        int n = lines.end(l) - lines.start(l);
        System.arraycopy(in, lines.start(l), out, at, n);
        out[at + n] = '\r';
        out[at + n + 1] = '\n';
        at += n + 2;
      }
    }
    return out;
  }

  /** "METHOD SP request-target SP HTTP/1.x" (RFC 9112 §3). */
  private void readRequestLine(byte[] in) {
    int s = lines.start(0);
    int e = lines.end(0);
    int sp1 = AsciiBytes.indexOf(in, s, e, (byte) ' ');
    int sp2 = sp1 < 0 ? -1 : AsciiBytes.indexOf(in, sp1 + 1, e, (byte) ' ');
    if (sp1 <= s || sp2 <= sp1 + 1 || AsciiBytes.indexOf(in, sp2 + 1, e, (byte) ' ') >= 0) {
      throw new MalformedHttpException("a request line that is not METHOD TARGET VERSION");
    }
    method = method(in, s, sp1);
    uri = target(in, sp1 + 1, sp2);
    // "HTTP/1.1" or "HTTP/1.0"; another "HTTP/d.d" is a version the router does not speak.
    int v = sp2 + 1;
    if (e - v != 8
        || in[v] != 'H'
        || in[v + 1] != 'T'
        || in[v + 2] != 'T'
        || in[v + 3] != 'P'
        || in[v + 4] != '/'
        || !Character.isDigit(in[v + 5])
        || in[v + 6] != '.'
        || !Character.isDigit(in[v + 7])) {
      throw new MalformedHttpException("a bad HTTP version");
    }
    if (in[v + 5] != '1' || (in[v + 7] != '1' && in[v + 7] != '0')) {
      throw new Refusal(
          new OpenAiError(
              505, "HttpVersionNotSupported", "The router speaks HTTP/1.1 and HTTP/1.0.", null));
    }
    http10 = in[v + 7] == '0';
  }

  private static final HttpMethod[] KNOWN_METHODS = {
    HttpMethod.POST,
    HttpMethod.GET,
    HttpMethod.HEAD,
    HttpMethod.PUT,
    HttpMethod.DELETE,
    HttpMethod.OPTIONS,
    HttpMethod.PATCH
  };

  private static final byte[][] KNOWN_METHOD_BYTES = new byte[KNOWN_METHODS.length][];

  static {
    for (int i = 0; i < KNOWN_METHODS.length; i++) {
      KNOWN_METHOD_BYTES[i] = ascii(KNOWN_METHODS[i].name());
    }
  }

  /** The method: Netty's constant for a common one (methods are case-sensitive, RFC 9110 §9.1). */
  private static HttpMethod method(byte[] in, int from, int to) {
    for (int i = 0; i < KNOWN_METHODS.length; i++) {
      byte[] m = KNOWN_METHOD_BYTES[i];
      if (to - from == m.length && AsciiBytes.regionEquals(in, from, m)) {
        return KNOWN_METHODS[i];
      }
    }
    for (int i = from; i < to; i++) {
      if (!HeadLines.isToken(in[i])) {
        throw new MalformedHttpException("a method that is not a token");
      }
    }
    return HttpMethod.valueOf(new String(in, from, to - from, StandardCharsets.US_ASCII));
  }

  private static final String[] KNOWN_TARGETS = {
    "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/health", "/metrics"
  };

  private static final byte[][] KNOWN_TARGET_BYTES = new byte[KNOWN_TARGETS.length][];

  static {
    for (int i = 0; i < KNOWN_TARGETS.length; i++) {
      KNOWN_TARGET_BYTES[i] = ascii(KNOWN_TARGETS[i]);
    }
  }

  /**
   * The request target in origin form ("/path?query"). The absolute form
   * ("http://host/path?query"), which RFC 9112 §3.2.2 says a server must accept, is reduced to its
   * path and query; "*" (for OPTIONS) stays.
   */
  private static String target(byte[] in, int from, int to) {
    byte first = in[from];
    if (first != '/' && !(to - from == 1 && first == '*')) {
      int scheme = AsciiBytes.indexOf(in, from, to, (byte) ':');
      if (scheme <= from || to - scheme < 3 || in[scheme + 1] != '/' || in[scheme + 2] != '/') {
        throw new MalformedHttpException("a request target that is neither a path nor a URL");
      }
      int path = AsciiBytes.indexOf(in, scheme + 3, to, (byte) '/');
      int query = AsciiBytes.indexOf(in, scheme + 3, to, (byte) '?');
      if (path < 0 || (query >= 0 && query < path)) {
        String rest =
            query < 0 ? "" : new String(in, query, to - query, StandardCharsets.ISO_8859_1);
        return "/" + rest;
      }
      from = path;
    }
    for (int i = 0; i < KNOWN_TARGETS.length; i++) {
      byte[] t = KNOWN_TARGET_BYTES[i];
      if (to - from == t.length && AsciiBytes.regionEquals(in, from, t)) {
        return KNOWN_TARGETS[i]; // no new String per request for the usual paths
      }
    }
    // ISO-8859-1 maps each byte to one char, so writing the string back gives the same bytes.
    return new String(in, from, to - from, StandardCharsets.ISO_8859_1);
  }

  private static String value(byte[] in, int from, int to) {
    return new String(in, from, to - from, StandardCharsets.ISO_8859_1);
  }

  /** Whether part of a request has arrived and not yet gone out as a message. */
  boolean midRequest() {
    return state == State.BODY || state == State.CHUNKED_BODY || actualReadableBytes() > 0;
  }

  private ByteBuf body(ByteBuf in) {
    return bodyLength == 0 ? Unpooled.EMPTY_BUFFER : in.readRetainedSlice((int) bodyLength);
  }

  private void readChunks(ByteBuf in, List<Object> out) {
    int from = in.readerIndex();
    int end = chunks.consume(in, from, in.writerIndex(), collect);
    in.readerIndex(end);
    if (chunks.done()) {
      ByteBuf body = chunkedBody;
      chunkedBody = null;
      out.add(request(body));
    }
  }

  /** Copies a chunk's data into the body, within the limit. */
  private void collect(ByteBuf buf, int from, int to) {
    int n = to - from;
    if ((long) chunkedBody.readableBytes() + n > maxBodyBytes) {
      throw tooLargeBody();
    }
    if (chunkedBody == Unpooled.EMPTY_BUFFER) {
      chunkedBody = alloc.heapBuffer(Math.min(maxBodyBytes, Math.max(n, 1024)), maxBodyBytes);
    }
    chunkedBody.writeBytes(buf, from, n);
  }

  private ClientMessage.Request request(ByteBuf body) {
    ClientMessage.Request r =
        new ClientMessage.Request(
            method,
            uri,
            http10,
            keepAlive,
            headerLines,
            body,
            requestId,
            policyOverride,
            engineOverride,
            session);
    headerLines = null;
    state = keepAlive ? State.HEAD : State.DISCARD; // nothing after a last request is read
    return r;
  }

  private void refuse(ByteBuf in, List<Object> out, OpenAiError error) {
    releasePartial();
    state = State.DISCARD;
    in.skipBytes(in.readableBytes());
    out.add(new ClientMessage.Refused(error));
  }

  private void releasePartial() {
    if (chunkedBody != null) {
      chunkedBody.release();
      chunkedBody = null;
    }
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    releasePartial();
  }

  private Refusal tooLargeBody() {
    return new Refusal(
        new OpenAiError(
            413,
            "RequestTooLargeError",
            "The request body is larger than the router's limit of " + maxBodyBytes + " bytes.",
            null));
  }

  private static Refusal tooLongLine() {
    return new Refusal(
        new OpenAiError(
            414,
            "UriTooLongError",
            "The request line is longer than the router's limit of " + MAX_REQUEST_LINE + " bytes.",
            null));
  }

  private static Refusal tooLargeHead() {
    return new Refusal(
        new OpenAiError(
            431,
            "RequestHeaderFieldsTooLargeError",
            "The request head is larger than the router's limit of " + MAX_HEAD_BYTES + " bytes.",
            null));
  }

  /** A request refused with a status of its own. */
  private static final class Refusal extends RuntimeException {
    final OpenAiError error;

    Refusal(OpenAiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }
  }
}
