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
          "{\"a\":[1,}",
          "   ",
          "{\"a\":1}{\"b\":2}",
          "{\"a\":1} \"open string",
          "{\"a\":1} 12",
          "{\"model\":\"m",
          "{\"a\":{\"b\":[1,2",
          "{\"model\":{\"x\":1}}",
          "{\"a\":1"
        }) {
      assertThatThrownBy(() -> read(bad))
          .as(bad)
          .isInstanceOfSatisfying(
              OpenAiException.class, e -> assertThat(e.error().status()).isEqualTo(400));
    }
  }

  @Test
  void eachBodyOnAThreadIsReadOnItsOwnWhateverCameBefore() {
    // One parser per thread reads the bodies as a stream: a body that stops inside a value, or
    // leaves the start of one after its object, must not leak into the next.
    String[] before = {
      "{\"a\":1} \"open string",
      "{\"model\":\"cut",
      "{\"a\":[1,2",
      "[",
      "{\"a\":1} 12",
      "{\"a\":tru"
    };
    for (String b : before) {
      assertThatThrownBy(() -> read(b)).as(b).isInstanceOf(OpenAiException.class);
      assertThat(read("{\"model\":\"after\",\"stream\":true}"))
          .as("after %s", b)
          .isEqualTo(new RequestFields("after", null, true));
    }
    assertThat(read("{\"model\":\"ws\"} \r\n\t ").model()).isEqualTo("ws");
    assertThat(read(" \n{\"model\":\"lead\"}").model()).isEqualTo("lead");
  }

  @Test
  void aParserIsReplacedAfterItsShareOfBodiesAndReadingGoesOn() {
    for (int i = 0; i < RequestFields.BODIES_PER_PARSER * 2 + 10; i++) {
      String model = "m" + i;
      assertThat(read("{\"field" + i + "\":[1],\"model\":\"" + model + "\"}").model())
          .isEqualTo(model);
    }
  }

  @Test
  void readsDirectCompositeAndSlicedBodiesWithoutMovingThem() {
    byte[] json =
        "{\"model\":\"m2\",\"user\":\"u\",\"stream\":false}".getBytes(StandardCharsets.UTF_8);
    ByteBuf direct = Unpooled.directBuffer().writeBytes(json);
    ByteBuf composite =
        Unpooled.compositeBuffer()
            .addComponent(true, Unpooled.directBuffer().writeBytes(json, 0, 7))
            .addComponent(true, Unpooled.directBuffer().writeBytes(json, 7, json.length - 7));
    ByteBuf framed = Unpooled.buffer().writeBytes("xx".getBytes(StandardCharsets.UTF_8));
    framed.writeBytes(json).writeBytes("yy".getBytes(StandardCharsets.UTF_8));
    ByteBuf slice = framed.slice(2, json.length); // a heap array with an offset
    try {
      for (ByteBuf body : new ByteBuf[] {direct, composite, slice}) {
        int before = body.readerIndex();
        assertThat(RequestFields.read(body)).isEqualTo(new RequestFields("m2", "u", false));
        assertThat(body.readerIndex()).isEqualTo(before);
        assertThat(body.readableBytes()).isEqualTo(json.length);
      }
    } finally {
      direct.release();
      composite.release();
      framed.release();
    }
  }

  @Test
  void readsBodiesLargerThanTheReusedBuffer() {
    for (int size : new int[] {3000, 40_000, 2_000_000}) {
      String json = "{\"messages\":[\"" + "a".repeat(size) + "\"],\"model\":\"big\"}";
      ByteBuf body = Unpooled.directBuffer().writeBytes(json.getBytes(StandardCharsets.UTF_8));
      try {
        assertThat(RequestFields.read(body).model()).as("size %d", size).isEqualTo("big");
      } finally {
        body.release();
      }
      // A smaller body after a larger one must not see the larger one's leftover bytes.
      assertThat(read("{\"model\":\"s\"}").model()).isEqualTo("s");
      assertThatThrownBy(() -> read("{\"model\":\"s\"")).isInstanceOf(OpenAiException.class);
    }
  }
}
