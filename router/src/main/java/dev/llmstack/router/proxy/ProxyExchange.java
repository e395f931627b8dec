package dev.llmstack.router.proxy;

import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.routing.Decision;
import dev.llmstack.router.routing.RouteRequest;
import dev.llmstack.router.routing.RoutingPolicy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One proxied request: pick an engine, send the client's bytes unchanged, relay the response piece
 * by piece as it arrives (SSE chunks are flushed one by one, never buffered whole). Before the
 * first response byte reaches the client, a connect failure, a reset or a 5xx moves the request to
 * another engine within the retry budget; after it, a failure ends the response (an SSE stream gets
 * an in-band OpenAI error and [DONE]). If the client goes away, the upstream connection is closed
 * so the engine aborts the request.
 *
 * <p>Runs entirely on the client connection's event loop.
 */
final class ProxyExchange extends HeadDeadlines.Waiter {

  static final String ENGINE_HEADER = "x-llmstack-engine";
  static final String ROUTE_HEADER = "x-llmstack-route";
  static final String REQUEST_ID_HEADER = "x-request-id";

  private enum State {
    ROUTING,
    WAITING_HEAD,
    RELAYING,
    DONE
  }

  private final RouterContext rc;
  private final RouterHandler owner; // the client connection's handler, told when this ends
  private final ChannelHandlerContext client;

  /**
   * Writes raw bytes to the client, past its response encoder: the engine's head and body go out as
   * they came (ResponseFramer), not as Netty HTTP objects.
   */
  private final ChannelHandlerContext clientOut;

  private final ClientMessage.Request request;
  private boolean keepAlive; // the client's connection; false once a body must end at its close
  private final RouteRequest route;
  private final RoutingPolicy policy;
  private final String forcedEngine;
  private final String requestId;

  /** The engines tried: the first in a field, others (retries, rare) in a list made for them. */
  private String firstTried;

  private List<String> moreTried;
  private final long startNanos = System.nanoTime();

  private State state = State.ROUTING;
  private Backend backend;
  private Decision decision;
  private Channel upstream;
  private boolean sawFirstByte;
  private boolean upstreamKeepAlive;
  private boolean eventStream;
  private int status;
  private String lastError;
  private HeadDeadlines deadlines; // this loop's, once armed
  private boolean released;
  private UsageScanner usage; // reads the engine's usage numbers as they stream by
  private ResponseFramer framer; // the current upstream connection's
  private boolean reused; // the current upstream connection came from the idle pool
  private long firstByteNanos = -1;
  private RouterObserver.Series series = RouterObserver.Series.NONE;
  private long firstTokenNanos = -1;

  /** Prefill this request adds to its engine's queue until its first token; 0 once released. */
  private long pendingPrefill;

  private long lastPieceNanos;

  /** Bytes of the router's own (head, chunk framing) not yet written to the client. */
  private ByteBuf pending;

  /**
   * Where the payload lies in each read, for an HTTP/1.0 client, which must not get a chunked body
   * (RFC 9112 §6.1): it gets the payload alone and the end of the connection. Null for HTTP/1.1.
   */
  private PayloadRanges payload;

  /** The client gets the payload without the engine's chunk framing (see {@link #payload}). */
  private boolean dechunk;

  ProxyExchange(
      RouterContext rc,
      RouterHandler owner,
      ChannelHandlerContext client,
      ChannelHandlerContext clientOut,
      ClientMessage.Request request,
      boolean keepAlive,
      RouteRequest route,
      RoutingPolicy policy,
      String forcedEngine,
      String requestId) {
    this.rc = rc;
    this.owner = owner;
    this.client = client;
    this.clientOut = clientOut;
    this.request = request;
    this.keepAlive = keepAlive;
    this.route = route;
    this.policy = policy;
    this.forcedEngine = forcedEngine;
    this.requestId = requestId;
  }

  void start() {
    rc.retryBudget().onRequest();
    attempt();
  }

