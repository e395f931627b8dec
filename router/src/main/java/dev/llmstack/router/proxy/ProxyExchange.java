package dev.llmstack.router.proxy;

import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.routing.Decision;
import dev.llmstack.router.routing.RouteRequest;
import dev.llmstack.router.routing.RoutingPolicy;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
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
  private final ChannelHandlerContext client;
  private final FullHttpRequest request;
  private final boolean keepAlive;
  private final RouteRequest route;
  private final RoutingPolicy policy;
  private final String forcedEngine;
  private final String requestId;
  private final List<String> tried = new ArrayList<>(2);
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
  private boolean headersCleaned;
  private UsageScanner usage; // reads the engine's usage numbers as they stream by
  private long firstByteNanos = -1;
  private RouterObserver.Series series = RouterObserver.Series.NONE;
  private long firstTokenNanos = -1;

  /** Prefill this request adds to its engine's queue until its first token; 0 once released. */
  private long pendingPrefill;

  private long lastPieceNanos;

  ProxyExchange(
      RouterContext rc,
      ChannelHandlerContext client,
      FullHttpRequest request,
      boolean keepAlive,
      RouteRequest route,
      RoutingPolicy policy,
      String forcedEngine,
      String requestId) {
    this.rc = rc;
    this.client = client;
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
    candidates.removeIf(b -> tried.contains(b.id()));
    if (forcedEngine != null) {
      candidates.removeIf(b -> !b.id().equals(forcedEngine));
    }
    if (candidates.isEmpty()) {
      String msg =
          tried.isEmpty()
              ? (forcedEngine != null
                  ? "Engine " + forcedEngine + " is not available for model " + route.model() + "."
                  : "No healthy engine serves model " + route.model() + " right now.")
              : "All engines tried for this request failed: " + lastError;
      fail(
          tried.isEmpty()
              ? OpenAiError.unavailable(msg)
              : new OpenAiError(502, "BadGatewayError", msg, null));
      return;
    }
    decision = policy.pick(route, candidates);
    backend = rc.registry().get(decision.backend().id());
    if (backend == null) {
      tried.add(decision.backend().id());
      attempt();
      return;
    }
    tried.add(backend.id());
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
    rc.observer().routed(requestId, route.model(), policy.name(), decision, tried.size() > 1);
    series = rc.observer().series(backend.id(), route.model());
    state = State.WAITING_HEAD;
    Channel idle = rc.pool(client.channel().eventLoop()).pollIdle(backend.endpoint());
    if (idle != null) {
      send(idle);
      return;
    }
    Backend target = backend;
    rc.pool(client.channel().eventLoop())
        .connect(target.endpoint())
        .addListener(
            (ChannelFuture f) -> {
              if (state == State.DONE || backend != target) {
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
    UpstreamHandler.of(ch).exchange(this);
    // The client's headers object goes upstream as it is, hop-by-hop headers removed once (a retry
    // sends the same, already clean, map): copying it into a new map per request was a fifth of
    // the router's allocation. The client's trailers are not forwarded (a Content-Length body
    // has none).
    HttpHeaders headers = request.headers();
    if (!headersCleaned) {
      Headers.stripHopByHop(headers);
      headersCleaned = true;
    }
    headers.set(HttpHeaderNames.HOST, backend.hostHeader());
    // The client's own x-request-id and Content-Length are usually right already: kept as they are.
    if (!requestId.equals(headers.get(REQUEST_ID_HEADER))) {
      headers.set(REQUEST_ID_HEADER, requestId);
    }
    // HTTP/1.1 guarantees one Content-Length value here (Netty's decoder rejects a second one).
    int length = request.content().readableBytes();
    if (request.protocolVersion() != io.netty.handler.codec.http.HttpVersion.HTTP_1_1
        || headers.getInt(HttpHeaderNames.CONTENT_LENGTH, -1) != length) {
      headers.setInt(HttpHeaderNames.CONTENT_LENGTH, length);
    }
    DefaultFullHttpRequest out =
        new DefaultFullHttpRequest(
            request.protocolVersion(),
            request.method(),
            request.uri(),
            request.content().retainedDuplicate(),
            headers,
            EmptyHttpHeaders.INSTANCE);
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

  void onUpstream(Object msg) {
    try {
      if (state == State.DONE) {
        return;
      }
      if (msg instanceof HttpResponse r) {
        onHead(r);
      }
      if (state == State.RELAYING && msg instanceof HttpContent c) {
        usage.scan(c.content());
        if (eventStream && c.content().isReadable()) {
          timePiece();
        }
        if (c instanceof LastHttpContent last) {
          // The engine's trailers are not forwarded; without any, the decoder's object goes on.
          LastHttpContent out =
              last.trailingHeaders().isEmpty()
                  ? last.retain()
                  : new DefaultLastHttpContent(last.content().retain(), EmptyHttpHeaders.INSTANCE);
          if (keepAlive) {
            // A failed write fires exceptionCaught, which closes the client (CLOSE_ON_FAILURE).
            client.writeAndFlush(out, client.voidPromise());
          } else {
            client.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
          }
          finish();
        } else {
          client.writeAndFlush(c.retain(), client.voidPromise());
          if (!client.channel().isWritable()) {
            upstream.config().setAutoRead(false);
          }
        }
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onHead(HttpResponse r) {
    cancelTimer();
    if (!sawFirstByte) {
      sawFirstByte = true;
      firstByteNanos = System.nanoTime();
      backend.firstByte();
    }
    status = r.status().code();
    if (status >= 500 && canRetry()) {
      Channel c = upstream;
      detachUpstream();
      c.close();
      upstreamFailed(backend.id() + " answered " + status);
      return;
    }
    upstreamKeepAlive = HttpUtil.isKeepAlive(r);
    HttpHeaders from = r.headers();
    String ct = from.get(HttpHeaderNames.CONTENT_TYPE);
    eventStream = ct != null && ct.startsWith("text/event-stream");
    boolean hasLength = from.contains(HttpHeaderNames.CONTENT_LENGTH);
    HttpResponse head;
    if (hasLength || HttpUtil.isTransferEncodingChunked(r)) {
      // The engine's response head goes to the client, cleaned in place. Safe for the decoder,
      // which still reads this map until the body ends: it only asks whether the body is chunked,
      // and that answer stays the same.
      Headers.stripHopByHop(from);
      head = r;
    } else {
      // A body that ends when the engine closes: the client gets it chunked, but the decoder must
      // keep seeing an unchunked message to end it at the close, so the head is a copy.
      head = new DefaultHttpResponse(r.protocolVersion(), r.status(), Headers.UNVALIDATED);
      Headers.copyEndToEnd(from, head.headers());
    }
    if (!hasLength) {
      HttpUtil.setTransferEncodingChunked(head, true);
    }
    head.headers()
        .set(ENGINE_HEADER, backend.id())
        .set(ROUTE_HEADER, policy.name() + ";" + decision.reason())
        .set(REQUEST_ID_HEADER, requestId);
    if (!keepAlive) {
      head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    client.write(head, client.voidPromise());
    state = State.RELAYING;
    // Token counts for metrics and the access log; the scan stops only at colons (UsageScanner).
    usage = new UsageScanner();
  }

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
    String why =
        backend.id() + " closed the connection" + (cause == null ? "" : ": " + cause.getMessage());
    detachUpstream();
    if (state == State.WAITING_HEAD) {
      upstreamFailed(why);
      return;
    }
    // Mid-response: the client already has part of it.
    backend.requestFailed(System.nanoTime());
    rc.observer().failed(backend.id(), "midstream");
    if (eventStream) {
      byte[] err = OpenAiError.internal("The engine failed mid-stream: " + why).toJson();
      String tail = "data: " + new String(err, StandardCharsets.UTF_8) + "\n\ndata: [DONE]\n\n";
      client.write(new DefaultHttpContent(Unpooled.copiedBuffer(tail, StandardCharsets.UTF_8)));
      client
          .writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
          .addListener(
              keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
      end(false);
    } else {
      end(false);
      client.close();
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

  private boolean canRetry() {
    return tried.size() < rc.settings().maxAttempts() && rc.retryBudget().tryRetry();
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
              tried.size(),
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
  }

  private void fail(OpenAiError error) {
    state = State.DONE;
    cancelTimer();
    RouterHandler.sendError(client, keepAlive, error, requestId);
    releaseRequest();
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
