package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RequestFramerTest {

  private static final String BODY = "{\"model\":\"m\",\"prompt\":\"hi\"}";
  private static final int LIMIT = 1000;

  private final List<ClientMessage> got = new ArrayList<>();
  private EmbeddedChannel ch = new EmbeddedChannel(new RequestFramer(LIMIT, "X-Session-Id"));

  @AfterEach
  void release() {
    got.forEach(RequestFramerTest::free);
    ch.finishAndReleaseAll();
  }

  private static void free(ClientMessage m) {
    if (m instanceof ClientMessage.Request r) {
      r.release();
    }
  }

  /** Feeds {@code raw} in reads of at most {@code readSize} bytes; returns what came out. */
  private List<ClientMessage> feed(String raw, int readSize) {
    byte[] bytes = raw.getBytes(StandardCharsets.ISO_8859_1);
    List<ClientMessage> out = new ArrayList<>();
    for (int i = 0; i < bytes.length; i += readSize) {
      int n = Math.min(readSize, bytes.length - i);
      ByteBuf read = ByteBufAllocator.DEFAULT.buffer(n).writeBytes(bytes, i, n);
      ch.writeInbound(read);
      Object m;
      while ((m = ch.readInbound()) != null) {
        out.add((ClientMessage) m);
      }
    }
    got.addAll(out);
    return out;
  }

  private List<ClientMessage> feed(String raw) {
    return feed(raw, Integer.MAX_VALUE);
  }

  private ClientMessage.Request only(List<ClientMessage> out) {
    assertThat(out).hasSize(1);
    assertThat(out.get(0)).isInstanceOf(ClientMessage.Request.class);
    return (ClientMessage.Request) out.get(0);
  }

  static byte[] hostLine(String host) {
    return ("host: " + host + "\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** What the engine gets for {@code r}. */
  private static String upstream(ClientMessage.Request r) {
    ByteBuf out = r.encode(ByteBufAllocator.DEFAULT, hostLine("engine:8000"), "id-1");
    try {
      return out.toString(StandardCharsets.ISO_8859_1);
    } finally {
      out.release();
    }
  }

  private static final String REQUEST =
      "POST /v1/completions?x=1 HTTP/1.1\r\n"
          + "Host: router:8080\r\n"
          + "User-Agent: t\r\n"
          + "Connection: keep-alive, X-Hop\r\n"
          + "X-Hop: 1\r\n"
          + "Content-Type: application/json\r\n"
          + "Keep-Alive: timeout=5\r\n"
          + "Content-Length: "
          + BODY.length()
          + "\r\n"
          + "x-request-id: client-id\r\n"
          + "Authorization: Bearer sk-\u00e9\r\n"
          + "TE: trailers\r\n"
          + "X-Session-ID: s-7\r\n"
          + "x-llmstack-policy: least-outstanding\r\n"
          + "\r\n"
          + BODY;

  private static final String REQUEST_UPSTREAM =
      "POST /v1/completions?x=1 HTTP/1.1\r\n"
          + "host: engine:8000\r\n"
          + "User-Agent: t\r\n"
          + "Content-Type: application/json\r\n"
          + "Authorization: Bearer sk-\u00e9\r\n"
          + "X-Session-ID: s-7\r\n"
          + "x-llmstack-policy: least-outstanding\r\n"
          + "x-request-id: id-1\r\n"
          + "content-length: "
          + BODY.length()
          + "\r\n\r\n"
          + BODY;

  @Test
  void aRequestIsReadTheSameInEverySplitAndGoesOnWithItsEndToEndLinesAsTheyCame() {
    for (int readSize = 1; readSize <= REQUEST.length(); readSize++) {
      ClientMessage.Request r = only(feed(REQUEST, readSize));
      assertThat(r.method()).isEqualTo(HttpMethod.POST);
      assertThat(r.uri()).isEqualTo("/v1/completions?x=1");
      assertThat(r.http10()).isFalse();
      assertThat(r.keepAlive()).isTrue();
      assertThat(r.requestId()).isEqualTo("client-id");
      assertThat(r.session()).isEqualTo("s-7");
      assertThat(r.policyOverride()).isEqualTo("least-outstanding");
      assertThat(r.engineOverride()).isNull();
      assertThat(r.body().toString(StandardCharsets.UTF_8)).isEqualTo(BODY);
      assertThat(upstream(r)).as("read %d bytes at a time", readSize).isEqualTo(REQUEST_UPSTREAM);
    }
  }

  @Test
  void pipelinedRequestsComeOutInOrder() {
    String get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    List<ClientMessage> out = feed(REQUEST + get + REQUEST + get);
    assertThat(out).hasSize(4);
    assertThat(out)
        .extracting(m -> ((ClientMessage.Request) m).uri())
        .containsExactly("/v1/completions?x=1", "/health", "/v1/completions?x=1", "/health");
    assertThat(upstream((ClientMessage.Request) out.get(2))).isEqualTo(REQUEST_UPSTREAM);
    assertThat(((ClientMessage.Request) out.get(3)).body().readableBytes()).isZero();
  }

  @Test
  void aChunkedBodyIsCollectedAndGoesOnWithALength() {
    String chunked =
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\n"
            + BODY.substring(0, 5)
            + "\r\n"
            + Integer.toHexString(BODY.length() - 5)
            + "\r\n"
            + BODY.substring(5)
            + "\r\n0\r\nX-Trailer: dropped\r\n\r\n";
    for (int readSize = 1; readSize <= chunked.length(); readSize += 3) {
      ClientMessage.Request r = only(feed(chunked, readSize));
      assertThat(upstream(r))
          .isEqualTo(
              "POST /v1/completions HTTP/1.1\r\nhost: engine:8000\r\nx-request-id: id-1\r\n"
                  + "content-length: "
                  + BODY.length()
                  + "\r\n\r\n"
                  + BODY);
    }
  }

  @Test
  void leadingEmptyLinesAndTheAbsoluteFormAreAccepted() {
    ClientMessage.Request r =
        only(
            feed(
                "\r\nGET http://router:8080/v1/models?a=b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"));
    assertThat(r.uri()).isEqualTo("/v1/models?a=b");
    assertThat(upstream(r))
        .isEqualTo(
            "GET /v1/models?a=b HTTP/1.1\r\nhost: engine:8000\r\nAccept: */*\r\n"
                + "x-request-id: id-1\r\ncontent-length: 0\r\n\r\n");
    ClientMessage.Request noPath =
        only(feedAgain("OPTIONS http://router HTTP/1.1\r\nHost: x\r\n\r\n"));
    assertThat(noPath.uri()).isEqualTo("/");
  }

  private List<ClientMessage> feedAgain(String raw) {
    ch.finishAndReleaseAll();
    ch = new EmbeddedChannel(new RequestFramer(LIMIT, "x-session-id"));
    return feed(raw);
  }

  @Test
  void keepAliveFollowsTheVersionAndTheConnectionHeader() {
    assertThat(only(feedAgain("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).keepAlive()).isTrue();
    assertThat(
            only(feedAgain("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).keepAlive())
        .isFalse();
    ClientMessage.Request old = only(feedAgain("GET / HTTP/1.0\r\n\r\n"));
    assertThat(old.http10()).isTrue();
    assertThat(old.keepAlive()).isFalse();
    assertThat(only(feedAgain("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")).keepAlive())
        .isTrue();
  }

  @Test
  void nothingAfterALastRequestIsRead() {
    List<ClientMessage> out =
        feed(
            "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    assertThat(out).hasSize(1);
  }

  @Test
  void expect100ContinueIsReportedOnlyWhenTheClientWaits() {
    String head =
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: "
            + BODY.length()
            + "\r\n\r\n";
    List<ClientMessage> out = feed(head);
    assertThat(out).containsExactly(ClientMessage.ContinueExpected.INSTANCE);
    ClientMessage.Request r = only(feed(BODY));
    assertThat(upstream(r)).doesNotContainIgnoringCase("expect");
    // The body came with the head: nothing to wait for.
    only(feedAgain(head + BODY));
    // HTTP/1.0 has no 100 Continue (RFC 9110 §10.1.1).
    assertThat(feedAgain(head.replace("HTTP/1.1", "HTTP/1.0"))).isEmpty();
  }

  @Test
  void requestsThatBreakTheRulesAreRefusedWithTheirStatusAndNothingAfterIsRead() {
    String big = "x".repeat(RequestFramer.MAX_HEAD_BYTES);
    Object[][] cases = {
      {"GET /\r\nHost: x\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
      {"GET nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA : 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA(b): 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\u0000\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r2\r\n\r\n", 400},
      {"GET / HTTP/1.1\nHost: x\n\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\nA: 1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;e\na\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400},
      {
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400
      },
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 1\r\n\r\n", 417},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + (LIMIT + 1) + "\r\n\r\n", 413},
      {
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
            + (LIMIT + 1)
            + "\r\n\r\n",
        413
      },
      {
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + Integer.toHexString(LIMIT + 1)
            + "\r\n"
            + "a".repeat(LIMIT + 1)
            + "\r\n0\r\n\r\n",
        413
      },
      {"GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: " + big + "\r\n\r\n", 431},
    };
    for (Object[] c : cases) {
      String raw = (String) c[0];
      for (int readSize : new int[] {Integer.MAX_VALUE, 7}) {
        feedAgain(""); // a new connection
        List<ClientMessage> out = feed(raw + "GET / HTTP/1.1\r\nHost: x\r\n\r\n", readSize);
        assertThat(out).as("%s in reads of %d", raw, readSize).hasSize(1);
        assertThat(out.get(0)).as(raw).isInstanceOf(ClientMessage.Refused.class);
        assertThat(((ClientMessage.Refused) out.get(0)).error().status()).as(raw).isEqualTo(c[1]);
      }
    }
  }

  @Test
  void connectionsOfOneThreadShareTheHeadParserWithoutSeeingEachOthersHeads() {
    // Connection a's request line arrives in pieces; b's whole requests are parsed in between by
    // the same thread's parser. a must still be judged on its own head: its request line is too
    // long (414), although b's heads had lines.
    EmbeddedChannel a = new EmbeddedChannel(new RequestFramer(LIMIT, "x-session-id"));
    try {
      String line = "GET /" + "x".repeat(RequestFramer.MAX_REQUEST_LINE);
      int half = line.length() / 2;
      a.writeInbound(Unpooled.copiedBuffer(line.substring(0, half), StandardCharsets.ISO_8859_1));
      assertThat((Object) a.readInbound()).isNull();
      ClientMessage.Request r = only(feed(REQUEST));
      assertThat(upstream(r)).isEqualTo(REQUEST_UPSTREAM);
      a.writeInbound(Unpooled.copiedBuffer(line.substring(half), StandardCharsets.ISO_8859_1));
      Object m = a.readInbound();
      assertThat(m).isInstanceOf(ClientMessage.Refused.class);
      assertThat(((ClientMessage.Refused) m).error().status()).isEqualTo(414);
      // and b, parsed again after a's refusal, is still read whole
      assertThat(upstream(only(feed(REQUEST)))).isEqualTo(REQUEST_UPSTREAM);
    } finally {
      a.finishAndReleaseAll();
    }
  }

  @Test
  void equalContentLengthsAreOne() {
    ClientMessage.Request r =
        only(
            feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"));
    assertThat(upstream(r)).containsOnlyOnce("content-length: 2\r\n").endsWith("\r\n\r\nab");
  }

  @Test
  void aLargeBodyFollowsTheHeadUncopied() {
    EmbeddedChannel big = new EmbeddedChannel(new RequestFramer(1 << 20, "x-session-id"));
    String body = "b".repeat(ClientMessage.Request.COPY_BODY_LIMIT + 1);
    big.writeInbound(
        Unpooled.copiedBuffer(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
            StandardCharsets.US_ASCII));
    ClientMessage.Request r = big.readInbound();
    try {
      ByteBuf out = r.encode(ByteBufAllocator.DEFAULT, hostLine("e"), "i");
      try {
        assertThat(out.toString(StandardCharsets.US_ASCII))
            .isEqualTo(
                "POST / HTTP/1.1\r\nhost: e\r\nx-request-id: i\r\ncontent-length: "
                    + body.length()
                    + "\r\n\r\n"
                    + body);
      } finally {
        out.release();
      }
    } finally {
      r.release();
      big.finishAndReleaseAll();
    }
  }

  @Test
  void aHalfReadRequestIsFreedWhenTheConnectionGoes() {
    for (String partial :
        new String[] {
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
          "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
          "POST / HTTP/1.1\r\nHost: x\r\nContent-"
        }) {
      TrackingAllocator alloc = new TrackingAllocator();
      EmbeddedChannel c = new EmbeddedChannel(new RequestFramer(LIMIT, "x-session-id"));
      c.config().setAllocator(alloc);
      c.writeInbound(alloc.buffer().writeBytes(partial.getBytes(StandardCharsets.US_ASCII)));
      assertThat((Object) c.readInbound()).isNull();
      assertThat(alloc.handedOut)
          .as("something is held while the request is incomplete: %s", partial)
          .anyMatch(b -> b.refCnt() > 0);
      c.finishAndReleaseAll();
      assertThat(alloc.handedOut).as(partial).allMatch(b -> b.refCnt() == 0);
    }
  }

  /** Hands out unpooled buffers and keeps them, to check afterwards that each was freed. */
  private static final class TrackingAllocator extends io.netty.buffer.AbstractByteBufAllocator {
    final List<ByteBuf> handedOut = new ArrayList<>();

    TrackingAllocator() {
      super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = new io.netty.buffer.UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
      handedOut.add(b);
      return b;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = new io.netty.buffer.UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
      handedOut.add(b);
      return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }
  }
}