  private void attempt() {
    long now = System.nanoTime();
    List<BackendSnapshot> candidates = rc.registry().candidates(route.model(), now);
    if (firstTried != null) {
      candidates.removeIf(b -> tried(b.id()));
    }
    if (forcedEngine != null) {
      candidates.removeIf(b -> !b.id().equals(forcedEngine));
    }
    if (candidates.isEmpty()) {
      String msg =
          firstTried == null
              ? (forcedEngine != null
                  ? "Engine " + forcedEngine + " is not available for model " + route.model() + "."
                  : "No healthy engine serves model " + route.model() + " right now.")
              : "All engines tried for this request failed: " + lastError;
      fail(
          firstTried == null
              ? OpenAiError.unavailable(msg)
              : new OpenAiError(502, "BadGatewayError", msg, null));
      return;
    }
    decision = policy.pick(route, candidates);
    backend = rc.registry().get(decision.backend().id());
    if (backend == null) {
      addTried(decision.backend().id());
      attempt();
      return;
    }
    addTried(backend.id());
    backend.dispatched(route.lora());
    if (route.promptTokens() > 0) {
      pendingPrefill =
          Math.max(1, route.promptTokens() - Math.max(0, decision.predictedCachedTokens()));
      backend.prefillQueued(pendingPrefill);
    }
    long[] keys = route.blockKeys();
    if (keys != null) {
      // What this router sent where: the approximate prefix index learns from its own decisions.
      rc.cacheAware().approximate().record(backend.id(), keys, keys.length, System.nanoTime());
    }
    rc.observer().routed(requestId, route.model(), policy.name(), decision, triedCount() > 1);
    series = rc.observer().series(backend.id(), route.model());
    state = State.WAITING_HEAD;
    Channel idle = rc.pool(client.channel().eventLoop()).pollIdle(backend.endpoint());
    if (idle != null) {
      reused = true;
      send(idle);
      return;
    }
    connect();
  }

  /** Opens a new connection to the chosen engine and sends the request on it. */
  private void connect() {
    reused = false;
    Backend target = backend;
    rc.pool(client.channel().eventLoop())
        .connect(target.endpoint())
        .addListener(
            (ChannelFuture f) -> {
              if (state != State.WAITING_HEAD || backend != target || upstream != null) {
                if (f.isSuccess()) {
                  f.channel().close();
                }
                return;
              }
              if (f.isSuccess()) {
                send(f.channel());
              } else {
                upstreamFailed("connect to " + target.id() + " failed: " + f.cause().getMessage());
              }
            });
  }

  private void send(Channel ch) {
    upstream = ch;
    // Token counts for metrics and the access log, read from the payload as it passes; the
    // connection's scanner, started afresh for each attempt.
    usage = owner.usage();
    usage.reset();
    UpstreamHandler handler = UpstreamHandler.of(ch);
    if (request.http10()) {
      payload = new PayloadRanges(usage);
      handler.exchange(this, payload);
    } else {
      handler.exchange(this, usage);
    }
    framer = handler.framer();
    // HTTP/1.1 whatever the client spoke, so the connection stays in the pool; an HTTP/1.0 client
    // still gets what it can read (see payload).
    ByteBuf out = request.encode(ch.alloc(), backend.hostLine(), requestId);
    // Armed before the write: a write that fails at once retries (or fails) within it, and that
    // disarms or re-arms this deadline.
    long timeout = rc.settings().firstByteTimeoutMs();
    if (timeout > 0) {
      deadlines = rc.deadlines(client.channel().eventLoop());
      deadlines.arm(this, TimeUnit.MILLISECONDS.toNanos(timeout));
    }
    // A void promise: a failed write fires exceptionCaught on the upstream connection, which
    // closes it and fails this attempt over (UpstreamHandler), as a listener would.
    ch.writeAndFlush(out, ch.voidPromise());
  }

  @Override
  void headTimedOut() {
    if (state == State.WAITING_HEAD && upstream != null) {
      Channel c = upstream;
      detachUpstream();
      c.close();
      upstreamFailed(
          "no response from "
              + backend.id()
              + " within "
              + rc.settings().firstByteTimeoutMs()
              + " ms");
    }
  }

  // ---- upstream events ----

  /** What arrived from the engine, framed: relays the head and body bytes as they are. */
  void onUpstream(ResponseFramer f) {
    if (state == State.DONE) {
      return;
    }
    if (f.headReady()) {
      pending = onHead(f);
      if (pending == null) {
        return; // retried elsewhere
      }
    }
    if (state != State.RELAYING) {
      return; // the head is not complete yet
    }
    if (eventStream && f.dataBytes() > 0) {
      timePiece();
    }
    int from = f.forwardFrom();
    int length = f.forwardTo() - from;
    if (dechunk) {
      for (int i = 0; i < payload.count; i += 2) {
        relay(f.source(), payload.ranges[i], payload.ranges[i + 1] - payload.ranges[i]);
      }
    } else if (length > 0) {
      if (f.framing() == ResponseFramer.Framing.UNTIL_CLOSE) {
        // The client gets chunks: the engine's bytes, framed.
        ByteBufUtil.writeAscii(pending(), Integer.toHexString(length));
        pending.writeShort(ResponseFramer.CRLF);
        relay(f.source(), from, length);
        pending().writeShort(ResponseFramer.CRLF);
      } else {
        relay(f.source(), from, length);
      }
    }
    if (payload != null) {
      payload.count = 0;
    }
    if (f.finalCrlf() && !dechunk) {
      pending().writeShort(ResponseFramer.CRLF);
    }
    ByteBuf last = pending;
    pending = null;
    if (f.ended()) {
      if (keepAlive) {
        // A failed write fires exceptionCaught, which closes the client (CLOSE_ON_FAILURE).
        flushToClient(last);
      } else {
        clientOut
            .writeAndFlush(last != null ? last : Unpooled.EMPTY_BUFFER)
            .addListener(ChannelFutureListener.CLOSE);
      }
      upstreamKeepAlive &= !f.extraBytes();
      finish();
      return;
    }
    flushToClient(last);
    if (!client.channel().isWritable()) {
      upstream.config().setAutoRead(false);
    }
  }

