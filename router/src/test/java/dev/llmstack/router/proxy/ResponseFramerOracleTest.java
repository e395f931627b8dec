package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random engine responses, cut into random reads, read by ResponseFramer and by Netty's own
 * response decoder: both must agree on the status, the keep-alive, the payload and where the
 * response ends; and what the framer relays, read again by Netty, must carry the same payload.
 */
class ResponseFramerOracleTest {

  private static final String[] NAMES = {
    "content-type", "x-engine", "date", "server", "vary", "x-trace", "cache-control"
  };

  /** One generated response: its bytes, and what it carries. */
  private record Sample(byte[] wire, int status, byte[] payload, boolean chunked) {}

  private static Sample sample(Random rnd) {
    int status = rnd.nextInt(10) == 0 ? 503 : 200;
    boolean chunked = rnd.nextBoolean();
    byte[] payload = new byte[rnd.nextInt(6) == 0 ? 0 : 1 + rnd.nextInt(3000)];
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) (rnd.nextBoolean() ? 'a' + rnd.nextInt(26) : rnd.nextInt(256));
    }
    StringBuilder head = new StringBuilder("HTTP/1.1 ").append(status).append(" Whatever\r\n");
    for (int i = rnd.nextInt(5); i > 0; i--) {
      String name = NAMES[rnd.nextInt(NAMES.length)];
      head.append(rnd.nextBoolean() ? name.toUpperCase() : name)
          .append(rnd.nextBoolean() ? ": " : ":")
          .append("v")
          .append(rnd.nextInt(1000))
          .append(rnd.nextBoolean() ? "  " : "")
          .append("\r\n");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (chunked) {
      head.append("Transfer-Encoding: chunked\r\n\r\n");
      out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      for (int i = 0; i < payload.length; ) {
        int n = Math.min(payload.length - i, 1 + rnd.nextInt(700));
        String size = Integer.toHexString(n);
        out.writeBytes(
            ((rnd.nextBoolean() ? size.toUpperCase() : size)
                    + (rnd.nextInt(4) == 0 ? ";x=y" : "")
                    + "\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.write(payload, i, n);
        out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        i += n;
      }
      out.writeBytes(
          ("0\r\n" + (rnd.nextInt(3) == 0 ? "x-t: 1\r\n" : "") + "\r\n")
              .getBytes(StandardCharsets.ISO_8859_1));
    } else {
      head.append("Content-Length: ").append(payload.length).append("\r\n\r\n");
      out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.writeBytes(payload);
    }
    return new Sample(out.toByteArray(), status, payload, chunked);
  }

  /** Cuts {@code wire} at random places. */
  private static List<byte[]> reads(Random rnd, byte[] wire) {
    List<byte[]> reads = new ArrayList<>();
    for (int i = 0; i < wire.length; ) {
      int n = Math.min(wire.length - i, 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 600));
      byte[] r = new byte[n];
      System.arraycopy(wire, i, r, 0, n);
      reads.add(r);
      i += n;
    }
    return reads;
  }

  /** Netty's reading of a response: status, keep-alive, payload. */
  private record Decoded(int status, boolean keepAlive, byte[] payload, boolean complete) {}

  private static Decoded netty(List<byte[]> reads) {
    EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseDecoder());
    int status = -1;
    boolean keepAlive = false;
    boolean complete = false;
    ByteArrayOutputStream payload = new ByteArrayOutputStream();
    for (byte[] r : reads) {
      ch.writeInbound(Unpooled.wrappedBuffer(r));
      Object msg;
      while ((msg = ch.readInbound()) != null) {
        try {
          if (msg instanceof HttpResponse resp) {
            assertThat(resp.decoderResult().isSuccess()).isTrue();
            status = resp.status().code();
            keepAlive = HttpUtil.isKeepAlive(resp);
          }
          if (msg instanceof HttpContent c) {
            byte[] b = new byte[c.content().readableBytes()];
            c.content().getBytes(c.content().readerIndex(), b);
            payload.writeBytes(b);
            complete |= msg instanceof LastHttpContent;
          }
        } finally {
          ReferenceCountUtil.release(msg);
        }
      }
    }
    ch.finishAndReleaseAll();
    return new Decoded(status, keepAlive, payload.toByteArray(), complete);
  }

  @Test
  void theFramerReadsWhatNettyReads() {
    Random rnd = new Random(20261127);
    ResponseFramer framer = new ResponseFramer(PooledByteBufAllocator.DEFAULT);
    try {
      for (int round = 0; round < 2000; round++) {
        Sample s = sample(rnd);
        List<byte[]> reads = reads(rnd, s.wire());
        Decoded expected = netty(reads);

        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        ByteArrayOutputStream relayed = new ByteArrayOutputStream();
        framer.reset(
            (buf, from, to) -> {
              byte[] b = new byte[to - from];
              buf.getBytes(from, b);
              payload.writeBytes(b);
            });
        boolean ended = false;
        int status = -1;
        boolean keepAlive = false;
        for (byte[] r : reads) {
          assertThat(ended).as("round %d: bytes after the end", round).isFalse();
          ByteBuf in = Unpooled.wrappedBuffer(r);
          framer.feed(in);
          if (framer.headReady()) {
            status = framer.status();
            keepAlive = framer.keepAlive();
            ByteBuf head = Unpooled.buffer();
            framer.writeHead(head);
            relayed.writeBytes(bytes(head));
            relayed.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            head.release();
          }
          byte[] forward = new byte[framer.forwardTo() - framer.forwardFrom()];
          framer.source().getBytes(framer.forwardFrom(), forward);
          relayed.writeBytes(forward);
          if (framer.finalCrlf()) {
            relayed.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
          }
          ended = framer.ended();
          in.release();
        }
        assertThat(status).as("round %d status", round).isEqualTo(expected.status());
        assertThat(keepAlive).as("round %d keep-alive", round).isEqualTo(expected.keepAlive());
        assertThat(ended).as("round %d ended", round).isEqualTo(expected.complete()).isTrue();
        assertThat(payload.toByteArray()).as("round %d payload", round).isEqualTo(s.payload());
        assertThat(expected.payload()).isEqualTo(s.payload());

        // What the client would get is itself a well-formed response with the same payload.
        Decoded client = netty(List.of(relayed.toByteArray()));
        assertThat(client.status()).isEqualTo(s.status());
        assertThat(client.complete()).as("round %d relayed complete", round).isTrue();
        assertThat(client.payload()).as("round %d relayed payload", round).isEqualTo(s.payload());
      }
    } finally {
      framer.release();
    }
  }

  private static byte[] bytes(ByteBuf b) {
    byte[] out = new byte[b.readableBytes()];
    b.getBytes(b.readerIndex(), out);
    return out;
  }
}
