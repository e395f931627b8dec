package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The router's request and response paths on their own, away from the network and the machine's
 * noise: a client's request, as it arrives, turned into the bytes the engine gets; an engine's
 * response, as it arrives in network reads, turned into the bytes the client gets.
 *
 * <ul>
 *   <li>{@code nettyRequest}: the request path up to session 8 (Netty's request decoder and
 *       aggregator, the header map cleaned and written out again); {@code framerRequest}: since
 *       session 9 ({@link RequestFramer}, and the kept header lines copied as they came).
 *   <li>{@code netty*}: the relay up to session 7. Netty's response decoder makes HTTP objects, the
 *       hop-by-hop headers are removed from the decoded map, the router's three headers are set,
 *       and Netty's response encoder writes it all out again.
 *   <li>{@code framer*}: the relay since session 8. {@link ResponseFramer} reads the framing, the
 *       head is copied line by line with the router's headers, and the body goes on as it came.
 * </ul>
 *
 * Both scan the payload for usage numbers, as the router does. {@code json} is a small answer in
 * one read; {@code sse} is a stream of 12 chunks in 12 reads. It sits in the router's package to
 * reach its package-private classes. Run with {@code ./llmstack bench-relay}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class RelayBenchmark {

  private static final String JSON =
      "{\"id\":\"cmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
          + "{\"role\":\"assistant\",\"content\":\"Hello there\"},\"finish_reason\":\"stop\"}],"
          + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";

  /** A uvicorn-like head: what vLLM's server sends. */
  private static final String JSON_RESPONSE =
      "HTTP/1.1 200 OK\r\ndate: Fri, 27 Nov 2026 00:00:00 GMT\r\nserver: uvicorn\r\n"
          + "content-length: "
          + JSON.length()
          + "\r\ncontent-type: application/json\r\n\r\n"
          + JSON;

  private static List<byte[]> sseReads() {
    List<byte[]> reads = new ArrayList<>();
    reads.add(
        ("HTTP/1.1 200 OK\r\ndate: Fri, 27 Nov 2026 00:00:00 GMT\r\nserver: uvicorn\r\n"
                + "content-type: text/event-stream; charset=utf-8\r\n"
                + "transfer-encoding: chunked\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    for (int i = 0; i < 10; i++) {
      reads.add(
          chunk(
              "data: {\"id\":\"cmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                  + "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok"
                  + i
                  + "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"));
    }
    reads.add(
        (new String(
                    chunk(
                        "data: {\"id\":\"cmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
                            + "\"completion_tokens\":10}}\n\n"),
                    StandardCharsets.US_ASCII)
                + new String(chunk("data: [DONE]\n\n"), StandardCharsets.US_ASCII)
                + "0\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    return reads;
  }

  private static byte[] chunk(String data) {
    byte[] d = data.getBytes(StandardCharsets.US_ASCII);
    return (Integer.toHexString(d.length) + "\r\n" + data + "\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  private static final byte[] ROUTER_HEADERS =
      ("x-llmstack-engine: http://10.0.0.7:8000\r\nx-llmstack-route: least-outstanding;fewest\r\n"
              + "x-request-id: 0b8f3b7e-6f0e-4c55-9a43-5f2c1d9e8a10\r\n")
          .getBytes(StandardCharsets.US_ASCII);

  /** A request as the official openai Python client sends it: its head, then a small body. */
  static final String REQUEST_BODY =
      "{\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"messages\":[{\"role\":\"user\","
          + "\"content\":\"Say hello in one word.\"}],\"max_tokens\":16,\"stream\":false}";

  static final String REQUEST =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: router:8080\r\nAccept-Encoding: gzip, deflate\r\n"
          + "Connection: keep-alive\r\nAccept: application/json\r\nContent-Type: application/json\r\n"
          + "User-Agent: OpenAI/Python 1.54.0\r\nX-Stainless-Lang: python\r\n"
          + "X-Stainless-Package-Version: 1.54.0\r\nX-Stainless-OS: Linux\r\n"
          + "X-Stainless-Arch: x64\r\nX-Stainless-Runtime: CPython\r\n"
          + "X-Stainless-Runtime-Version: 3.12.3\r\nAuthorization: Bearer sk-local\r\n"
          + "X-Stainless-Async: false\r\nx-stainless-retry-count: 0\r\n"
          + "Content-Length: "
          + REQUEST_BODY.length()
          + "\r\n\r\n"
          + REQUEST_BODY;

  private static final String ENGINE_HOST = "10.0.0.7:8000";
  private static final byte[] ENGINE_HOST_LINE =
      ("host: " + ENGINE_HOST + "\r\n").getBytes(StandardCharsets.US_ASCII);
  private static final String REQUEST_ID = "0b8f3b7e-6f0e-4c55-9a43-5f2c1d9e8a10";

  private byte[] request;
  private EmbeddedChannel nettyRequestSide;
  private EmbeddedChannel framerRequestSide;
  private byte[] json;
  private List<byte[]> sse;
  private EmbeddedChannel engineSide;
  private EmbeddedChannel clientSide;
  private EmbeddedChannel rawClientSide;
  private ResponseFramer framer;
  private io.netty.buffer.ByteBuf requestBody;
  private final UsageScanner usage = new UsageScanner();
  private ByteBuf jsonBody;
  private List<ByteBuf> ssePayload;

  @Setup(Level.Trial)
  public void setUp() {
    json = JSON_RESPONSE.getBytes(StandardCharsets.US_ASCII);
    sse = sseReads();
    request = REQUEST.getBytes(StandardCharsets.US_ASCII);
    nettyRequestSide =
        new EmbeddedChannel(
            new HttpRequestDecoder(SESSION_8_DECODER), new HttpObjectAggregator(32 << 20));
    framerRequestSide = new EmbeddedChannel(new RequestFramer(32 << 20, "x-session-id"));
    engineSide = new EmbeddedChannel(new HttpResponseDecoder(SESSION_8_DECODER));
    clientSide = new EmbeddedChannel(new HttpResponseEncoder());
    rawClientSide = new EmbeddedChannel();
    framer = new ResponseFramer(rawClientSide.alloc());
    requestBody =
        io.netty.buffer.Unpooled.directBuffer()
            .writeBytes(REQUEST_BODY.getBytes(StandardCharsets.UTF_8));
    jsonBody = Unpooled.directBuffer().writeBytes(JSON.getBytes(StandardCharsets.US_ASCII));
    ssePayload = new ArrayList<>();
    for (byte[] read : sse.subList(1, sse.size())) {
      ssePayload.add(Unpooled.directBuffer().writeBytes(read));
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    framer.release();
    requestBody.release();
    jsonBody.release();
    ssePayload.forEach(ByteBuf::release);
    nettyRequestSide.finishAndReleaseAll();
    framerRequestSide.finishAndReleaseAll();
    engineSide.finishAndReleaseAll();
    clientSide.finishAndReleaseAll();
    rawClientSide.finishAndReleaseAll();
  }

  /**
   * The routing fields of the request's body (model, user, stream), as the router reads them: one
   * non-blocking parser per thread fed each body, from a direct buffer like the event loop's.
   */
  @Benchmark
  public void requestFields(Blackhole bh) {
    bh.consume(RequestFields.read(requestBody));
  }

  @Benchmark
  public void nettyRequest(Blackhole bh) {
    ByteBuf out = nettyUpstreamRequest();
    bh.consume(out.readableBytes());
    out.release();
  }

  @Benchmark
  public void framerRequest(Blackhole bh) {
    ByteBuf out = framerUpstreamRequest();
    bh.consume(out.readableBytes());
    out.release();
  }

  /**
   * The request path up to session 8: Netty decodes the head into a header map and aggregates the
   * body, the map is cleaned, and the request is written out for the engine from the map.
   */
  ByteBuf nettyUpstreamRequest() {
    nettyRequestSide.writeInbound(nettyRequestSide.alloc().buffer().writeBytes(request));
    FullHttpRequest req = nettyRequestSide.readInbound();
    try {
      HttpHeaders headers = req.headers();
      stripHopByHop(headers);
      headers.set(HttpHeaderNames.HOST, ENGINE_HOST);
      if (!REQUEST_ID.equals(headers.get(ProxyExchange.REQUEST_ID_HEADER))) {
        headers.set(ProxyExchange.REQUEST_ID_HEADER, REQUEST_ID);
      }
      int length = req.content().readableBytes();
      if (headers.getInt(HttpHeaderNames.CONTENT_LENGTH, -1) != length) {
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, length);
      }
      ByteBuf out = nettyRequestSide.alloc().ioBuffer(512 + req.uri().length() + length);
      ByteBufUtil.writeAscii(out, req.method().asciiName());
      out.writeByte(' ');
      ByteBufUtil.writeAscii(out, req.uri());
      out.writeBytes(" HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
      for (var it = headers.iteratorCharSequence(); it.hasNext(); ) {
        var e = it.next();
        ByteBufUtil.writeAscii(out, e.getKey());
        out.writeShort((':' << 8) | ' ');
        ByteBufUtil.writeAscii(out, e.getValue());
        out.writeShort(AsciiBytes.CRLF);
      }
      out.writeShort(AsciiBytes.CRLF);
      return out.writeBytes(req.content(), req.content().readerIndex(), length);
    } finally {
      req.release();
    }
  }

  /**
   * The request path since session 9: {@link RequestFramer}, then one pass to the engine's copy.
   */
  ByteBuf framerUpstreamRequest() {
    framerRequestSide.writeInbound(framerRequestSide.alloc().buffer().writeBytes(request));
    ClientMessage.Request req = framerRequestSide.readInbound();
    try {
      return req.encode(framerRequestSide.alloc(), ENGINE_HOST_LINE, REQUEST_ID);
    } finally {
      req.release();
    }
  }

  /** Netty's decoder settings of session 8: trailer maps that start small. */
  private static final HttpDecoderConfig SESSION_8_DECODER =
      new HttpDecoderConfig()
          .setTrailersFactory(
              new HttpHeadersFactory() {
                @Override
                public HttpHeaders newHeaders() {
                  return DefaultHttpHeadersFactory.trailersFactory().newEmptyHeaders();
                }

                @Override
                public HttpHeaders newEmptyHeaders() {
                  return DefaultHttpHeadersFactory.trailersFactory().newEmptyHeaders();
                }
              });

  /** Session 8's cleaning of a decoded header map: hop-by-hop headers, those Connection names. */
  private static void stripHopByHop(HttpHeaders h) {
    String connection = h.get(HttpHeaderNames.CONNECTION);
    if (connection != null
        && !connection.equalsIgnoreCase("keep-alive")
        && !connection.equalsIgnoreCase("close")) {
      for (String v : h.getAll(HttpHeaderNames.CONNECTION)) {
        for (String token : v.split(",")) {
          if (!token.trim().isEmpty()) {
            h.remove(token.trim());
          }
        }
      }
    }
    for (String name :
        new String[] {
          "connection",
          "keep-alive",
          "proxy-connection",
          "proxy-authenticate",
          "proxy-authorization",
          "te",
          "trailer",
          "transfer-encoding",
          "upgrade",
          "host"
        }) {
      h.remove(name);
    }
  }

  /**
   * The usage scan alone over a small answer's body, from a direct buffer like the event loop's.
   */
  @Benchmark
  public long usageJson() {
    usage.reset();
    usage.scan(jsonBody);
    return usage.promptTokens() + usage.completionTokens();
  }

  /** The usage scan alone over an SSE stream as the engine sends it, chunk framing included. */
  @Benchmark
  public long usageSse() {
    usage.reset();
    for (ByteBuf piece : ssePayload) {
      usage.scan(piece);
    }
    return usage.promptTokens() + usage.completionTokens();
  }

  @Benchmark
  public void nettyJson(Blackhole bh) {
    nettyRelay(json, new UsageScanner());
    drain(clientSide, bh);
  }

  @Benchmark
  public void framerJson(Blackhole bh) {
    UsageScanner usage = new UsageScanner();
    framer.reset(usage);
    framerRelay(json);
    drain(rawClientSide, bh);
  }

  @Benchmark
  public void nettySse(Blackhole bh) {
    UsageScanner usage = new UsageScanner();
    for (byte[] read : sse) {
      nettyRelay(read, usage);
      drain(clientSide, bh);
    }
  }

  @Benchmark
  public void framerSse(Blackhole bh) {
    framer.reset(new UsageScanner());
    for (byte[] read : sse) {
      framerRelay(read);
      drain(rawClientSide, bh);
    }
  }

  /** The relay up to session 7: decode, clean the decoded head, encode. */
  private void nettyRelay(byte[] read, UsageScanner usage) {
    engineSide.writeInbound(Unpooled.wrappedBuffer(read));
    Object msg;
    while ((msg = engineSide.readInbound()) != null) {
      if (msg instanceof HttpResponse r) {
        boolean hasLength = r.headers().contains(HttpHeaderNames.CONTENT_LENGTH);
        stripHopByHop(r.headers());
        if (!hasLength) {
          HttpUtil.setTransferEncodingChunked(r, true); // as the router did: chunked on
        }
        r.headers()
            .set(ProxyExchange.ENGINE_HEADER, "http://10.0.0.7:8000")
            .set(ProxyExchange.ROUTE_HEADER, "least-outstanding" + ";" + "fewest")
            .set(ProxyExchange.REQUEST_ID_HEADER, "0b8f3b7e-6f0e-4c55-9a43-5f2c1d9e8a10");
      }
      if (msg instanceof HttpContent c) {
        usage.scan(c.content());
      }
      clientSide.writeOutbound(msg);
    }
  }

  /** The relay since session 8, as ProxyExchange does it. */
  private void framerRelay(byte[] read) {
    ByteBuf in = Unpooled.wrappedBuffer(read);
    framer.feed(in);
    ByteBuf out = null;
    if (framer.headReady()) {
      out = rawClientSide.alloc().ioBuffer(framer.headBytes() + ROUTER_HEADERS.length + 64);
      framer.writeHead(out);
      out.writeBytes(ROUTER_HEADERS);
      out.writeShort(ResponseFramer.CRLF);
    }
    int from = framer.forwardFrom();
    int length = framer.forwardTo() - from;
    if (length > 0) {
      if (out != null) {
        out.writeBytes(framer.source(), from, length);
      } else {
        rawClientSide.writeOutbound(framer.source().retainedSlice(from, length));
      }
    }
    if (out != null) {
      rawClientSide.writeOutbound(out);
    }
    in.release();
  }

  /** What the client gets from one response through either relay; for the benchmark's test. */
  byte[] clientBytes(boolean withFramer, boolean stream) {
    java.io.ByteArrayOutputStream client = new java.io.ByteArrayOutputStream();
    EmbeddedChannel out = withFramer ? rawClientSide : clientSide;
    UsageScanner usage = new UsageScanner();
    framer.reset(usage);
    for (byte[] read : stream ? sse : List.of(json)) {
      if (withFramer) {
        framerRelay(read);
      } else {
        nettyRelay(read, usage);
      }
      Object o;
      while ((o = out.readOutbound()) != null) {
        ByteBuf b = (ByteBuf) o;
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        client.writeBytes(bytes);
        b.release();
      }
    }
    return client.toByteArray();
  }

  private static void drain(EmbeddedChannel ch, Blackhole bh) {
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ByteBuf b = (ByteBuf) o;
      bh.consume(b.readableBytes());
      b.release();
    }
  }
}
