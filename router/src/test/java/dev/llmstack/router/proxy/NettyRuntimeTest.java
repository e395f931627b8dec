package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.PlatformDependent;
import org.junit.jupiter.api.Test;

/** The tests run Netty the way the launcher runs the router, with its leak detector at its top. */
class NettyRuntimeTest {

  @Test
  void buffersUseUnsafeOnJdk23AndLater() {
    assumeTrue(Runtime.version().feature() >= 23, "the flag that allows it exists since JDK 23");
    assertThat(PlatformDependent.hasUnsafe())
        .as("Netty on Unsafe (%s)", PlatformDependent.getUnsafeUnavailabilityCause())
        .isTrue();
  }

  @Test
  void leakDetectionIsParanoid() {
    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
  }
}
