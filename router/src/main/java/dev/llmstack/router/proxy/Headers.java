package dev.llmstack.router.proxy;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.util.AsciiString;

/**
 * Header hygiene for a proxy hop, done in place on the request headers Netty decoded (responses:
 * ResponseFramer).
 */
final class Headers {

  /**
   * Headers that describe one connection, not the message (RFC 9110 §7.6.1), never forwarded; and
   * Host, which names the next hop and is set per hop.
   */
  private static final AsciiString[] PER_HOP = {
    HttpHeaderNames.CONNECTION,
    // Netty deprecates its constants for these two (HTTP/1.0-era names), but clients still send
    // them, and a proxy must not pass them on.
    AsciiString.cached("keep-alive"),
    AsciiString.cached("proxy-connection"),
    HttpHeaderNames.PROXY_AUTHENTICATE,
    HttpHeaderNames.PROXY_AUTHORIZATION,
    HttpHeaderNames.TE,
    HttpHeaderNames.TRAILER,
    HttpHeaderNames.TRANSFER_ENCODING,
    HttpHeaderNames.UPGRADE,
    HttpHeaderNames.HOST
  };

  /**
   * Trailer maps that start with 2 slots instead of 16: the decoder creates one for the last piece
   * of every message although nearly none has trailers. They still grow when trailers come.
   */
  static final HttpHeadersFactory SMALL_TRAILERS =
      new HttpHeadersFactory() {
        private final DefaultHttpHeadersFactory trailers =
            DefaultHttpHeadersFactory.trailersFactory();

        @Override
        public HttpHeaders newHeaders() {
          return trailers.newEmptyHeaders();
        }

        @Override
        public HttpHeaders newEmptyHeaders() {
          return trailers.newEmptyHeaders();
        }
      };

  /** Request decoder settings: Netty's defaults with small trailer maps. */
  static HttpDecoderConfig decoderConfig() {
    return new HttpDecoderConfig().setTrailersFactory(SMALL_TRAILERS);
  }

  private Headers() {}

  /**
   * Removes the hop-by-hop headers, the headers the Connection header names (RFC 9110 §7.6.1) and
   * Host.
   */
  static void stripHopByHop(HttpHeaders h) {
    String connection = h.get(HttpHeaderNames.CONNECTION);
    if (connection != null
        && !connection.equalsIgnoreCase("keep-alive")
        && !connection.equalsIgnoreCase("close")) {
      // Rare: only then are the Connection values split.
      for (String v : h.getAll(HttpHeaderNames.CONNECTION)) {
        for (String token : v.split(",")) {
          String name = token.trim();
          if (!name.isEmpty()) {
            h.remove(name);
          }
        }
      }
    }
    for (AsciiString name : PER_HOP) {
      h.remove(name);
    }
  }
}