  /**
   * Relays {@code length} bytes of {@code src}: copied behind what is pending when small (one
   * buffer and one system call for a whole small answer), else as a retained slice.
   */
  private void relay(ByteBuf src, int from, int length) {
    if (pending != null && length <= COPY_LIMIT) {
      pending.writeBytes(src, from, length);
      return;
    }
    if (pending != null) {
      clientOut.write(pending, clientOut.voidPromise());
      pending = null;
    }
    clientOut.write(src.retainedSlice(from, length), clientOut.voidPromise());
  }

  /**
   * Writes {@code last} (may be null) and flushes. Without a buffer of its own, a flush alone: an
   * empty buffer behind a relayed slice made two messages of one, and Netty sent them with {@code
   * writev} and its I/O vector rather than one {@code send}.
   */
  private void flushToClient(ByteBuf last) {
    if (last != null) {
      clientOut.writeAndFlush(last, clientOut.voidPromise());
    } else {
      clientOut.flush();
    }
  }

  /** The buffer of the router's own bytes waiting to go to the client, made when needed. */
  private ByteBuf pending() {
    if (pending == null) {
      pending = clientOut.alloc().ioBuffer(64);
    }
    return pending;
  }

  /** Body bytes copied behind the head, rather than relayed as a separate slice. */
  private static final int COPY_LIMIT = 4096;

  /**
   * The engine's response head arrived: retry elsewhere on a 5xx (returns null), else returns the
   * client's head, not yet written.
   */
  private ByteBuf onHead(ResponseFramer f) {
    cancelTimer();
    if (!sawFirstByte) {
      sawFirstByte = true;
      firstByteNanos = System.nanoTime();
      backend.firstByte();
    }
    status = f.status();
    if (status >= 500 && canRetry()) {
      Channel c = upstream;
      detachUpstream();
      c.close();
      upstreamFailed(backend.id() + " answered " + status);
      return null;
    }
    upstreamKeepAlive = f.keepAlive();
    eventStream = f.eventStream();
    ResponseFramer.Framing framing = f.framing();
    dechunk =
        payload != null
            && (framing == ResponseFramer.Framing.CHUNKED
                || framing == ResponseFramer.Framing.UNTIL_CLOSE);
    if (dechunk) {
      keepAlive = false; // no length to give: the body ends when the router closes
    }
    String reason = decision.reason();
    ByteBuf head =
        clientOut
            .alloc()
            .ioBuffer(
                f.headBytes()
                    + 160
                    + backend.engineLine().length
                    + policy.name().length()
                    + reason.length()
                    + requestId.length());
    f.writeHead(head, dechunk);
    head.writeBytes(backend.engineLine());
    head.writeBytes(ROUTE_HEADER_BYTES);
    ByteBufUtil.writeAscii(head, policy.name());
    head.writeByte(';');
    ByteBufUtil.writeAscii(head, reason);
    head.writeShort(ResponseFramer.CRLF);
    AsciiBytes.writeHeader(head, REQUEST_ID_HEADER_BYTES, requestId);
    if (framing == ResponseFramer.Framing.UNTIL_CLOSE && !dechunk) {
      head.writeBytes(CHUNKED_LINE); // the body ends at the engine's close; the client's, chunked
    }
    if (!keepAlive) {
      head.writeBytes(CLOSE_LINE);
    }
    head.writeShort(ResponseFramer.CRLF);
    state = State.RELAYING;
    return head;
  }

