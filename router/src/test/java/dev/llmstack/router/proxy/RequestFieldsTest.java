package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.protocol.openai.OpenAiException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestFieldsTest {

  static RequestFields read(String json) {
    ByteBuf buf = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
    try {
      return RequestFields.read(buf);
    } finally {
      buf.release();
    }
  }

  @Test
  void readsOnlyRoutingFields() {
    RequestFields f =
        read(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"{\\\"model\\\":\\\"x\\\"}\"}],"
                + "\"model\":\"m1\",\"stream\":true,\"user\":\"u7\",\"n\":1}");
    assertThat(f).isEqualTo(new RequestFields("m1", "u7", true));
    assertThat(read("{\"model\":\"m\"}").stream()).isFalse();
    assertThat(read("{\"prompt\":\"p\"}").model()).isNull();
  }

  @Test
  void rejectsMalformedBodies() {
    for (String bad :
        new String[] {
          "",
          "{",
          "[1]",
          "{\"model\":5}",
          "{\"stream\":\"yes\"}",
          "{\"a\":1} trailing",
          "{\"a\":[1,}"
        }) {
      assertThatThrownBy(() -> read(bad))
          .as(bad)
          .isInstanceOfSatisfying(
              OpenAiException.class, e -> assertThat(e.error().status()).isEqualTo(400));
    }
  }
}
