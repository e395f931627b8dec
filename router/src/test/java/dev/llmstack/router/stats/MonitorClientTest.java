package dev.llmstack.router.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.router.discovery.Endpoint;
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

class MonitorClientTest {

  /**
   * An HTTP/1.1 server on a raw socket, so a test decides what each connection does: answer every
   * request, answer only the first and drop the connection at the next, or never answer.
   */
  private static final class Server implements AutoCloseable {
    enum Mode {
      KEEP_ALIVE,
      DROP_SECOND,
      SILENT
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
        MonitorClient client = new MonitorClient(1000)) {
      MonitorClient.Response first =
          client.get(server.endpoint(), "/metrics", 2000).get(5, TimeUnit.SECONDS);
      MonitorClient.Response second =
          client.get(server.endpoint(), "/health", 2000).get(5, TimeUnit.SECONDS);
      assertThat(first).isEqualTo(new MonitorClient.Response(200, "answer 1"));
      assertThat(second).isEqualTo(new MonitorClient.Response(200, "answer 2"));
      assertThat(server.connections.get()).isEqualTo(1);
    }
  }

  @Test
  void aKeptConnectionTheEngineDroppedIsRetriedOnANewOne() throws Exception {
    try (Server server = new Server(Server.Mode.DROP_SECOND);
        MonitorClient client = new MonitorClient(1000)) {
      assertThat(client.get(server.endpoint(), "/health", 2000).get(5, TimeUnit.SECONDS).status())
          .isEqualTo(200);
      // The second request reaches the kept connection, which the server drops unanswered.
      MonitorClient.Response r =
          client.get(server.endpoint(), "/health", 2000).get(5, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(server.connections.get()).isEqualTo(2);
      assertThat(server.requests.get()).isEqualTo(3);
    }
  }

  @Test
  void aSilentEngineTimesOut() throws Exception {
    try (Server server = new Server(Server.Mode.SILENT);
        MonitorClient client = new MonitorClient(1000)) {
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
    try (MonitorClient client = new MonitorClient(1000)) {
      assertThatThrownBy(
              () ->
                  client
                      .get(Endpoint.of("127.0.0.1", port), "/health", 2000)
                      .get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class);
    }
  }
}
