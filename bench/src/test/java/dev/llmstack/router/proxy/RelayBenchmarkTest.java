package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The two relays the benchmark compares do the same work: the client gets the same response. */
class RelayBenchmarkTest {

  /** Status, headers (lower-cased names) and body, as a client reads them. */
  private record Read(int status, Map<String, String> headers, String body) {}

  private static Read read(byte[] wire) {
    FullHttpResponse r = decode(new HttpResponseDecoder(), Unpooled.wrappedBuffer(wire));
    Map<String, String> headers = headers(r);
    headers.remove("content-length"); // the aggregator sets it for a chunked body
    headers.remove("transfer-encoding");
    Read read = new Read(r.status().code(), headers, r.content().toString(StandardCharsets.UTF_8));
    r.release();
    return read;
  }

  /** The one whole message Netty's {@code decoder} and aggregator read from {@code wire}. */
  private static <T extends FullHttpMessage> T decode(ChannelHandler decoder, ByteBuf wire) {
    EmbeddedChannel ch = new EmbeddedChannel(decoder, new HttpObjectAggregator(1 << 20));
    ch.writeInbound(wire);
    T m = ch.readInbound();
    assertThat(m).as("one complete message").isNotNull();
    assertThat(m.decoderResult().isSuccess()).isTrue();
    assertThat(ch.finishAndReleaseAll()).as("nothing after it").isFalse();
    return m;
  }

  /** Header names lower-cased. */
  private static Map<String, String> headers(HttpMessage m) {
    Map<String, String> headers = new TreeMap<>();
    m.headers().forEach(e -> headers.put(e.getKey().toLowerCase(), e.getValue()));
    return headers;
  }

  @Test
  void bothRequestPathsGiveTheEngineTheSameRequest() {
    RelayBenchmark b = new RelayBenchmark();
    b.setUp();
    try {
      FullHttpRequest netty = decode(new HttpRequestDecoder(), b.nettyUpstreamRequest());
      FullHttpRequest framer = decode(new HttpRequestDecoder(), b.framerUpstreamRequest());
      try {
        assertThat(framer.method()).isEqualTo(netty.method());
        assertThat(framer.uri()).isEqualTo(netty.uri()).isEqualTo("/v1/chat/completions");
        assertThat(headers(framer)).isEqualTo(headers(netty));
        assertThat(headers(framer))
            .containsEntry("host", "10.0.0.7:8000")
            .containsKeys("x-request-id", "authorization", "x-stainless-lang")
            .doesNotContainKey("connection");
        assertThat(framer.content()).isEqualTo(netty.content());
        assertThat(framer.content().toString(StandardCharsets.UTF_8))
            .isEqualTo(RelayBenchmark.REQUEST_BODY);
      } finally {
        netty.release();
        framer.release();
      }
    } finally {
      b.tearDown();
    }
  }

  @Test
  void bothRelaysGiveTheClientTheSameResponse() {
    RelayBenchmark b = new RelayBenchmark();
    b.setUp();
    try {
      for (boolean stream : new boolean[] {false, true}) {
        Read netty = read(b.clientBytes(false, stream));
        Read framer = read(b.clientBytes(true, stream));
        assertThat(framer).isEqualTo(netty);
        assertThat(framer.status()).isEqualTo(200);
        assertThat(framer.headers())
            .containsKeys("x-llmstack-engine", "x-llmstack-route", "x-request-id", "server");
        assertThat(framer.body()).contains(stream ? "data: [DONE]" : "\"usage\"");
      }
    } finally {
      b.tearDown();
    }
  }
}
