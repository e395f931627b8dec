package dev.llmstack.router.proxy;

import static dev.llmstack.router.proxy.AsciiBytes.ascii;

/**
 * The header names and tokens the framers look for, as lower-case ASCII; heads are compared with
 * them in any case ({@link AsciiBytes#nameIs}).
 */
final class HeaderNames {

  static final byte[] CONTENT_LENGTH = ascii("content-length");
  static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
  static final byte[] CONTENT_TYPE = ascii("content-type");
  static final byte[] HOST = ascii("host");
  static final byte[] EXPECT = ascii("expect");
  static final byte[] REQUEST_ID = ascii(ProxyExchange.REQUEST_ID_HEADER);

  // Hop-by-hop headers (RFC 9110 §7.6.1).
  static final byte[] CONNECTION = ascii("connection");
  static final byte[] KEEP_ALIVE = ascii("keep-alive");
  static final byte[] PROXY_CONNECTION = ascii("proxy-connection");
  static final byte[] PROXY_AUTHENTICATE = ascii("proxy-authenticate");
  static final byte[] PROXY_AUTHORIZATION = ascii("proxy-authorization");
  static final byte[] TE = ascii("te");
  static final byte[] TRAILER = ascii("trailer");
  static final byte[] UPGRADE = ascii("upgrade");

  // Tokens in header values.
  static final byte[] CHUNKED = ascii("chunked");
  static final byte[] CLOSE = ascii("close");

  private HeaderNames() {}
}
