package dev.llmstack.router.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class IdleConnectionsTest {

  @Test
  void givesBackTheWarmestLiveConnectionPerEngine() {
    IdleConnections idle = new IdleConnections(4);
    EmbeddedChannel older = new EmbeddedChannel();
    EmbeddedChannel newer = new EmbeddedChannel();
    EmbeddedChannel closedSince = new EmbeddedChannel();
    idle.offer("a", older);
    idle.offer("a", newer);
    idle.offer("a", closedSince);
    closedSince.close();
    assertThat(idle.poll("b")).isNull();
    assertThat(idle.poll("a")).isSameAs(newer); // the closed one is skipped
    assertThat(idle.poll("a")).isSameAs(older);
    assertThat(idle.poll("a")).isNull();
  }

  @Test
  void closesWhatItHasNoRoomForAndEverythingOfAForgottenEngine() {
    IdleConnections idle = new IdleConnections(1);
    EmbeddedChannel kept = new EmbeddedChannel();
    EmbeddedChannel extra = new EmbeddedChannel();
    EmbeddedChannel dead = new EmbeddedChannel();
    dead.close();
    idle.offer("a", dead); // not kept: it would only be skipped later
    idle.offer("a", kept);
    idle.offer("a", extra);
    assertThat(extra.isOpen()).isFalse();
    assertThat(kept.isOpen()).isTrue();
    idle.closeAll("a");
    assertThat(kept.isOpen()).isFalse();
    assertThat(idle.poll("a")).isNull();
  }
}
