package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.threads.BackgroundThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EngineHttpClientTest {

  /**
   * An HTTP/1.1 server on a raw socket, so a test decides what each connection does: answer every
   * request, answer only the first and drop the connection at the next, or never answer.
   */
  private static final class Server implements AutoCloseable {
    enum Mode {
      KEEP_ALIVE,
      DROP_SECOND,
      SILENT,
      CHUNKED,
      UNTIL_CLOSE
    }

    final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    final Mode mode;

    Server(Mode mode) throws IOException {
      this.mode = mode;
      Thread.ofVirtual().start(this::accept);
    }

    Endpoint endpoint() {
      return Endpoint.of("127.0.0.1", socket.getLocalPort());
    }

    private void accept() {
      while (!socket.isClosed()) {
        try {
          Socket s = socket.accept();
          connections.incrementAndGet();
          Thread.ofVirtual().start(() -> serve(s));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void serve(Socket s) {
      try (s) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        for (int n = 0; readHead(in); n++) {
          requests.incrementAndGet();
          if (mode == Mode.SILENT) {
            Thread.sleep(10_000);
            return;
          }
          if (mode == Mode.DROP_SECOND && n == 1) {
            return;
          }
          byte[] body = ("answer " + requests.get()).getBytes(StandardCharsets.UTF_8);
          if (mode == Mode.CHUNKED) {
            // two chunks, the first with an extension, and the head split from the body
            out.write(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            out.write("3;x=y\r\nans\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String rest = new String(body, StandardCharsets.UTF_8).substring(3);
            out.write(
                (Integer.toHexString(rest.length()) + "\r\n" + rest + "\r\n0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            continue;
          }
          if (mode == Mode.UNTIL_CLOSE) {
            out.write("HTTP/1.1 503 Busy\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            return; // the close ends the body
          }
          out.write(
              ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
          out.write(body);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // the connection ends
      }
    }

    /** Reads one request head (a GET has no body); false at the end of the stream. */
    private static boolean readHead(InputStream in) throws IOException {
      int matched = 0;
      int c;
      while ((c = in.read()) >= 0) {
        matched = (c == '\r' || c == '\n') ? matched + 1 : 0;
        if (matched == 4) {
          return true;
        }
      }
      return false;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  @Test
  void getsTheBodyAndReusesTheConnection() throws Exception {
    try (Server server = new Server(Server.Mode.KEEP_ALIVE);
        EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.NORMAL)) {
      EngineHttpClient.Response first =
          client.get(server.endpoint(), "/metrics", 2000).get(5, TimeUnit.SECONDS);
      EngineHttpClient.Response second =
          client.get(server.endpoint(), "/health", 2000).get(5, TimeUnit.SECONDS);
      assertThat(first).isEqualTo(new EngineHttpClient.Response(200, "answer 1"));
      assertThat(second).isEqualTo(new EngineHttpClient.Response(200, "answer 2"));
      assertThat(server.connections.get()).isEqualTo(1);
    }
  }

  @Test
  void aChunkedBodyArrivesJoinedWithoutItsFramingAndTheConnectionIsKept() throws Exception {
    twoAnswers(Server.Mode.CHUNKED, 200, 1);
  }

  @Test
  void aBodyWithoutALengthEndsWhenTheEngineCloses() throws Exception {
    twoAnswers(Server.Mode.UNTIL_CLOSE, 503, 2);
  }

  /** Two GETs in turn, each answered in full, over {@code connections} connections in all. */
  private static void twoAnswers(Server.Mode mode, int status, int connections) throws Exception {
    try (Server server = new Server(mode);
        EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.NORMAL)) {
      for (int i = 1; i <= 2; i++) {
        assertThat(client.get(server.endpoint(), "/metrics", 2000).get(5, TimeUnit.SECONDS))
            .isEqualTo(new EngineHttpClient.Response(status, "answer " + i));
      }
      assertThat(server.connections.get()).isEqualTo(connections);
    }
  }

  @Test
  void itsThreadRunsBelowTheEventLoopsPriority() throws Exception {
    try (EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.NORMAL)) {
      // with -XX:ThreadPriorityPolicy=1 (the launcher's), Java's minimum is nice 10
      assertThat(client.loop().submit(() -> Thread.currentThread().getPriority()).get())
          .isEqualTo(Thread.MIN_PRIORITY);
    }
  }

  @Test
  void aKeptConnectionTheEngineDroppedIsRetriedOnANewOne() throws Exception {
    try (Server server = new Server(Server.Mode.DROP_SECOND);
        EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.NORMAL)) {
      assertThat(client.get(server.endpoint(), "/health", 2000).get(5, TimeUnit.SECONDS).status())
          .isEqualTo(200);
      // The second request reaches the kept connection, which the server drops unanswered.
      EngineHttpClient.Response r =
          client.get(server.endpoint(), "/health", 2000).get(5, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(server.connections.get()).isEqualTo(2);
      assertThat(server.requests.get()).isEqualTo(3);
    }
  }

  @Test
  void aSilentEngineTimesOut() throws Exception {
    try (Server server = new Server(Server.Mode.SILENT);
        EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.NORMAL)) {
      long start = System.nanoTime();
      assertThatThrownBy(
              () -> client.get(server.endpoint(), "/health", 200).get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(TimeoutException.class);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(150L, 3000L);
    }
  }

  @Test
  void aClosedPortFails() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.NORMAL)) {
      assertThatThrownBy(
              () ->
                  client
                      .get(Endpoint.of("127.0.0.1", port), "/health", 2000)
                      .get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class);
    }
  }
}
