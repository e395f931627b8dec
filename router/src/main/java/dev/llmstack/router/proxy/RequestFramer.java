package dev.llmstack.router.proxy;

import static dev.llmstack.router.proxy.AsciiBytes.ascii;
import static dev.llmstack.router.proxy.AsciiBytes.endsWithToken;
import static dev.llmstack.router.proxy.AsciiBytes.nameIs;
import static dev.llmstack.router.proxy.AsciiBytes.parseLength;

import dev.llmstack.protocol.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
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
 * header lines go on to the engine as they came ({@link ClientMessage.Request#forward}). A
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

  private static final byte[] CONTENT_LENGTH = ResponseFramer.CONTENT_LENGTH;
  private static final byte[] TRANSFER_ENCODING = ResponseFramer.TRANSFER_ENCODING;
  private static final byte[] CONNECTION = ResponseFramer.CONNECTION;
  private static final byte[] CHUNKED = ResponseFramer.CHUNKED;
  private static final byte[] HOST = ascii("host");
  private static final byte[] EXPECT = ascii("expect");
  private static final byte[] CONTINUE_100 = ascii("100-continue");
  private static final byte[] REQUEST_ID = ascii(ProxyExchange.REQUEST_ID_HEADER);
  private static final byte[] POLICY_OVERRIDE = ascii(RouterHandler.POLICY_OVERRIDE_HEADER);
  private static final byte[] ENGINE_OVERRIDE = ascii(RouterHandler.ENGINE_OVERRIDE_HEADER);

  /**
   * Never forwarded as they came: hop-by-hop headers (RFC 9110 §7.6.1), and those the router writes
   * itself for the engine (Host, Content-Length, x-request-id) or has answered (Expect).
   */
  private static final byte[][] DROPPED = {
    CONNECTION,
    ResponseFramer.KEEP_ALIVE,
    ascii("proxy-connection"),
    ascii("proxy-authenticate"),
    ascii("proxy-authorization"),
    ascii("te"),
    ascii("trailer"),
    TRANSFER_ENCODING,
    ascii("upgrade"),
    HOST,
    CONTENT_LENGTH,
    EXPECT,
    REQUEST_ID
  };

  private enum State {
    HEAD,
    BODY,
    CHUNKED_BODY,
    /** A request was refused: the rest of the connection is ignored until it closes. */
    DISCARD
  }

  private final int maxBodyBytes;
  private final byte[] sessionHeader;
  private final HeadLines lines = new HeadLines();
  private final ChunkedBody chunks = new ChunkedBody(MAX_HEAD_BYTES);
  private final ResponseFramer.DataSink collect = this::collect;
  private State state = State.HEAD;

  // The request whose body is being read.
  private HttpMethod method;
  private String uri;
  private boolean http10;
  private boolean keepAlive;
  private ByteBuf head;
  private int[] forward;
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
    // A head that came in pieces is parsed again only once a new line has ended.
    if (scanned > 0 && in.indexOf(from + scanned - 1, to, (byte) '\n') < 0) {
      scanned = to - from + 1;
      checkHeadSize(to - from);
      return;
    }
    int bodyStart = lines.find(in, from, Math.min(to, from + MAX_HEAD_BYTES), true);
    if (bodyStart < 0) {
      scanned = to - from + 1;
      checkHeadSize(to - from);
      return;
    }
    scanned = 0;
    if (lines.end(0) - lines.start(0) > MAX_REQUEST_LINE) {
      throw tooLongLine();
    }
    interpret(in, from);
    head = in.readRetainedSlice(bodyStart - from);
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
    if (lines.lines() == 0 && bytes > MAX_REQUEST_LINE + 2) {
      throw tooLongLine();
    }
    if (bytes >= MAX_HEAD_BYTES) {
      throw tooLargeHead();
    }
  }

  // What interpret found about framing; only read right after it.
  private boolean chunked;
  private boolean expectContinue;

  /**
   * Reads the head's request line and headers; {@code base} is where the head starts in {@code in}.
   */
  private void interpret(ByteBuf in, int base) {
    readRequestLine(in);
    lines.splitHeaders(in, true);
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
    int kept = 0;
    for (int l = 1; l < lines.lines(); l++) {
      int vs = lines.valueStart(in, l);
      int ve = lines.valueEnd(in, l, vs);
      if (lines.nameIs(in, l, CONTENT_LENGTH)) {
        long v = parseLength(in, vs, ve);
        if (length >= 0 && v != length) {
          throw new MalformedHttpException("conflicting Content-Length values");
        }
        length = v;
      } else if (lines.nameIs(in, l, TRANSFER_ENCODING)) {
        transferEncodings++;
        finalChunked = endsWithToken(in, vs, ve, CHUNKED);
        onlyChunked &= nameIs(in, vs, ve - vs, CHUNKED);
      } else if (lines.nameIs(in, l, CONNECTION)) {
        connection |= lines.connectionTokens(in, vs, ve);
      } else if (lines.nameIs(in, l, HOST)) {
        hosts++;
      } else if (lines.nameIs(in, l, EXPECT)) {
        if (nameIs(in, vs, ve - vs, CONTINUE_100)) {
          expectContinue = true;
        } else {
          otherExpectation = true;
        }
      } else if (lines.nameIs(in, l, REQUEST_ID)) {
        requestId = requestId != null ? requestId : value(in, vs, ve);
      } else if (lines.nameIs(in, l, POLICY_OVERRIDE)) {
        policyOverride = policyOverride != null ? policyOverride : value(in, vs, ve);
      } else if (lines.nameIs(in, l, ENGINE_OVERRIDE)) {
        engineOverride = engineOverride != null ? engineOverride : value(in, vs, ve);
      } else if (lines.nameIs(in, l, sessionHeader)) {
        session = session != null ? session : value(in, vs, ve);
      }
      for (byte[] dropped : DROPPED) {
        if (lines.nameIs(in, l, dropped)) {
          lines.drop(l);
          break;
        }
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
    forward = forwardRanges(in, base);
  }

  /** The kept header lines as ranges relative to the head's start, adjacent lines merged. */
  private int[] forwardRanges(ByteBuf in, int base) {
    int runs = 0;
    int[] r = new int[2 * Math.max(1, lines.lines() - 1)];
    int prevEnd = -1;
    for (int l = 1; l < lines.lines(); l++) {
      if (!lines.kept(l)) {
        prevEnd = -1;
        continue;
      }
      int s = lines.start(l);
      if (prevEnd >= 0 && s == prevEnd + 2 && in.getByte(prevEnd) == '\r') {
        r[runs - 1] = lines.end(l) - base; // follows the previous kept line after its CRLF
      } else {
        r[runs++] = s - base;
        r[runs++] = lines.end(l) - base;
      }
      prevEnd = lines.end(l);
    }
    return runs == r.length ? r : java.util.Arrays.copyOf(r, runs);
  }

  /** "METHOD SP request-target SP HTTP/1.x" (RFC 9112 §3). */
  private void readRequestLine(ByteBuf in) {
    int s = lines.start(0);
    int e = lines.end(0);
    int sp1 = in.indexOf(s, e, (byte) ' ');
    int sp2 = sp1 < 0 ? -1 : in.indexOf(sp1 + 1, e, (byte) ' ');
    if (sp1 <= s || sp2 <= sp1 + 1 || in.indexOf(sp2 + 1, e, (byte) ' ') >= 0) {
      throw new MalformedHttpException("a request line that is not METHOD TARGET VERSION");
    }
    method = method(in, s, sp1);
    uri = target(in, sp1 + 1, sp2);
    // "HTTP/1.1" or "HTTP/1.0"; another "HTTP/d.d" is a version the router does not speak.
    int v = sp2 + 1;
    if (e - v != 8
        || in.getByte(v) != 'H'
        || in.getByte(v + 1) != 'T'
        || in.getByte(v + 2) != 'T'
        || in.getByte(v + 3) != 'P'
        || in.getByte(v + 4) != '/'
        || !Character.isDigit(in.getByte(v + 5))
        || in.getByte(v + 6) != '.'
        || !Character.isDigit(in.getByte(v + 7))) {
      throw new MalformedHttpException("a bad HTTP version");
    }
    if (in.getByte(v + 5) != '1' || (in.getByte(v + 7) != '1' && in.getByte(v + 7) != '0')) {
      throw new Refusal(
          new OpenAiError(
              505, "HttpVersionNotSupported", "The router speaks HTTP/1.1 and HTTP/1.0.", null));
    }
    http10 = in.getByte(v + 7) == '0';
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
  private static HttpMethod method(ByteBuf in, int from, int to) {
    for (int i = 0; i < KNOWN_METHODS.length; i++) {
      byte[] m = KNOWN_METHOD_BYTES[i];
      if (to - from == m.length && AsciiBytes.regionEquals(in, from, m)) {
        return KNOWN_METHODS[i];
      }
    }
    for (int i = from; i < to; i++) {
      if (!HeadLines.isToken(in.getByte(i))) {
        throw new MalformedHttpException("a method that is not a token");
      }
    }
    return HttpMethod.valueOf(in.toString(from, to - from, StandardCharsets.US_ASCII));
  }

  /**
   * The request target in origin form ("/path?query"). The absolute form
   * ("http://host/path?query"), which RFC 9112 §3.2.2 says a server must accept, is reduced to its
   * path and query; "*" (for OPTIONS) stays.
   */
  private static String target(ByteBuf in, int from, int to) {
    byte first = in.getByte(from);
    if (first != '/' && !(to - from == 1 && first == '*')) {
      int scheme = in.indexOf(from, to, (byte) ':');
      if (scheme <= from
          || to - scheme < 3
          || in.getByte(scheme + 1) != '/'
          || in.getByte(scheme + 2) != '/') {
        throw new MalformedHttpException("a request target that is neither a path nor a URL");
      }
      int path = in.indexOf(scheme + 3, to, (byte) '/');
      int query = in.indexOf(scheme + 3, to, (byte) '?');
      if (path < 0 || (query >= 0 && query < path)) {
        String rest = query < 0 ? "" : in.toString(query, to - query, StandardCharsets.ISO_8859_1);
        return "/" + rest;
      }
      from = path;
    }
    // ISO-8859-1 maps each byte to one char, so writing the string back gives the same bytes.
    return in.toString(from, to - from, StandardCharsets.ISO_8859_1);
  }

  private static String value(ByteBuf in, int from, int to) {
    return in.toString(from, to - from, StandardCharsets.ISO_8859_1);
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
      chunkedBody = buf.alloc().heapBuffer(Math.min(maxBodyBytes, Math.max(n, 1024)), maxBodyBytes);
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
            head,
            forward,
            body,
            requestId,
            policyOverride,
            engineOverride,
            session);
    head = null;
    forward = null;
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
    if (head != null) {
      head.release();
      head = null;
    }
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
