package dev.llmstack.router.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.protocol.openai.ModelCards;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import dev.llmstack.router.admin.AdminApi;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.routing.RouteRequest;
import dev.llmstack.router.routing.RoutingPolicy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;

/**
 * One client connection: routes each request to the proxy, the model list, health, metrics or
 * admin.
 */
final class RouterHandler extends ChannelInboundHandlerAdapter {

  static final String POLICY_OVERRIDE_HEADER = "x-llmstack-policy";
  static final String ENGINE_OVERRIDE_HEADER = "x-llmstack-engine";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RouterServer server;
  private ProxyExchange current;

  /** Writes raw bytes to the client past the response encoder; proxied responses go out here. */
  private ChannelHandlerContext rawOut;

  /**
   * The request being answered is a HEAD: its response goes out without a body. HttpServerCodec did
   * this; the router's request framer and response encoder (RouterServer) do not.
   */
  private boolean answeringHead;

  RouterHandler(RouterServer server) {
    this.server = server;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    rawOut = ctx.pipeline().context(HttpResponseEncoder.class);
    framer = ctx.pipeline().get(RequestFramer.class);
    this.ctx = ctx;
  }

  private RequestFramer framer;
  private ChannelHandlerContext ctx;

  /**
   * Reads the usage numbers of this connection's responses, one exchange after another (the next
   * starts only once the last has responded): one per request was a tenth of the event loop's
   * allocation. Made at the first proxied request, so other connections carry none.
   */
  private UsageScanner usage;

  UsageScanner usage() {
    if (usage == null) {
      usage = new UsageScanner();
    }
    return usage;
  }

  /**
   * The connection's deadline for its next request, armed while the router owes it no response
   * (after connecting, and after each response); null when the timeout is off.
   */
  private NextRequest nextRequest;

  private final class NextRequest extends HeadDeadlines.Waiter {
    final HeadDeadlines deadlines;
    final long timeoutNanos;

    NextRequest(HeadDeadlines deadlines, long timeoutNanos) {
      this.deadlines = deadlines;
      this.timeoutNanos = timeoutNanos;
    }

    @Override
    void headTimedOut() {
      clientTimedOut();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    long timeout = server.settings().clientTimeoutMs();
    if (timeout > 0) {
      nextRequest =
          new NextRequest(
              server.clientDeadlines(ctx.channel().eventLoop()),
              java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(timeout));
      awaitNextRequest();
    }
    ctx.fireChannelActive();
  }

  /** Owing the client nothing now: its next request must come within the timeout. */
  private void awaitNextRequest() {
    if (nextRequest != null && !busy && !lastRequest && ctx.channel().isActive()) {
      nextRequest.deadlines.arm(nextRequest, nextRequest.timeoutNanos);
    }
  }

  /**
   * No complete request in time: a request half sent gets 408 (as nginx's client_header_timeout
   * answers), an idle connection is just closed (as its keepalive_timeout does).
   */
  private void clientTimedOut() {
    if (busy || !ctx.channel().isActive()) {
      return;
    }
    lastRequest = true;
    if (framer != null && framer.midRequest()) {
      server.observer().rejected(408);
      sendError(
          ctx,
          false,
          new OpenAiError(
              408,
              "RequestTimeoutError",
              "The request did not arrive within the router's client timeout of "
                  + server.settings().clientTimeoutMs()
                  + " ms.",
              null),
          null);
    } else {
      ctx.close();
    }
  }

  /**
   * A response is still being produced (a proxied exchange, or a page rendered off the loop).
   * Requests a client pipelines behind it wait in {@link #waiting}: HTTP/1.1 answers them in order
   * (RFC 9112 §9.3.2), and two exchanges writing to one connection would interleave their bytes.
   */
  private boolean busy;

  private java.util.ArrayDeque<ClientMessage> waiting;