  private static final byte[] ROUTE_HEADER_BYTES = AsciiBytes.ascii(ROUTE_HEADER + ": ");
  static final byte[] REQUEST_ID_HEADER_BYTES = AsciiBytes.ascii(REQUEST_ID_HEADER + ": ");
  private static final byte[] CHUNKED_LINE = AsciiBytes.ascii("transfer-encoding: chunked\r\n");
  private static final byte[] CLOSE_LINE = AsciiBytes.ascii("connection: close\r\n");

  /**
   * A piece of a streamed body: the first is the first token as the client sees it, the gaps
   * between the next ones are inter-token latencies (an engine sends each scheduler step's tokens
   * as one piece, as vLLM does).
   */
  private void timePiece() {
    long now = System.nanoTime();
    if (firstTokenNanos < 0) {
      firstTokenNanos = now;
      releasePrefill();
      if (status == 200) {
        series.firstToken(now - startNanos);
      }
    } else if (status == 200) {
      series.interToken(now - lastPieceNanos);
    }
    lastPieceNanos = now;
  }

  private void releasePrefill() {
    if (pendingPrefill > 0) {
      backend.prefillDone(pendingPrefill);
      pendingPrefill = 0;
    }
  }

  void onUpstreamClosed(Throwable cause) {
    if (state == State.DONE) {
      return;
    }
    detachUpstream();
    if (state == State.RELAYING
        && cause == null
        && framer != null
        && framer.framing() == ResponseFramer.Framing.UNTIL_CLOSE) {
      // The engine's close ends its body: the client's copy ends too.
      ChannelFuture written =
          clientOut.writeAndFlush(
              dechunk ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(LAST_CHUNK));
      if (!keepAlive) {
        written.addListener(ChannelFutureListener.CLOSE);
      }
      end(true);
      return;
    }
    if (state == State.WAITING_HEAD && reused && framer != null && !framer.sawBytes()) {
      // A kept-alive connection the engine closed while it sat idle (uvicorn, behind vLLM, closes
      // them after 5 s), before the router noticed. The engine closed without a byte of answer, so
      // it almost certainly never took the request: sent again on a new connection to the same
      // engine, as nginx does with its cached connections; not an engine failure, not an attempt.
      cancelTimer();
      connect();
      return;
    }
    String why =
        backend.id() + " closed the connection" + (cause == null ? "" : ": " + cause.getMessage());
    if (state == State.WAITING_HEAD) {
      upstreamFailed(why);
      return;
    }
    // Mid-response: the client already has part of it.
    backend.requestFailed(System.nanoTime());
    rc.observer().failed(backend.id(), "midstream");
    if (eventStream && dechunk) {
      // The stream ends with an OpenAI error event and [DONE], then the connection.
      clientOut
          .writeAndFlush(Unpooled.wrappedBuffer(midStreamError(why)))
          .addListener(ChannelFutureListener.CLOSE);
      end(false);
    } else if (eventStream && framer != null && framer.atChunkBoundary()) {
      // The stream ends with an OpenAI error event and [DONE], in a chunk of the router's own.
      byte[] tail = midStreamError(why);
      ByteBuf out = clientOut.alloc().ioBuffer(tail.length + 16);
      ByteBufUtil.writeAscii(out, Integer.toHexString(tail.length));
      out.writeShort(ResponseFramer.CRLF).writeBytes(tail).writeShort(ResponseFramer.CRLF);
      out.writeBytes(LAST_CHUNK);
      clientOut
          .writeAndFlush(out)
          .addListener(
              keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
      end(false);
    } else {
      // Anything else cut short: only closing tells the client the body is incomplete.
      client.close(); // first: the connection takes no pipelined request after this one
      end(false);
    }
  }

  private static final byte[] LAST_CHUNK = AsciiBytes.ascii("0\r\n\r\n");

  /** The SSE events that end a stream the engine broke off: an OpenAI error, then [DONE]. */
  private static byte[] midStreamError(String why) {
    byte[] err = OpenAiError.internal("The engine failed mid-stream: " + why).toJson();
    return ("data: " + new String(err, StandardCharsets.UTF_8) + "\n\ndata: [DONE]\n\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Payload ranges of the current read, passed on to the usage scanner too. */
  private static final class PayloadRanges implements ResponseFramer.DataSink {
    private final UsageScanner usage;
    int[] ranges = new int[8];
    int count;

    PayloadRanges(UsageScanner usage) {
      this.usage = usage;
    }

    @Override
    public void data(ByteBuf buf, int from, int to) {
      usage.data(buf, from, to);
      if (count == ranges.length) {
        ranges = java.util.Arrays.copyOf(ranges, count * 2);
      }
      ranges[count++] = from;
      ranges[count++] = to;
    }
  }

  /**
   * A failure before any response byte reached the client: retry elsewhere or answer with an error.
   */
  private void upstreamFailed(String why) {
    cancelTimer();
    lastError = why;
    releasePrefill();
    backend.finished(sawFirstByte, route.lora());
    backend.requestFailed(System.nanoTime());
    rc.observer().failed(backend.id(), sawFirstByte ? "status" : "connect");
    sawFirstByte = false;
    state = State.ROUTING;
    if (forcedEngine == null && canRetry()) {
      rc.observer().retried(backend.id());
      attempt();
    } else {
      series.finished(502, System.nanoTime() - startNanos, -1, -1);
      fail(new OpenAiError(502, "BadGatewayError", "Upstream engine failed: " + why, null));
    }
  }

  private boolean tried(String engine) {
    return engine.equals(firstTried) || (moreTried != null && moreTried.contains(engine));
  }

  private void addTried(String engine) {
    if (firstTried == null) {
      firstTried = engine;
    } else {
      if (moreTried == null) {
        moreTried = new ArrayList<>(2);
      }
      moreTried.add(engine);
    }
  }

  private int triedCount() {
    return firstTried == null ? 0 : 1 + (moreTried == null ? 0 : moreTried.size());
  }

  private boolean canRetry() {
    return triedCount() < rc.settings().maxAttempts() && rc.retryBudget().tryRetry();
  }

  // ---- client events ----

  void onClientClosed() {
    if (state == State.DONE) {
      return;
    }
    cancelTimer();
    Channel c = upstream;
    detachUpstream();
    if (c != null) {
      c.close(); // the engine sees the disconnect and aborts the request
    }
    if (backend != null && state != State.ROUTING) {
      rc.observer().failed(backend.id(), "client-disconnect");
      end(false);
    } else {
      state = State.DONE;
      releaseRequest();
    }
  }

  void onClientWritable() {
    if (upstream != null && client.channel().isWritable()) {
      upstream.config().setAutoRead(true);
    }
  }

  // ---- endings ----

  private void finish() {
    Channel c = upstream;
    detachUpstream();
    if (c != null) {
      if (upstreamKeepAlive) {
        rc.pool(client.channel().eventLoop()).release(backend.endpoint(), c);
      } else {
        c.close();
      }
    }
    end(true);
  }

  private void end(boolean success) {
    if (state == State.DONE) {
      return;
    }
    state = State.DONE;
    cancelTimer();
    long cached = usage == null ? -1 : usage.cachedTokens();
    if (success && cached >= 0 && decision != null && decision.predictedCachedTokens() >= 0) {
      rc.observer().cacheOutcome(backend.id(), decision.predictedCachedTokens(), (int) cached);
    }
    dev.llmstack.router.stats.AccessLog log = rc.accessLog();
    if (log != null) {
      long now = System.nanoTime();
      log.log(
          new dev.llmstack.router.stats.AccessLog.Entry(
              requestId,
              request.uri(),
              route.model(),
              backend.id(),
              policy.name(),
              decision == null ? "" : decision.reason(),
              success ? status : (status == 0 ? 499 : status),
              triedCount(),
              firstByteNanos < 0 ? -1 : (firstByteNanos - startNanos) / 1e6,
              firstTokenNanos < 0 ? -1 : (firstTokenNanos - startNanos) / 1e6,
              (now - startNanos) / 1e6,
              usage == null ? -1 : usage.promptTokens(),
              usage == null ? -1 : usage.completionTokens(),
              cached,
              route.stream()));
    }
    releasePrefill();
    backend.finished(sawFirstByte, route.lora());
    if (success && status < 500) {
      backend.requestSucceeded();
    }
    series.finished(
        status,
        System.nanoTime() - startNanos,
        usage == null ? -1 : usage.promptTokens(),
        usage == null ? -1 : usage.completionTokens());
    releaseRequest();
    owner.responded(client); // the next pipelined request may go
  }

  private void fail(OpenAiError error) {
    state = State.DONE;
    cancelTimer();
    RouterHandler.sendError(client, keepAlive, error, requestId);
    releaseRequest();
    owner.responded(client);
  }

  private void releaseRequest() {
    if (!released) {
      released = true;
      request.release();
    }
  }

  private void detachUpstream() {
    if (upstream != null) {
      UpstreamHandler h = UpstreamHandler.of(upstream);
      if (h != null) {
        h.exchange(null);
      }
      upstream = null;
    }
  }

  private void cancelTimer() {
    if (deadlines != null) {
      deadlines.disarm(this);
    }
  }
}
