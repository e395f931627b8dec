package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What crosses the router, header by header, on the wire: hop-by-hop headers stay on their hop in
 * both directions, end-to-end headers pass, Host names the engine, x-request-id is forwarded and
 * returned, and the framing (Content-Length or chunked) is right for each kind of engine response.
 * A raw socket on the client side, since HTTP clients hide or refuse hop-by-hop headers.
 */
class HeaderHandlingIT {

  static final String BODY =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  StubEngine a;
  StubEngine b;
  Router router;

  @BeforeEach
  void start() throws Exception {
    a = new StubEngine();
    b = new StubEngine();
  }

  @AfterEach
  void stop() {
    if (router != null) {
      router.close();
    }
    a.close();
    b.close();
  }

  Router router(StubEngine... engines) throws Exception {
    return router(RouterSettings.defaults(), engines);
  }

  Router router(RouterSettings settings, StubEngine... engines) throws Exception {
    List<String> urls = new ArrayList<>();
    for (StubEngine e : engines) {
      urls.add(e.url());
    }
    router =
        Router.start(
            settings
                .port(0)
                .backends(urls)
                .healthIntervalMs(100)
                .scrapeIntervalMs(200)
                .ioThreads(1)
                .drainSeconds(0));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (router.registry().all().stream()
            .filter(x -> x.modelsKnown() && x.routable(System.nanoTime()))
            .count()
        < engines.length) {
      assertThat(System.nanoTime()).as("engines ready").isLessThan(deadline);
      Thread.sleep(20);
    }
    return router;
  }

  static String request(String mode, String... extraHeaderLines) {
    StringBuilder sb =
        new StringBuilder()
            .append("POST /v1/chat/completions HTTP/1.1\r\n")
            .append("Host: the-router\r\n")
            .append("Content-Type: application/json\r\n")
            .append("Content-Length: ")
            .append(BODY.getBytes(StandardCharsets.UTF_8).length)
            .append("\r\n")
            .append("x-test-mode: ")
            .append(mode)
            .append("\r\n");
    for (String line : extraHeaderLines) {
      sb.append(line).append("\r\n");
    }
    return sb.append("\r\n").append(BODY).toString();
  }

  @Test
  void hopByHopHeadersStayOnTheirHopBothWays() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      send(
          s,
          request(
              "length",
              "Connection: keep-alive, X-Client-Hop",
              "X-Client-Hop: secret",
              "Keep-Alive: timeout=5",
              "Proxy-Authorization: Basic abc",
              "Proxy-Connection: keep-alive",
              "TE: trailers",
              "Upgrade: h2c",
              "x-request-id: my-trace-1",
              "x-end-to-end: kept"));
      Reply reply = Reply.read(s.getInputStream());

