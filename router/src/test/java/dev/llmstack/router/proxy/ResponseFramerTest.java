package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.router.proxy.ResponseFramer.Framing;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ResponseFramerTest {

  private final ResponseFramer framer = new ResponseFramer(PooledByteBufAllocator.DEFAULT);

  @AfterEach
  void release() {
    framer.release();
  }

  /** What the client would get, and what the framer reported, over a sequence of reads. */
  private static final class Relay implements ResponseFramer.DataSink {
    final StringBuilder client = new StringBuilder();
    final StringBuilder payload = new StringBuilder();
    int heads;
    boolean ended;
    boolean extra;
    int status;
    boolean keepAlive;
    boolean eventStream;
    Framing framing;

    @Override
    public void data(ByteBuf buf, int from, int to) {
      payload.append(buf.toString(from, to - from, StandardCharsets.ISO_8859_1));
    }

    void feed(ResponseFramer f, String bytes) {
      assertThat(ended).as("fed after the end").isFalse();
      ByteBuf in = Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1);
      try {
        f.feed(in);
        if (f.headReady()) {
          heads++;
          status = f.status();
          keepAlive = f.keepAlive();
          eventStream = f.eventStream();
          framing = f.framing();
          ByteBuf head = Unpooled.buffer();
          f.writeHead(head);
          assertThat(head.readableBytes()).isLessThanOrEqualTo(f.headBytes());
          client.append(head.toString(StandardCharsets.ISO_8859_1)).append("\r\n");
          head.release();
        }
        if (heads > 0) {
          client.append(
              f.source()
                  .toString(
                      f.forwardFrom(),
                      f.forwardTo() - f.forwardFrom(),
                      StandardCharsets.ISO_8859_1));
          if (f.finalCrlf()) {
            client.append("\r\n");
          }
        }
        ended = f.ended();
        extra = f.extraBytes();
      } finally {
        in.release();
      }
    }
  }

  private Relay relay(String... reads) {
    Relay r = new Relay();
    framer.reset(r);
    for (String read : reads) {
      r.feed(framer, read);
    }
    return r;
  }

  /** Every way of cutting {@code response} in two reads, and one byte per read. */
  private List<Relay> everySplit(String response) {
    List<Relay> out = new ArrayList<>();
    for (int cut = 1; cut < response.length(); cut++) {
      out.add(relay(response.substring(0, cut), response.substring(cut)));
    }
    Relay bytewise = new Relay();
    framer.reset(bytewise);
    for (int i = 0; i < response.length(); i++) {
      bytewise.feed(framer, response.substring(i, i + 1));
    }
    out.add(bytewise);
    return out;
  }

  static final String JSON_RESPONSE =
      "HTTP/1.1 200 OK\r\n"
          + "content-type: application/json\r\n"
          + "Connection: keep-alive\r\n"
          + "Keep-Alive: timeout=5\r\n"
          + "X-Request-Id: the-engine-must-not-win\r\n"
          + "x-engine-end: kept\r\n"
          + "content-length: 11\r\n"
          + "\r\n"
          + "{\"a\":\"b:c\"}";

  static final String JSON_RELAYED =
      "HTTP/1.1 200 OK\r\n"
          + "content-type: application/json\r\n"
          + "x-engine-end: kept\r\n"
          + "content-length: 11\r\n"
          + "\r\n"
          + "{\"a\":\"b:c\"}";

  @Test
  void aLengthDelimitedAnswerIsRelayedWithoutItsHopByHopHeadersAtEverySplit() {
    for (Relay r : everySplit(JSON_RESPONSE)) {
      assertThat(r.client.toString()).isEqualTo(JSON_RELAYED);
      assertThat(r.payload.toString()).isEqualTo("{\"a\":\"b:c\"}");
      assertThat(r.heads).isEqualTo(1);
      assertThat(r.status).isEqualTo(200);
      assertThat(r.keepAlive).isTrue();
      assertThat(r.eventStream).isFalse();
      assertThat(r.framing).isEqualTo(Framing.LENGTH);
      assertThat(r.ended).isTrue();
      assertThat(r.extra).isFalse();
    }
  }

  static final String SSE_RESPONSE =
      "HTTP/1.1 200 OK\r\n"
          + "Content-Type: text/event-stream; charset=utf-8\r\n"
          + "Transfer-Encoding: chunked\r\n"
          + "Trailer: x-t\r\n"
          + "\r\n"
          + "f\r\ndata: {\"a\":1}\n\n\r\n"
          + "1b;ext=1\r\ndata: {\"prompt_tokens\":7}\n\n\r\n"
          + "0\r\n"
          + "x-t: 1\r\n"
          + "\r\n";

  @Test
  void aChunkedStreamKeepsItsChunksAndLosesItsTrailersAtEverySplit() {
    String relayed =
        "HTTP/1.1 200 OK\r\n"
            + "Content-Type: text/event-stream; charset=utf-8\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "\r\n"
            + "f\r\ndata: {\"a\":1}\n\n\r\n"
            + "1b;ext=1\r\ndata: {\"prompt_tokens\":7}\n\n\r\n"
            + "0\r\n"
            + "\r\n";
    for (Relay r : everySplit(SSE_RESPONSE)) {
      assertThat(r.client.toString()).isEqualTo(relayed);
      assertThat(r.payload.toString())
          .isEqualTo("data: {\"a\":1}\n\ndata: {\"prompt_tokens\":7}\n\n");
      assertThat(r.eventStream).isTrue();
      assertThat(r.framing).isEqualTo(Framing.CHUNKED);
      assertThat(r.ended).isTrue();
      assertThat(r.keepAlive).isTrue();
    }
  }

  @Test
  void aChunkedBodyWithoutTrailersGoesOnByteForByte() {
    String body = "5\r\nhello\r\n0\r\n\r\n";
    String head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
    Relay r = relay(head + body);
    assertThat(r.client.toString()).isEqualTo(head + body);
    assertThat(framer.finalCrlf()).isFalse();
    for (Relay split : everySplit(head + body)) {
      assertThat(split.client.toString()).isEqualTo(head + body);
    }
  }

  @Test
  void bareLineFeedsAreReadAndTheClientStillGetsCrlf() {
    Relay r = relay("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n");
    assertThat(r.client.toString())
        .startsWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .endsWith("0\n\r\n");
    assertThat(r.payload.toString()).isEqualTo("abc");
    assertThat(r.ended).isTrue();
  }

  @Test
  void interimResponsesAreSkipped() {
    for (Relay r :
        everySplit(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
                + JSON_RESPONSE)) {
      assertThat(r.client.toString()).isEqualTo(JSON_RELAYED);
      assertThat(r.heads).isEqualTo(1);
    }
  }

  @Test
  void aBodyWithoutLengthEndsAtTheClose() {
    Relay r =
        relay(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"a\"",
            ":1}");
    assertThat(r.framing).isEqualTo(Framing.UNTIL_CLOSE);
    assertThat(r.keepAlive).isFalse();
    assertThat(r.ended).isFalse();
    assertThat(r.client.toString())
        .isEqualTo("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"a\":1}");
    assertThat(framer.atChunkBoundary()).isTrue();
  }

  @Test
  void transferEncodingWinsOverContentLength() {
    Relay r =
        relay(
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "2\r\nok\r\n0\r\n\r\n");
    assertThat(r.framing).isEqualTo(Framing.CHUNKED);
    assertThat(r.client.toString())
        .isEqualTo("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    assertThat(r.ended).isTrue();
  }

  @Test
  void aTransferCodingOtherThanChunkedLastMeansTheBodyEndsAtTheClose() {
    Relay r = relay("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc");
    assertThat(r.framing).isEqualTo(Framing.UNTIL_CLOSE);
    assertThat(r.client.toString()).isEqualTo("HTTP/1.1 200 OK\r\n\r\nabc");
  }

  @Test
  void headersTheConnectionHeaderNamesAreDropped() {
    Relay r =
        relay(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Engine-Hop\r\nx-engine-hop: secret\r\n"
                + "X-Kept: 1\r\nContent-Length: 0\r\n\r\n");
    assertThat(r.client.toString())
        .isEqualTo("HTTP/1.1 200 OK\r\nX-Kept: 1\r\nContent-Length: 0\r\n\r\n");
    assertThat(r.framing).isEqualTo(Framing.NONE);
    assertThat(r.ended).isTrue();
  }

  @Test
  void http10KeepsItsConnectionOnlyWhenAskedAndIsRelayedAsHttp11() {
    Relay closes = relay("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assertThat(closes.keepAlive).isFalse();
    assertThat(closes.client.toString())
        .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    Relay stays = relay("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok");
    assertThat(stays.keepAlive).isTrue();
    Relay closed = relay("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    assertThat(closed.keepAlive).isFalse();
  }

  @Test
  void noContentAndNotModifiedHaveNoBody() {
    Relay r = relay("HTTP/1.1 204 No Content\r\n\r\n");
    assertThat(r.framing).isEqualTo(Framing.NONE);
    assertThat(r.ended).isTrue();
    Relay n = relay("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    assertThat(n.ended).isTrue();
    assertThat(n.client.toString()).endsWith("Content-Length: 10\r\n\r\n");
  }

  @Test
  void bytesAfterTheResponseMarkTheConnectionUnusable() {
    Relay r = relay("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n");
    assertThat(r.ended).isTrue();
    assertThat(r.extra).isTrue();
    assertThat(r.client.toString()).endsWith("\r\n\r\nok");
  }

  @Test
  void theFramerIsReusedForTheNextResponseOnItsConnection() {
    relay(JSON_RESPONSE);
    Relay second = relay(SSE_RESPONSE);
    assertThat(second.framing).isEqualTo(Framing.CHUNKED);
    assertThat(second.ended).isTrue();
  }

  @Test
  void chunkBoundariesAreKnownForMidStreamErrors() {
    framer.reset(null);
    feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assertThat(framer.atChunkBoundary()).isTrue();
    feed("5\r\nhel");
    assertThat(framer.atChunkBoundary()).isFalse();
    feed("lo\r\n");
    assertThat(framer.atChunkBoundary()).isTrue();
    feed("1");
    assertThat(framer.atChunkBoundary()).isFalse();
    framer.reset(null);
    feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
    assertThat(framer.atChunkBoundary()).isFalse();
  }

  @Test
  void brokenFramingIsRejected() {
    for (String bad :
        List.of(
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\n\r\n",
            "garbage\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff1\r\n")) {
      framer.reset(null);
      assertThatThrownBy(() -> feed(bad)).as(bad).isInstanceOf(MalformedHttpException.class);
    }
  }

  @Test
  void aHeadOverTheLimitIsRejectedWhileItGrows() {
    framer.reset(null);
    feed("HTTP/1.1 200 OK\r\n");
    String line = "x-big: " + "v".repeat(1000) + "\r\n";
    assertThatThrownBy(
            () -> {
              for (int i = 0; i < 40; i++) {
                feed(line);
              }
            })
        .isInstanceOf(MalformedHttpException.class)
        .hasMessageContaining("larger than");
  }

  @Test
  void duplicateEqualContentLengthsAreOneLength() {
    Relay r = relay("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok");
    assertThat(r.ended).isTrue();
    assertThat(r.payload.toString()).isEqualTo("ok");
  }

  private void feed(String s) {
    ByteBuf in = Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    try {
      framer.feed(in);
    } finally {
      in.release();
    }
  }
}
