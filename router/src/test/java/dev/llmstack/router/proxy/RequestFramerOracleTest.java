package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequestDecoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Random client requests, pipelined and cut into random reads, read by {@link RequestFramer} and by
 * Netty's request decoder. What the framer sends the engine, read again by Netty, must be the
 * client's request: the same method, target, body and end-to-end headers (names, values and order),
 * with the router's Host, x-request-id and Content-Length, and nothing hop-by-hop.
 */
class RequestFramerOracleTest {

  private static final String[] NAMES = {
    "Content-Type",
    "Accept",
    "User-Agent",
    "Authorization",
    "X-Stainless-Lang",
    "Accept-Encoding",
    "x-session-id",
    "Cookie",
    "X-Forwarded-For",
    "traceparent"
  };

  /** Never forwarded as the client sent them. */
  private static final Set<String> NOT_FORWARDED =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "te",
          "trailer",
          "transfer-encoding",
          "upgrade",
          "host",
          "content-length",
          "expect",
          "x-request-id",
          "x-hop");

  private static String sample(Random rnd, boolean last) {
    boolean http10 = rnd.nextInt(8) == 0;
    boolean chunked = !http10 && rnd.nextInt(3) == 0;
    String method = new String[] {"POST", "GET", "PUT", "PATCH", "DELETE"}[rnd.nextInt(5)];
    StringBuilder head =
        new StringBuilder(method)
            .append(" /v1/")
            .append(rnd.nextBoolean() ? "chat/completions" : "completions")
            .append(rnd.nextBoolean() ? "?a=" + rnd.nextInt(99) + "&b=%20x" : "")
            .append(http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    List<String> lines = new ArrayList<>();
    lines.add((rnd.nextBoolean() ? "Host" : "host") + ": router:" + rnd.nextInt(65536));
    for (int i = rnd.nextInt(9); i > 0; i--) {
      String name = NAMES[rnd.nextInt(NAMES.length)];
      String value =
          switch (rnd.nextInt(4)) {
            case 0 -> "v" + rnd.nextInt(1000);
            case 1 -> "a b\tc, d;q=0.5";
            case 2 -> "caf\u00e9 \u00ff";
            default -> "";
          };
      lines.add(
          (rnd.nextBoolean() ? name.toLowerCase(Locale.ROOT) : name)
              + (rnd.nextBoolean() ? ": " : ":")
              + value
              + (rnd.nextBoolean() ? " \t" : ""));
    }
    if (rnd.nextInt(4) == 0) {
      lines.add("X-Hop: 1");
      lines.add("Connection: X-Hop" + (last ? ", close" : http10 ? ", keep-alive" : ""));
    } else if (last) {
      lines.add("Connection: close");
    } else if (http10) {
      lines.add("Connection: keep-alive");
    }
    if (rnd.nextInt(4) == 0) {
      lines.add("Keep-Alive: timeout=5");
    }
    if (rnd.nextInt(4) == 0) {
      lines.add("x-request-id: client-" + rnd.nextInt(1000));
    }
    if (rnd.nextInt(5) == 0) {
      lines.add("TE: trailers");
    }
    byte[] body = new byte[rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(2000)];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (rnd.nextBoolean() ? 'a' + rnd.nextInt(26) : rnd.nextInt(256));
    }
    if (chunked) {
      lines.add("Transfer-Encoding: chunked");
    } else if (body.length > 0 || rnd.nextBoolean()) {
      lines.add("Content-Length: " + body.length);
    }
    java.util.Collections.shuffle(lines.subList(1, lines.size()), rnd);
    for (String line : lines) {
      head.append(line).append("\r\n");
    }
    head.append("\r\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    if (chunked) {
      for (int i = 0; i < body.length; ) {
        int n = Math.min(body.length - i, 1 + rnd.nextInt(700));
        String size = Integer.toHexString(n) + (rnd.nextInt(5) == 0 ? ";x=y" : "") + "\r\n";
        out.writeBytes(size.getBytes(StandardCharsets.US_ASCII));
        out.write(body, i, n);
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        i += n;
      }
      out.writeBytes(
          (rnd.nextBoolean() ? "0\r\n\r\n" : "0\r\nX-Trailer: t\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
    } else {
      out.writeBytes(body);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  private static List<FullHttpRequest> netty(byte[] wire) {
    EmbeddedChannel ch =
        new EmbeddedChannel(new HttpRequestDecoder(), new HttpObjectAggregator(1 << 20));
    ch.writeInbound(ByteBufAllocator.DEFAULT.buffer().writeBytes(wire));
    List<FullHttpRequest> out = new ArrayList<>();
    FullHttpRequest r;
    while ((r = ch.readInbound()) != null) {
      assertThat(r.decoderResult().isSuccess()).as(r.decoderResult().toString()).isTrue();
      out.add(r);
    }
    ch.finishAndReleaseAll();
    return out;
  }

  /** Headers as Netty read them, in order, without those the router does not forward. */
  private static List<String> endToEnd(FullHttpRequest r) {
    List<String> out = new ArrayList<>();
    r.headers()
        .forEach(
            e -> {
              String name = e.getKey().toLowerCase(Locale.ROOT);
              if (!NOT_FORWARDED.contains(name)) {
                out.add(name + ": " + e.getValue());
              }
            });
    return out;
  }

  @Test
  void whatTheEngineGetsIsTheClientsRequestInEverySplit() {
    Random rnd = new Random(9);
    for (int round = 0; round < 600; round++) {
      int count = 1 + rnd.nextInt(3);
      StringBuilder wire = new StringBuilder();
      for (int i = 0; i < count; i++) {
        wire.append(sample(rnd, i == count - 1 && rnd.nextBoolean()));
      }
      byte[] bytes = wire.toString().getBytes(StandardCharsets.ISO_8859_1);
      List<FullHttpRequest> expected = netty(bytes);
      List<ClientMessage.Request> got = new ArrayList<>();
      EmbeddedChannel ch = new EmbeddedChannel(new RequestFramer(1 << 20, "x-session-id"));
      for (int i = 0; i < bytes.length; ) {
        int n = Math.min(bytes.length - i, 1 + rnd.nextInt(rnd.nextBoolean() ? 40 : 3000));
        ch.writeInbound(ByteBufAllocator.DEFAULT.buffer(n).writeBytes(bytes, i, n));
        i += n;
        Object m;
        while ((m = ch.readInbound()) != null) {
          assertThat(m).as(wire.toString()).isInstanceOf(ClientMessage.Request.class);
          got.add((ClientMessage.Request) m);
        }
      }
      ch.finishAndReleaseAll();
      try {
        assertThat(got).as(wire.toString()).hasSameSizeAs(expected);
        for (int i = 0; i < got.size(); i++) {
          FullHttpRequest client = expected.get(i);
          ClientMessage.Request r = got.get(i);
          assertThat(r.keepAlive())
              .isEqualTo(io.netty.handler.codec.http.HttpUtil.isKeepAlive(client));
          ByteBuf upstream =
              r.encode(ByteBufAllocator.DEFAULT, RequestFramerTest.hostLine("engine:9"), "id-" + i);
          byte[] up = new byte[upstream.readableBytes()];
          upstream.readBytes(up);
          upstream.release();
          List<FullHttpRequest> engine = netty(up);
          try {
            assertThat(engine).hasSize(1);
            FullHttpRequest e = engine.get(0);
            assertThat(e.protocolVersion().text()).isEqualTo("HTTP/1.1");
            assertThat(e.method()).isEqualTo(client.method());
            assertThat(e.uri()).isEqualTo(client.uri());
            assertThat(e.content()).isEqualTo(client.content());
            assertThat(endToEnd(e)).as(wire.toString()).isEqualTo(endToEnd(client));
            assertThat(e.headers().getAll("host")).containsExactly("engine:9");
            assertThat(e.headers().getAll("x-request-id")).containsExactly("id-" + i);
            assertThat(e.headers().getAll("content-length"))
                .containsExactly(Integer.toString(client.content().readableBytes()));
          } finally {
            engine.forEach(FullHttpRequest::release);
          }
        }
      } finally {
        got.forEach(ClientMessage.Request::release);
        expected.forEach(FullHttpRequest::release);
      }
    }
  }
}