  /** The request being answered asked to close the connection: nothing after it is answered. */
  private boolean lastRequest;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ClientMessage m)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (nextRequest != null) {
      nextRequest.deadlines.disarm(nextRequest);
    }
    if (lastRequest) {
      discard(m); // pipelined behind "Connection: close" (RFC 9112 §9.6): dropped
      return;
    }
    if (busy) {
      if (waiting == null) {
        waiting = new java.util.ArrayDeque<>(2);
      }
      waiting.add(m);
      ctx.channel().config().setAutoRead(false); // read on once the queue is served
      return;
    }
    dispatch(ctx, m);
    awaitNextRequest();
  }

  private void dispatch(ChannelHandlerContext ctx, ClientMessage m) {
    switch (m) {
      case ClientMessage.Request r -> {
        boolean handedOver = false;
        try {
          handedOver = handle(ctx, r);
        } finally {
          if (!handedOver) {
            r.release();
          }
        }
      }
      case ClientMessage.ContinueExpected c ->
          rawOut.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE), rawOut.voidPromise());
      case ClientMessage.Refused f -> {
        lastRequest = true;
        answeringHead = false;
        server.observer().rejected(f.error().status());
        sendError(ctx, false, f.error(), null);
      }
    }
  }

  private static final byte[] CONTINUE =
      "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private static void discard(ClientMessage m) {
    if (m instanceof ClientMessage.Request r) {
      r.release();
    }
  }

  /**
   * The response to the current request is written in full: the next pipelined request, if any, is
   * handled now.
   */
  void responded(ChannelHandlerContext ctx) {
    busy = false;
    if (waiting != null) {
      if (!ctx.channel().isActive()) {
        releaseWaiting();
        return;
      }
      while (!busy && !lastRequest && !waiting.isEmpty()) {
        dispatch(ctx, waiting.poll());
      }
      if (lastRequest) {
        releaseWaiting();
      } else if (!busy) {
        ctx.channel().config().setAutoRead(true);
      }
    }
    awaitNextRequest();
  }

  private void releaseWaiting() {
    if (waiting != null) {
      waiting.forEach(RouterHandler::discard);
      waiting.clear();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseWaiting();
    if (nextRequest != null) {
      nextRequest.deadlines.disarm(nextRequest);
    }
  }

  /** Answers or proxies {@code req}; returns whether an exchange took it over (and frees it). */
  private boolean handle(ChannelHandlerContext ctx, ClientMessage.Request req) {
    answeringHead = req.method() == HttpMethod.HEAD;
    boolean keepAlive = req.keepAlive();
    lastRequest = !keepAlive;
    String requestId = req.requestId();
    if (requestId == null || requestId.isEmpty() || requestId.length() > 128) {
      requestId = newRequestId();
    }
    String uri = req.uri();
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    HttpMethod m = req.method();
    try {
      switch (path) {
        case "/v1/chat/completions", "/v1/completions", "/v1/embeddings" -> {
          if (m != HttpMethod.POST) {
            throw new OpenAiException(
                new OpenAiError(405, "MethodNotAllowed", "Use POST for " + path + ".", null));
          }
          proxy(ctx, req, keepAlive, requestId);
          return true;
        }
        case "/v1/models" -> sendJson(ctx, keepAlive, HttpResponseStatus.OK, models());
        case "/health" -> health(ctx, keepAlive);
        case "/metrics" -> metrics(ctx, keepAlive);
        default -> {
          if (server.dashboard() != null && dev.llmstack.router.ui.DashboardHandler.handles(path)) {
            dashboard(ctx, keepAlive, m, path);
          } else if (path.equals("/admin/engines") || path.startsWith("/admin/engines/")) {
            AdminApi.Reply r = server.admin().handle(m, path, req.body(), uri);
            sendJson(ctx, keepAlive, HttpResponseStatus.valueOf(r.status()), r.json());
          } else {
            throw new OpenAiException(
                new OpenAiError(404, "NotFoundError", "Not found: " + m + " " + path, null));
          }
        }
      }
    } catch (OpenAiException e) {
      server.observer().rejected(e.error().status());
      sendError(ctx, keepAlive, e.error(), requestId);
    }
    return false;
  }

  /**
   * Routes {@code req} and starts its exchange, which owns it from then on; throws an
   * OpenAiException (the request still the caller's) when it cannot be routed.
   */
  private void proxy(
      ChannelHandlerContext ctx, ClientMessage.Request req, boolean keepAlive, String requestId) {
    RequestFields f = RequestFields.read(req.body());
    String model = f.model();
    if (model == null) {
      var models = server.registry().models();
      if (models.size() == 1) {
        model = models.iterator().next(); // vLLM, too, serves a request without model
      } else {
        throw new OpenAiException(OpenAiError.badRequest("Field required: model", "model"));
      }
    }
    if (!server.registry().serves(model)) {
      throw new OpenAiException(OpenAiError.modelNotFound(model));
    }
    RoutingPolicy policy = server.defaultPolicy();
    String override = req.policyOverride();
    if (override != null) {
      policy = server.policies().get(override);
      if (policy == null) {
        throw new OpenAiException(
            OpenAiError.badRequest(
                "Unknown routing policy '" + override + "'; known: " + server.policies().names(),
                POLICY_OVERRIDE_HEADER));
      }
    }
    String engine = req.engineOverride();
    if (engine != null) {
      Backend b = server.registry().get(engine);
      if (b == null) {
        throw new OpenAiException(
            OpenAiError.badRequest("Unknown engine '" + engine + "'.", ENGINE_OVERRIDE_HEADER));
      }
    }
    String session = req.session();
    if (session == null) {
      session = f.user();
    }
    busy = true; // until the exchange ends (ProxyExchange calls responded)
    RouteRequest route = new RouteRequest(model, session, f.stream());
    if (policy instanceof dev.llmstack.router.routing.CacheAwarePolicy) {
      // Tokenizing costs milliseconds: do it on a worker, then route on this event loop.
      RouterServer.CacheAware ca = server.cacheAware();
      RoutingPolicy chosen = policy;
      String m = model;
      String e = engine;
      boolean chat = req.uri().startsWith("/v1/chat/completions");
      try {
        ca.pool()
            .execute(
                () -> {
                  long t0 = System.nanoTime();
                  // A LoRA adapter runs on its base model's tokenizer, with its name in the keys.
                  String base = server.registry().baseModelOf(m);
                  var keys =
                      base == null
                          ? ca.keys().compute(m, req.body(), chat)
                          : ca.keys().compute(base, m, req.body(), chat);
                  server
                      .metrics()
                      .promptKeys(
                          keys == null ? RouteRequest.KeySource.NONE : keys.source(),
                          System.nanoTime() - t0);
                  RouteRequest keyed =
                      new RouteRequest(
                          m,
                          route.sessionKey(),
                          route.stream(),
                          keys == null ? null : keys.keys(),
                          keys == null ? 0 : keys.promptTokens(),
                          keys == null ? RouteRequest.KeySource.NONE : keys.source(),
                          base == null ? null : m);
                  ctx.executor()
                      .execute(() -> start(ctx, req, keepAlive, keyed, chosen, e, requestId));
                });
      } catch (java.util.concurrent.RejectedExecutionException rejected) {
        start(ctx, req, keepAlive, route, policy, engine, requestId);
      }
      return;
    }
    start(ctx, req, keepAlive, route, policy, engine, requestId);
  }

  private void start(
      ChannelHandlerContext ctx,
      ClientMessage.Request req,
      boolean keepAlive,
      RouteRequest route,
      RoutingPolicy policy,
      String engine,
      String requestId) {
    if (!ctx.channel().isActive()) {
      req.release();
      return;
    }
    ProxyExchange ex =
        new ProxyExchange(
            server, this, ctx, rawOut, req, keepAlive, route, policy, engine, requestId);
    current = ex;
    ex.start();
  }

  private String models() {
    ObjectNode root = JSON.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    Map<String, JsonNode> cards = new java.util.TreeMap<>();
    for (Backend b : server.registry().all()) {
      b.modelCards().forEach(cards::putIfAbsent);
    }
    // Base models first, then LoRA adapters (cards with a parent), as vLLM lists them: clients
    // that take the first card as the default model get a base model.
    cards.values().stream().filter(c -> ModelCards.adapterParent(c) == null).forEach(data::add);
    cards.values().stream().filter(c -> ModelCards.adapterParent(c) != null).forEach(data::add);
    return root.toString();
  }

  private void health(ChannelHandlerContext ctx, boolean keepAlive) {
    long now = System.nanoTime();
    int routable = 0;
    for (Backend b : server.registry().all()) {
      if (b.routable(now) && !b.models().isEmpty()) {
        routable++;
      }
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("status", routable > 0 ? "ok" : "no-engines");
    o.put("routable_engines", routable);
    o.put("engines", server.registry().all().size());
    sendJson(
        ctx,
        keepAlive,
        routable > 0 ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
        o.toString());
  }

  /**
   * Renders /metrics on the render thread, not on this event loop: with many engines a scrape is
   * megabytes of text and tens of milliseconds, which would stall every stream on this loop.
   */
  private void metrics(ChannelHandlerContext ctx, boolean keepAlive) {
    respondOffLoop(
        ctx,
        keepAlive,
        "metrics",
        () -> {
          ByteBuf buf = ctx.alloc().buffer(8192);
          try (var out = new io.netty.buffer.ByteBufOutputStream(buf)) {
            server.metrics().writeTo(out);
          } catch (java.io.IOException | RuntimeException e) {
            buf.release();
            throw e instanceof java.io.IOException io
                ? new java.io.UncheckedIOException(io)
                : (RuntimeException) e;
          }
          FullHttpResponse resp =
              new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, buf);
          resp.headers().set(HttpHeaderNames.CONTENT_TYPE, server.metrics().contentType());
          return resp;
        });
  }

  /**
   * Serves the dashboard on the render thread too: its state is rendered there on the first look
   * after nobody watched (DashboardState), which must not stall this loop's streams.
   */
  private void dashboard(ChannelHandlerContext ctx, boolean keepAlive, HttpMethod m, String path) {
    if (m != HttpMethod.GET) {
      throw new OpenAiException(
          new OpenAiError(405, "MethodNotAllowed", "Use GET for " + path + ".", null));
    }
    respondOffLoop(
        ctx,
        keepAlive,
        "dashboard",
        () -> {
          var r = server.dashboard().handle(path);
          FullHttpResponse resp =
              new DefaultFullHttpResponse(
                  HttpVersion.HTTP_1_1,
                  HttpResponseStatus.valueOf(r.status()),
                  Unpooled.wrappedBuffer(r.body()));
          resp.headers()
              .set(HttpHeaderNames.CONTENT_TYPE, r.contentType())
              .set(HttpHeaderNames.CACHE_CONTROL, r.cacheControl())
              .set("x-content-type-options", "nosniff");
          return resp;
        });
  }

  /**
   * Builds a response on the router's render thread and writes it back on this connection's event
   * loop; a failed build becomes a 500, a router shutting down a 503.
   */
  private void respondOffLoop(
      ChannelHandlerContext ctx,
      boolean keepAlive,
      String what,
      java.util.function.Supplier<FullHttpResponse> build) {
    boolean head = answeringHead;
    busy = true;
    try {
      server
          .renderExecutor()
          .execute(
              () -> {
                FullHttpResponse resp;
                try {
                  resp = build.get();
                } catch (RuntimeException e) {
                  ctx.executor()
                      .execute(
                          () -> {
                            sendError(
                                ctx,
                                keepAlive,
                                OpenAiError.internal(what + ": " + e.getMessage()),
                                null);
                            responded(ctx);
                          });
                  return;
                }
                try {
                  ctx.executor()
                      .execute(
                          () -> {
                            write(ctx, keepAlive, resp, head);
                            responded(ctx);
                          });
                } catch (java.util.concurrent.RejectedExecutionException loopGone) {
                  resp.release(); // the router stopped while this rendered
                }
              });
    } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
      busy = false;
      sendError(ctx, keepAlive, OpenAiError.unavailable("The router is shutting down."), null);
    }
  }

  /**
   * A random 128-bit id in UUID form. UUID.randomUUID() draws from SecureRandom, which costs more
   * than the whole rest of routing a request; an id needs uniqueness, not unpredictability.
   */
  static String newRequestId() {
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    return new UUID(r.nextLong(), r.nextLong()).toString();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (nextRequest != null) {
      nextRequest.deadlines.disarm(nextRequest);
    }
    if (current != null) {
      current.onClientClosed();
      current = null;
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (current != null) {
      current.onClientWritable();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  static void sendError(
      ChannelHandlerContext ctx, boolean keepAlive, OpenAiError error, String requestId) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(error.status()),
            Unpooled.wrappedBuffer(error.toJson()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    if (requestId != null) {
      resp.headers().set(ProxyExchange.REQUEST_ID_HEADER, requestId);
    }
    write(ctx, keepAlive, resp);
  }

  static void sendJson(
      ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status, String json) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    write(ctx, keepAlive, resp);
  }

  private static void write(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse resp) {
    write(ctx, keepAlive, resp, ctx.handler() instanceof RouterHandler h && h.answeringHead);
  }

  private static void write(
      ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse full, boolean headOnly) {
    full.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, full.content().readableBytes());
    FullHttpResponse resp = full;
    if (headOnly) {
      resp = full.replace(Unpooled.EMPTY_BUFFER); // the same head, the length of the body
      full.release();
    }
    if (keepAlive) {
      ctx.writeAndFlush(resp);
    } else {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
