package dev.llmstack.router.proxy;

import dev.llmstack.protocol.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpMethod;

/**
 * What {@link RequestFramer} reads from a client connection, in order: requests, a request's wish
 * to be told to send its body, or a request the router refuses before routing it.
 */
sealed interface ClientMessage {

  /**
   * A whole request. {@code headerLines} are the header lines that go on to an engine, byte for
   * byte as the client sent them, each ended with CRLF. The lines left out are the hop-by-hop ones,
   * Host, Content-Length, Expect and x-request-id, which the router writes itself. Owns {@code
   * body} until {@link #release}.
   */
  record Request(
      HttpMethod method,
      String uri,
      boolean http10,
      boolean keepAlive,
      byte[] headerLines,
      ByteBuf body,
      String requestId,
      String policyOverride,
      String engineOverride,
      String session)
      implements ClientMessage {

    /** Request bodies up to this size are copied behind the head; larger ones follow it as is. */
    static final int COPY_BODY_LIMIT = 64 * 1024;

    /** Request line end, x-request-id and Content-Length lines, less their values. */
    private static final int OWN_LINES = 96;

    private static final byte[] SP_HTTP_11_CRLF = AsciiBytes.ascii(" HTTP/1.1\r\n");
    private static final byte[] CONTENT_LENGTH = AsciiBytes.ascii("content-length: ");

    /**
     * The request as it goes to an engine, in one buffer ({@code hostLine}: its Host header line
     * with CRLF): its line as HTTP/1.1 (whatever the client spoke, so the engine's connection can
     * stay pooled), Host, the client's end-to-end header lines as they came, x-request-id,
     * Content-Length and, up to {@link #COPY_BODY_LIMIT}, the body, so that it leaves in a single
     * send. Netty's encoder wrote the head and the aggregated body's pieces separately, a gather
     * write of three or more. Does not consume this request: a retry encodes it again for the next
     * engine.
     */
    ByteBuf encode(ByteBufAllocator alloc, byte[] hostLine, String requestId) {
      int length = body.readableBytes();
      boolean copyBody = length <= COPY_BODY_LIMIT;
      ByteBuf out =
          alloc.ioBuffer(
              headerLines.length
                  + uri.length()
                  + hostLine.length
                  + requestId.length()
                  + OWN_LINES
                  + (copyBody ? length : 0));
      ByteBufUtil.writeAscii(out, method.asciiName());
      out.writeByte(' ');
      ByteBufUtil.writeAscii(out, uri); // byte for byte: it was read as ISO-8859-1
      out.writeBytes(SP_HTTP_11_CRLF);
      out.writeBytes(hostLine);
      out.writeBytes(headerLines);
      AsciiBytes.writeHeader(out, ProxyExchange.REQUEST_ID_HEADER_BYTES, requestId);
      out.writeBytes(CONTENT_LENGTH);
      AsciiBytes.writeDecimal(out, length);
      out.writeShort(AsciiBytes.CRLF);
      out.writeShort(AsciiBytes.CRLF);
      if (copyBody) {
        // Read from the body into out, not written into out from the body: Netty's pooled buffer
        // makes an NIO view of itself for every write from another buffer (an object per request),
        // while reading into a buffer with a memory address is a plain memory copy.
        int at = out.writerIndex();
        body.getBytes(body.readerIndex(), out, at, length);
        return out.writerIndex(at + length);
      }
      return Unpooled.wrappedBuffer(out, body.retainedDuplicate());
    }

    void release() {
      body.release();
    }
  }

  /**
   * The client sent {@code Expect: 100-continue} and waits to be told to send its body: the router
   * answers {@code 100 Continue} when this request's turn comes (RFC 9110 §10.1.1).
   */
  enum ContinueExpected implements ClientMessage {
    INSTANCE
  }

  /**
   * A request the router answers with {@code error} and then closes the connection, because what
   * follows it on the connection cannot be trusted to start a new request.
   */
  record Refused(OpenAiError error) implements ClientMessage {}
}
