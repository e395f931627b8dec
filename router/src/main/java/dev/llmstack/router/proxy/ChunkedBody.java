package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;

/**
 * Reads a chunked body (RFC 9112 §7.1) as its bytes arrive, in any split: chunk sizes, extensions
 * (skipped), data and trailers (dropped). The data goes to a {@link ResponseFramer.DataSink} as
 * ranges of the buffer it arrived in. Used for engine responses, whose chunk framing the client
 * gets as it came ({@link #relayTo}), and for client requests, whose body goes to the engine with a
 * length instead.
 */
final class ChunkedBody {

  private static final int MAX_CHUNK_LINE = 4096;

  private enum State {
    SIZE,
    EXTENSION,
    DATA,
    DATA_END,
    TRAILERS,
    DONE
  }

  private final int maxTrailerBytes;

  /** Every line must end with CRLF, not a bare LF (a client's body; an engine's may). */
  private final boolean strict;

  private boolean sawCr; // the byte before, in a trailer line
  private State state = State.DONE;
  private long remaining; // data bytes left in the current chunk
  private int chunkLine; // bytes of the current chunk-size line so far; -1 after its CR
  private int sizeDigits;
  private int trailerLine; // bytes of the current trailer line so far
  private boolean sawTrailers;

  // What the last consume found.
  private int relayTo;
  private boolean finalCrlf;

  ChunkedBody(int maxTrailerBytes, boolean strict) {
    this.maxTrailerBytes = maxTrailerBytes;
    this.strict = strict;
  }

  /** Starts a new body. */
  void start() {
    state = State.SIZE;
    remaining = 0;
    chunkLine = 0;
    sizeDigits = 0;
    sawTrailers = false;
  }

  boolean done() {
    return state == State.DONE;
  }

  /**
   * Reads [i, end) of {@code buf} up to the end of the body: returns where it stopped, {@code end}
   * or just past the body's last byte.
   *
   * @throws MalformedHttpException if the bytes break chunked framing
   */
  int consume(ByteBuf buf, int i, int end, ResponseFramer.DataSink sink) {
    relayTo = i;
    finalCrlf = false;
    while (i < end && state != State.DONE) {
      switch (state) {
        case SIZE -> {
          byte b = buf.getByte(i++);
          lineByte();
          int digit = Character.digit(b, 16);
          if (digit >= 0) {
            if (++sizeDigits > 15) {
              throw new MalformedHttpException("chunk size too large");
            }
            remaining = remaining << 4 | digit;
          } else if (sizeDigits == 0) {
            throw new MalformedHttpException("chunk size missing");
          } else if (b == '\n') {
            bareLf();
            sizeRead();
          } else if (b == ';' || b == ' ' || b == '\t' || b == '\r') {
            state = State.EXTENSION;
            if (b == '\r') {
              chunkLine = -1; // only LF may follow
            }
          } else {
            throw new MalformedHttpException("bad chunk size");
          }
          relayTo = i;
        }
        case EXTENSION -> {
          byte b = buf.getByte(i++);
          if (b == '\n') {
            if (chunkLine >= 0) {
              bareLf();
            }
            sizeRead();
          } else if (chunkLine < 0) {
            throw new MalformedHttpException("CR without LF after a chunk size");
          } else if (b == '\r') {
            chunkLine = -1;
          } else {
            lineByte();
          }
          relayTo = i;
        }
        case DATA -> {
          int n = (int) Math.min(remaining, end - i);
          if (n > 0) {
            sink.data(buf, i, i + n);
          }
          i += n;
          relayTo = i;
          remaining -= n;
          if (remaining == 0) {
            state = State.DATA_END;
            chunkLine = 0;
          }
        }
        case DATA_END -> {
          byte b = buf.getByte(i++);
          if (b == '\n') {
            if (chunkLine == 0) {
              bareLf();
            }
            state = State.SIZE;
            chunkLine = 0;
            sizeDigits = 0;
          } else if (b != '\r' || chunkLine++ > 0) {
            throw new MalformedHttpException("chunk data longer than its size");
          }
          relayTo = i;
        }
        case TRAILERS -> {
          // Never relayed: what follows gets the empty line that ends them, and no trailers.
          byte b = buf.getByte(i);
          if (b == '\n') {
            if (!sawCr) {
              bareLf();
            }
            if (trailerLine == 0) {
              state = State.DONE;
              if (!sawTrailers && i - relayTo == 1 && buf.getByte(relayTo) == '\r') {
                relayTo = i + 1; // no trailers: the final CRLF can go on as it came
              } else {
                finalCrlf = true;
              }
            } else {
              sawTrailers = true;
              trailerLine = 0;
            }
          } else if (b != '\r' && ++trailerLine > maxTrailerBytes) {
            throw new MalformedHttpException("trailers too large");
          }
          sawCr = b == '\r';
          i++;
        }
        default -> throw new IllegalStateException(state.name());
      }
    }
    return i;
  }

  private void lineByte() {
    if (++chunkLine > MAX_CHUNK_LINE) {
      throw new MalformedHttpException("chunk size line too long");
    }
  }

  private void bareLf() {
    if (strict) {
      throw new MalformedHttpException("a chunk line ended by LF without CR");
    }
  }

  private void sizeRead() {
    if (remaining == 0) {
      state = State.TRAILERS;
      trailerLine = 0;
      sawCr = false;
    } else {
      state = State.DATA;
    }
  }

  /** The end of the bytes of the last consume that can be relayed as they came. */
  int relayTo() {
    return relayTo;
  }

  /**
   * The body ended in the last consume without its final CRLF among the relayable bytes (trailers
   * were dropped, or the CRLF came split): whoever relays it must add one.
   */
  boolean finalCrlf() {
    return finalCrlf;
  }

  /** Whether the body so far ends between two chunks. */
  boolean atChunkBoundary() {
    return state == State.SIZE && chunkLine == 0;
  }
}