      Seen seen = a.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen).isNotNull();
      for (String hop :
          List.of(
              "connection",
              "x-client-hop",
              "keep-alive",
              "proxy-authorization",
              "proxy-connection",
              "te",
              "upgrade",
              "transfer-encoding")) {
        assertThat(seen.all(hop)).as("forwarded %s", hop).isEmpty();
      }
      assertThat(seen.all("host")).containsExactly("127.0.0.1:" + a.port());
      assertThat(seen.all("x-request-id")).containsExactly("my-trace-1");
      assertThat(seen.all("x-end-to-end")).containsExactly("kept");
      assertThat(seen.all("content-type")).containsExactly("application/json");
      assertThat(seen.all("content-length"))
          .containsExactly(Integer.toString(BODY.getBytes(StandardCharsets.UTF_8).length));
      assertThat(seen.body()).isEqualTo(BODY);

      assertThat(reply.status()).isEqualTo(200);
      for (String hop :
          List.of(
              "connection",
              "x-engine-hop",
              "keep-alive",
              "proxy-authenticate",
              "upgrade",
              "trailer",
              "transfer-encoding")) {
        assertThat(reply.all(hop)).as("returned %s", hop).isEmpty();
      }
      assertThat(reply.all("x-engine-end")).containsExactly("kept");
      assertThat(reply.all("x-request-id")).containsExactly("my-trace-1");
      assertThat(reply.all("x-llmstack-engine")).containsExactly(a.url());
      assertThat(reply.all("content-length"))
          .containsExactly(Integer.toString(StubEngine.JSON.length()));
      assertThat(reply.body()).isEqualTo(StubEngine.JSON);

      // The connection stays open: a chunked engine response goes on chunked, without trailers.
      send(s, request("chunked"));
      Reply chunked = Reply.read(s.getInputStream());
      assertThat(chunked.status()).isEqualTo(200);
      assertThat(chunked.all("transfer-encoding")).containsExactly("chunked");
      assertThat(chunked.all("content-length")).isEmpty();
      assertThat(chunked.all("trailer")).isEmpty();
      assertThat(chunked.trailers()).isEmpty();
      assertThat(chunked.body()).isEqualTo(String.join("", StubEngine.EVENTS));
      assertThat(chunked.all("x-request-id")).hasSize(1);
      Seen second = a.seen.poll(5, TimeUnit.SECONDS);
      assertThat(second.all("x-request-id")).isEqualTo(chunked.all("x-request-id"));

      // A body the engine ends by closing its connection reaches the client whole, chunked.
      send(s, request("close"));
      Reply closeDelimited = Reply.read(s.getInputStream());
      assertThat(closeDelimited.status()).isEqualTo(200);
      assertThat(closeDelimited.all("transfer-encoding")).containsExactly("chunked");
      assertThat(closeDelimited.all("connection")).isEmpty();
      assertThat(closeDelimited.body()).isEqualTo(StubEngine.JSON);

      // A client that asks to close gets Connection: close, then the router closes.
      send(s, request("length", "Connection: close"));
      Reply last = Reply.read(s.getInputStream());
      assertThat(last.status()).isEqualTo(200);
      assertThat(last.all("connection")).containsExactly("close");
      assertThat(last.body()).isEqualTo(StubEngine.JSON);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void aRetriedRequestCarriesTheNextEnginesHostAndTheSameRequestId() throws Exception {
    a.failChats = true; // 503: the router moves the request to b
    Router r = router(a, b);
    try (Socket s = connect(r)) {
      for (int i = 0; i < 4; i++) {
        send(s, request("length", "Connection: X-Client-Hop", "X-Client-Hop: x"));
        Reply reply = Reply.read(s.getInputStream());
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.all("x-llmstack-engine")).containsExactly(b.url());
        String id = reply.all("x-request-id").get(0);
        Seen seen = b.seen.poll(5, TimeUnit.SECONDS);
        assertThat(seen.all("host")).containsExactly("127.0.0.1:" + b.port());
        assertThat(seen.all("x-request-id")).containsExactly(id);
        assertThat(seen.all("x-client-hop")).isEmpty();
        assertThat(seen.all("connection")).isEmpty();
        assertThat(seen.body()).isEqualTo(BODY);
      }
    }
    Seen atA = a.seen.poll(5, TimeUnit.SECONDS);
    assertThat(atA).as("some request went to a first").isNotNull();
    assertThat(atA.all("host")).containsExactly("127.0.0.1:" + a.port());
    assertThat(atA.all("x-client-hop")).isEmpty();
  }

  @Test
  void twoEqualContentLengthsReachTheEngineAsOneAndConflictingOnesAreRefused() throws Exception {
    Router r = router(a);
    int n = BODY.getBytes(StandardCharsets.UTF_8).length;
    try (Socket s = connect(r)) {
      send(
          s,
          "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Length: "
              + n
              + "\r\nContent-Length: "
              + n
              + "\r\nx-test-mode: length\r\n\r\n"
              + BODY);
      Reply reply = Reply.read(s.getInputStream());
      assertThat(reply.status()).isEqualTo(200);
      Seen seen = a.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.all("content-length")).containsExactly(Integer.toString(n));
      assertThat(seen.body()).isEqualTo(BODY);
    }
    // Two lengths that differ leave the body's end unknown: a request an intermediary could read
    // differently from the engine (RFC 9112 §6.3). Refused, and the connection ends.
    try (Socket s = connect(r)) {
      send(
          s,
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: "
              + n
              + "\r\nContent-Length: "
              + (n + 5)
              + "\r\nx-test-mode: length\r\n\r\n"
              + BODY
              + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      Reply reply = Reply.read(s.getInputStream());
      assertThat(reply.status()).isEqualTo(400);
      assertThat(reply.body()).contains("\"error\"").contains("Content-Length");
      assertThat(reply.all("connection")).containsExactly("close");
      assertThat(s.getInputStream().read()).as("nothing after it is answered").isEqualTo(-1);
    }
    assertThat(a.seen).as("the refused request never reached the engine").isEmpty();
  }

  @Test
  void aRequestSmuggledBehindTransferEncodingAndContentLengthIsRefused() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      // The classic CL.TE desync: a front end that trusts Content-Length forwards the whole, an
      // engine that trusts Transfer-Encoding would read a second request from the body.
      String smuggled = "0\r\n\r\nPOST /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n";
      send(
          s,
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: "
              + smuggled.length()
              + "\r\nTransfer-Encoding: chunked\r\n\r\n"
              + smuggled);
      Reply reply = Reply.read(s.getInputStream());
      assertThat(reply.status()).isEqualTo(400);
      assertThat(reply.body()).contains("Transfer-Encoding");
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(a.seen).isEmpty();
  }

  @Test
  void anEngineThatNeverAnswersIsLeftForAnotherAfterTheFirstByteTimeout() throws Exception {
    a.silent = true;
    Router r = router(RouterSettings.defaults().firstByteTimeoutMs(300), a, b);
    try (Socket s = connect(r)) {
      // Round-robin sends some of these to the silent engine first; each must still succeed.
      for (int i = 0; i < 4; i++) {
        long t0 = System.nanoTime();
        send(s, request("length"));
        Reply reply = Reply.read(s.getInputStream());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.all("x-llmstack-engine")).containsExactly(b.url());
        assertThat(ms).isLessThan(5_000);
      }
    }
    assertThat(a.seen).as("the silent engine was tried").isNotEmpty();
    assertThat(b.seen).hasSize(4);
  }

  @Test
  void aRequestPinnedToASilentEngineGets502AfterTheFirstByteTimeout() throws Exception {
    a.silent = true;
    Router r = router(RouterSettings.defaults().firstByteTimeoutMs(300), a, b);
    try (Socket s = connect(r)) {
      long t0 = System.nanoTime();
      send(s, request("length", "x-llmstack-engine: " + a.url()));
      Reply reply = Reply.read(s.getInputStream());
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(reply.status()).isEqualTo(502);
      assertThat(reply.body()).contains("no response from").contains("within 300 ms");
      assertThat(ms).isBetween(300L, 5_000L);
    }
  }

  @Test
  void aLargeBodyReachesTheEngineWhole() throws Exception {
    Router r = router(a);
    // Over the size the router copies behind the request head: sent as a second piece.
    String content = "x".repeat(200_000) + "\u00e9\u4e2d";
    String body =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    try (Socket s = connect(r)) {
      s.getOutputStream()
          .write(
              ("POST /v1/chat/completions?trace=1 HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      + bytes.length
                      + "\r\nx-test-mode: length\r\nX-Mixed-Case: Value With Spaces\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(bytes);
      assertThat(Reply.read(s.getInputStream()).status()).isEqualTo(200);
      Seen seen = a.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.body()).isEqualTo(body);
      assertThat(seen.all("content-length")).containsExactly(Integer.toString(bytes.length));
      assertThat(seen.all("x-mixed-case")).containsExactly("Value With Spaces");
      assertThat(seen.uri()).isEqualTo("/v1/chat/completions?trace=1");
    }
  }

  @Test
  void aKeptAliveConnectionTheEngineClosedIsReplacedNotCountedAsAFailure() throws Exception {
    Router r = router(a); // one engine: a failure would leave nowhere to retry
    try (Socket s = connect(r)) {
      send(s, request("length"));
      assertThat(Reply.read(s.getInputStream()).status()).isEqualTo(200);
      assertThat(a.seen.poll(5, TimeUnit.SECONDS)).isNotNull();
      for (int i = 0; i < 3; i++) {
        // The pooled connection is closed on arrival; the router sends again on a new one.
        send(s, request("drop-if-reused"));
        Reply reply = Reply.read(s.getInputStream());
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body()).isEqualTo(StubEngine.JSON);
        assertThat(a.seen.poll(5, TimeUnit.SECONDS))
            .as("dropped on the reused connection")
            .isNotNull();
        assertThat(a.seen.poll(5, TimeUnit.SECONDS)).as("answered on a new one").isNotNull();
      }
    }
    var engine = r.registry().all().iterator().next();
    assertThat(engine.ejections()).isZero();
    // Each request counted once and finished once (the last finishes just after its reply).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (engine.inFlight() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(engine.inFlight()).isZero();
  }

  @Test
  void anHttp10ClientGetsNoChunkedBodyButThePayloadAndTheClose() throws Exception {
    Router r = router(a);
    for (String mode : List.of("chunked", "close", "length")) {
      try (Socket s = connect(r)) {
        send(s, request(mode).replace("HTTP/1.1\r\n", "HTTP/1.0\r\n"));
        Reply reply = Reply.read(s.getInputStream());
        assertThat(reply.status()).as(mode).isEqualTo(200);
        assertThat(reply.all("transfer-encoding")).as(mode).isEmpty();
        assertThat(reply.all("connection")).as(mode).containsExactly("close");
        assertThat(reply.body())
            .as(mode)
            .isEqualTo(
                mode.equals("chunked") ? String.join("", StubEngine.EVENTS) : StubEngine.JSON);
        assertThat(s.getInputStream().read()).as(mode).isEqualTo(-1);
        // The engine was asked in HTTP/1.1, so its connection could be kept.
        assertThat(a.seen.poll(5, TimeUnit.SECONDS).version()).isEqualTo("HTTP/1.1");
      }
    }
    try (Socket s = connect(r)) {
      send(s, request("die-between-chunks").replace("HTTP/1.1\r\n", "HTTP/1.0\r\n"));
      Reply reply = Reply.read(s.getInputStream()); // to the close: no chunks
      assertThat(reply.all("transfer-encoding")).isEmpty();
      assertThat(reply.body())
          .startsWith("data: 1\n\ndata: {\"error\":")
          .endsWith("\n\ndata: [DONE]\n\n");
    }
  }

  @Test
  void aClientThatExpects100ContinueGetsItAndThenTheAnswer() throws Exception {
    Router r = router(a);
    byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
    try (Socket s = connect(r)) {
      // As curl sends a larger POST: the head, then the body only once told to go on.
      send(
          s,
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + "Content-Length: "
              + body.length
              + "\r\nExpect: 100-continue\r\nx-test-mode: length\r\n\r\n");
      InputStream in = s.getInputStream();
      assertThat(Reply.line(in)).isEqualTo("HTTP/1.1 100 Continue");
      assertThat(Reply.fields(in)).isEmpty();
      s.getOutputStream().write(body);
      Reply reply = Reply.read(in);
      assertThat(reply.status()).isEqualTo(200);
      assertThat(reply.body()).isEqualTo(StubEngine.JSON);
      Seen seen = a.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.body()).isEqualTo(BODY);
      // The router already said go on: the engine is not asked to say it again.
      assertThat(seen.all("expect")).isEmpty();
    }
  }

  @Test
  void aClientThatExpects100ContinueForATooLargeBodyGetsAnOpenAi413() throws Exception {
    Router r = router(RouterSettings.defaults().maxBodyBytes(1000), a);
    try (Socket s = connect(r)) {
      send(
          s,
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
              + "Expect: 100-continue\r\n\r\n");
      Reply reply = Reply.read(s.getInputStream());
      assertThat(reply.status()).isEqualTo(413);
      assertThat(reply.body()).contains("\"error\"").contains("1000 bytes");
    }
  }

  @Test
  void aChunkedRequestBodyReachesTheEngineWithItsLength() throws Exception {
    Router r = router(a);
    byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
    int half = body.length / 2;
    try (Socket s = connect(r)) {
      send(
          s,
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              + "x-test-mode: length\r\n\r\n"
              + Integer.toHexString(half)
              + "\r\n"
              + BODY.substring(0, half)
              + "\r\n"
              + Integer.toHexString(body.length - half)
              + "\r\n"
              + BODY.substring(half)
              + "\r\n0\r\n\r\n");
      assertThat(Reply.read(s.getInputStream()).status()).isEqualTo(200);
      Seen seen = a.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.body()).isEqualTo(BODY);
      assertThat(seen.all("transfer-encoding")).isEmpty();
      assertThat(seen.all("content-length")).containsExactly(Integer.toString(body.length));
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      // One write: a chat the engine answers after 50 ms, then two requests the router answers
      // itself at once, then another chat. Answers must come back in that order.
      send(
          s,
          request("split-head")
              + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
              + "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
              + request("chunked"));
      InputStream in = s.getInputStream();
      Reply first = Reply.read(in);
      assertThat(first.body()).isEqualTo(StubEngine.JSON);
      assertThat(first.all("x-llmstack-engine")).containsExactly(a.url());
      assertThat(Reply.read(in).body()).contains("\"status\":\"ok\"");
      assertThat(Reply.read(in).body()).contains("\"object\":\"list\"");
      assertThat(Reply.read(in).body()).isEqualTo(String.join("", StubEngine.EVENTS));
      // The connection goes on as usual afterwards, up to a request that asks to close it.
      send(s, request("length") + request("length", "Connection: close") + request("length"));
      assertThat(Reply.read(in).body()).isEqualTo(StubEngine.JSON);
      Reply last = Reply.read(in);
      assertThat(last.all("connection")).containsExactly("close");
      assertThat(in.read()).as("nothing answered after Connection: close").isEqualTo(-1);
    }
  }

  @Test
  void anEngineThatDiesBetweenChunksEndsTheStreamWithAnErrorEvent() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      send(s, request("die-between-chunks"));
      Reply reply = Reply.read(s.getInputStream());
      assertThat(reply.status()).isEqualTo(200);
      assertThat(reply.body())
          .startsWith("data: 1\n\ndata: {\"error\":")
          .contains("failed mid-stream")
          .endsWith("\n\ndata: [DONE]\n\n");
      // The client's connection outlives the engine's.
      send(s, request("length"));
      assertThat(Reply.read(s.getInputStream()).body()).isEqualTo(StubEngine.JSON);
    }
  }

  @Test
  void anEngineThatDiesInsideAChunkCutsTheClientOff() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      send(s, request("die-mid-chunk"));
      // Half a chunk can't be completed honestly: the client sees the body cut short.
      assertThatThrownBy(() -> Reply.read(s.getInputStream()))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("closed");
    }
  }

  @Test
  void aHeadInTwoReadsAndAnInterimResponseAreRelayed() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      for (String mode : List.of("split-head", "interim", "split-head")) {
        send(s, request(mode));
        Reply reply = Reply.read(s.getInputStream());
        assertThat(reply.status()).as(mode).isEqualTo(200);
        assertThat(reply.body()).as(mode).isEqualTo(StubEngine.JSON);
        assertThat(reply.all("x-llmstack-engine")).containsExactly(a.url());
      }
    }
  }

  @Test
  void aHeadRequestGetsTheHeadWithoutTheBody() throws Exception {
    Router r = router(a);
    try (Socket s = connect(r)) {
      send(s, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      InputStream in = s.getInputStream();
      assertThat(Reply.line(in)).startsWith("HTTP/1.1 200");
      List<Map.Entry<String, String>> head = Reply.fields(in);
      assertThat(head).contains(Map.entry("content-type", "application/json"));
      // No body follows the HEAD's head: the next bytes are the GET's answer.
      Reply get = Reply.read(in);
      assertThat(get.status()).isEqualTo(200);
      assertThat(get.body()).contains("\"status\":\"ok\"");
      assertThat(get.all("content-length"))
          .isEqualTo(
              head.stream()
                  .filter(e -> e.getKey().equals("content-length"))
                  .map(Map.Entry::getValue)
                  .toList());
    }
  }

  @Test
  void aClientThatSendsNoCompleteRequestInTimeIsClosedAndOneMidRequestGets408() throws Exception {
    Router r = router(RouterSettings.defaults().clientTimeoutMs(300), a);
    // Idle after an answer, as a kept-alive connection a client forgot: closed.
    try (Socket s = connect(r)) {
      send(s, request("length"));
      assertThat(Reply.read(s.getInputStream()).status()).isEqualTo(200);
      long t0 = System.nanoTime();
      assertThat(s.getInputStream().read()).isEqualTo(-1);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(200L, 5_000L);
    }
    // Never a request at all: closed too.
    try (Socket s = connect(r)) {
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    // Half a head, or a head and part of its body, as a slow or stuck client leaves them: 408.
    for (String partial :
        new String[] {
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le",
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"mo"
        }) {
      try (Socket s = connect(r)) {
        send(s, partial);
        Reply reply = Reply.read(s.getInputStream());
        assertThat(reply.status()).as(partial).isEqualTo(408);
        assertThat(reply.body()).contains("\"error\"").contains("300 ms");
        assertThat(reply.all("connection")).containsExactly("close");
        assertThat(s.getInputStream().read()).isEqualTo(-1);
      }
    }
    assertThat(a.seen).hasSize(1);
  }

  @Test
  void aBusyPollingRouterAnswersAndItsTimersStillFire() throws Exception {
    // The loop polls for 50 ms before it sleeps: longer than the gaps between this test's steps,
    // so it answers while polling, and its timers (the client timeout) must fire regardless.
    Router r = router(RouterSettings.defaults().busyPollMicros(50_000).clientTimeoutMs(300), a);
    try (Socket s = connect(r)) {
      for (int i = 0; i < 3; i++) {
        send(s, request("length"));
        assertThat(Reply.read(s.getInputStream()).status()).isEqualTo(200);
      }
      long t0 = System.nanoTime();
      assertThat(s.getInputStream().read()).isEqualTo(-1);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(200L, 5_000L);
    }
    assertThat(a.seen).hasSize(3);
  }

  @Test
  void aConnectionWaitingForItsAnswerIsNotTimedOut() throws Exception {
    a.silent = true;
    Router r = router(RouterSettings.defaults().clientTimeoutMs(200), a);
    try (Socket s = connect(r)) {
      send(s, request("length"));
      // The engine holds the request: the router owes this client an answer, so the client
      // timeout does not apply (the first-byte timeout does, 300 s by default).
      s.setSoTimeout(1_000);
      assertThatThrownBy(() -> s.getInputStream().read())
          .isInstanceOf(java.net.SocketTimeoutException.class);
    }
  }

  /** A client connection to the router, with a read timeout so a hang fails the test. */
  static Socket connect(Router r) throws IOException {
    Socket s = new Socket("127.0.0.1", r.port());
    s.setSoTimeout(10_000);
    return s;
  }

  static void send(Socket s, String request) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(request.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** What an engine received. Header names lower-cased. */
  record Seen(String version, String uri, List<Map.Entry<String, String>> headers, String body) {
    List<String> all(String name) {
      return headers.stream()
          .filter(e -> e.getKey().equals(name))
          .map(Map.Entry::getValue)
          .toList();
    }
  }

  /** One HTTP/1.1 response read off the wire. Header names lower-cased. */
  record Reply(
      int status,
      List<Map.Entry<String, String>> headers,
      String body,
      List<Map.Entry<String, String>> trailers) {

    List<String> all(String name) {
      return headers.stream()
          .filter(e -> e.getKey().equals(name))
          .map(Map.Entry::getValue)
          .toList();
    }

    static Reply read(InputStream in) throws IOException {
      String statusLine = line(in);
      int status = Integer.parseInt(statusLine.split(" ")[1]);
      List<Map.Entry<String, String>> headers = fields(in);
      Reply head = new Reply(status, headers, "", List.of());
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      List<Map.Entry<String, String>> trailers = List.of();
      if (head.all("transfer-encoding").contains("chunked")) {
        int size;
        while ((size = Integer.parseInt(line(in).trim(), 16)) > 0) {
          body.write(in.readNBytes(size));
          line(in);
        }
        trailers = fields(in);
      } else if (!head.all("content-length").isEmpty()) {
        body.write(in.readNBytes(Integer.parseInt(head.all("content-length").get(0))));
      } else {
        body.write(in.readAllBytes());
      }
      return new Reply(status, headers, body.toString(StandardCharsets.UTF_8), trailers);
    }

    static List<Map.Entry<String, String>> fields(InputStream in) throws IOException {
      List<Map.Entry<String, String>> out = new ArrayList<>();
      String l;
      while (!(l = line(in)).isEmpty()) {
        int colon = l.indexOf(':');
        out.add(
            Map.entry(
                l.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                l.substring(colon + 1).trim()));
      }
      return out;
    }

    static String line(InputStream in) throws IOException {
      StringBuilder sb = new StringBuilder();
      int c;
      while ((c = in.read()) != '\n') {
        if (c < 0) {
          throw new IOException("connection closed mid-line: " + sb);
        }
        if (c != '\r') {
          sb.append((char) c);
        }
      }
      return sb.toString();
    }
  }

  /**
   * An engine that records what it receives and answers by the request's x-test-mode: {@code
   * length} (Content-Length, plus hop-by-hop headers of its own), {@code chunked} (three pieces and
   * a trailer) or {@code close} (no length: the body ends when it closes the connection).
   */
  static final class StubEngine implements AutoCloseable {
    static final String JSON = "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[]}";
    static final List<String> EVENTS = List.of("data: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n");

    static final String SSE_HEAD =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

    /**
     * Responses written as raw bytes, each followed by a close except split-head: an engine that
     * dies between two chunks or inside one, a head that comes in two reads, and an interim 100
     * before the response.
     */
    static final Map<String, String> RAW =
        Map.of(
            "die-between-chunks",
            SSE_HEAD + "9\r\ndata: 1\n\n\r\n",
            "die-mid-chunk",
            SSE_HEAD + "9\r\ndata: 1\n\n\r\n20\r\ndata: 2",
            "split-head",
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + JSON.length()
                + "\r\n\r\n"
                + JSON,
            "interim",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: "
                + JSON.length()
                + "\r\n\r\n"
                + JSON);

    final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
    volatile boolean failChats;
    volatile boolean silent; // takes chat requests and never answers them
    private final EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;

    StubEngine() throws InterruptedException {
      channel =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      ch.pipeline()
                          .addLast(new HttpServerCodec())
                          .addLast(new HttpObjectAggregator(1 << 20))
                          .addLast(new Handler());
                    }
                  })
              .bind("127.0.0.1", 0)
              .sync()
              .channel();
    }

    int port() {
      return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    String url() {
      return "http://127.0.0.1:" + port();
    }

    @Override
    public void close() {
      channel.close().awaitUninterruptibly();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
      private int chats; // chat requests this connection carried

      @Override
      protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        String uri = req.uri();
        if (uri.startsWith("/v1/models")) {
          full(ctx, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"m\",\"object\":\"model\"}]}");
          return;
        }
        if (!uri.startsWith("/v1/chat/completions")) {
          full(ctx, 200, "");
          return;
        }
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        req.headers()
            .forEach(
                e -> headers.add(Map.entry(e.getKey().toLowerCase(Locale.ROOT), e.getValue())));
        seen.add(
            new Seen(
                req.protocolVersion().text(),
                uri,
                headers,
                req.content().toString(StandardCharsets.UTF_8)));
        if (failChats) {
          full(ctx, 503, "{}");
          return;
        }
        if (silent) {
          return;
        }
        String mode = req.headers().get("x-test-mode");
        if (chats++ > 0 && mode.equals("drop-if-reused")) {
          // As an engine that closed this idle connection just as the router reused it.
          ctx.close();
          return;
        }
        String raw = RAW.get(mode);
        if (raw != null) {
          // Written past the stub's encoder, as bytes: what Netty would not send on its own.
          ChannelHandlerContext wire = ctx.pipeline().firstContext();
          if (mode.equals("split-head")) {
            wire.writeAndFlush(Unpooled.copiedBuffer(raw.substring(0, 20), StandardCharsets.UTF_8));
            ctx.executor()
                .schedule(
                    () ->
                        wire.writeAndFlush(
                            Unpooled.copiedBuffer(raw.substring(20), StandardCharsets.UTF_8)),
                    50,
                    TimeUnit.MILLISECONDS);
          } else {
            wire.writeAndFlush(Unpooled.copiedBuffer(raw, StandardCharsets.UTF_8))
                .addListener(ChannelFutureListener.CLOSE);
          }
          return;
        }
        switch (mode) {
          case "chunked" -> {
            DefaultHttpResponse head =
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers()
                .set("content-type", "text/event-stream")
                .set("transfer-encoding", "chunked")
                .set("trailer", "x-t");
            ctx.write(head);
            ctx.write(content(EVENTS.get(0)));
            ctx.write(content(EVENTS.get(1)));
            ctx.write(content(EVENTS.get(2)));
            DefaultLastHttpContent last = new DefaultLastHttpContent();
            last.trailingHeaders().set("x-t", "1");
            ctx.writeAndFlush(last);
          }
          case "close" -> {
            DefaultHttpResponse head =
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set("content-type", "application/json").set("connection", "close");
            ctx.write(head);
            ctx.write(content(JSON));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
                .addListener(ChannelFutureListener.CLOSE);
          }
          default -> {
            FullHttpResponse r =
                new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1,
                    HttpResponseStatus.OK,
                    Unpooled.copiedBuffer(JSON, StandardCharsets.UTF_8));
            r.headers()
                .set("content-type", "application/json")
                .set("content-length", r.content().readableBytes())
                .set("connection", "keep-alive, X-Engine-Hop")
                .set("x-engine-hop", "secret")
                .set("keep-alive", "timeout=5")
                .set("proxy-authenticate", "Basic")
                .set("upgrade", "h2c")
                .set("x-request-id", "the-engine-must-not-win")
                .set("x-engine-end", "kept");
            ctx.writeAndFlush(r);
          }
        }
      }

      private static DefaultHttpContent content(String s) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
      }

      private static void full(ChannelHandlerContext ctx, int status, String body) {
        FullHttpResponse r =
            new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(status),
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers()
            .set("content-type", "application/json")
            .set("content-length", r.content().readableBytes());
        ctx.writeAndFlush(r);
      }
    }
  }
}
