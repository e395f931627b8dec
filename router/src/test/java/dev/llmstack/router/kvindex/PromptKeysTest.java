package dev.llmstack.router.kvindex;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PromptKeysTest {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";
  static PromptKeys keys;

  @BeforeAll
  static void load() {
    keys = new PromptKeys(null, 16);
  }

  @AfterAll
  static void close() {
    keys.close();
  }

  private static PromptKeys.Keys of(String json) {
    ByteBuf body = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
    try {
      return keys.compute(MODEL, body, false);
    } finally {
      body.release();
    }
  }

  private static String completion(String extra) {
    return "{\"model\":\""
        + MODEL
        + "\",\"prompt\":\""
        + "The quick brown fox jumps. ".repeat(20)
        + "\""
        + extra
        + "}";
  }

  @Test
  void samePromptSameKeysAndCacheSaltChangesEveryKey() {
    PromptKeys.Keys plain = of(completion(""));
    PromptKeys.Keys again = of(completion(",\"max_tokens\":5"));
    PromptKeys.Keys salted = of(completion(",\"cache_salt\":\"tenant-a\""));
    PromptKeys.Keys otherSalt = of(completion(",\"cache_salt\":\"tenant-b\""));
    assertThat(plain.keys().length).isGreaterThan(4);
    assertThat(again.keys()).isEqualTo(plain.keys());
    assertThat(salted.promptTokens()).isEqualTo(plain.promptTokens());
    // The salt enters the first block, and the chain carries it into every later key.
    for (int i = 0; i < plain.keys().length; i++) {
      assertThat(salted.keys()[i]).isNotEqualTo(plain.keys()[i]);
      assertThat(otherSalt.keys()[i]).isNotEqualTo(salted.keys()[i]);
    }
    assertThat(of(completion(",\"cache_salt\":\"tenant-a\"")).keys()).isEqualTo(salted.keys());
  }

  @Test
  void aLoraAdapterGetsKeysOfItsOwn() {
    ByteBuf body = Unpooled.copiedBuffer(completion(""), StandardCharsets.UTF_8);
    try {
      PromptKeys.Keys base = keys.compute(MODEL, body, false);
      PromptKeys.Keys sql = keys.compute(MODEL, "sql-lora", body, false);
      PromptKeys.Keys chat = keys.compute(MODEL, "chat-lora", body, false);
      // The base model's tokenizer serves the adapter: same prompt length, other keys throughout.
      assertThat(sql.promptTokens()).isEqualTo(base.promptTokens());
      assertThat(sql.keys()).hasSameSizeAs(base.keys());
      for (int i = 0; i < base.keys().length; i++) {
        assertThat(sql.keys()[i]).isNotEqualTo(base.keys()[i]).isNotEqualTo(chat.keys()[i]);
      }
      assertThat(keys.compute(MODEL, "sql-lora", body, false).keys()).isEqualTo(sql.keys());
    } finally {
      body.release();
    }
  }

  @Test
  void withoutATokenizerCharacterBlocksStandIn() {
    String model = "acme/unknown-model";
    String system = "You are a helpful assistant for the ACME company. ".repeat(20);
    java.util.function.Function<String, PromptKeys.Keys> chat =
        q -> {
          ByteBuf body =
              Unpooled.copiedBuffer(
                  "{\"model\":\""
                      + model
                      + "\",\"messages\":[{\"role\":\"system\",\"content\":\""
                      + system
                      + "\"},{\"role\":\"user\",\"content\":\""
                      + q
                      + "\"}]}",
                  StandardCharsets.UTF_8);
          try {
            return keys.compute(model, body, true);
          } finally {
            body.release();
          }
        };
    PromptKeys.Keys a = chat.apply("What is the weather?");
    PromptKeys.Keys b = chat.apply("Who are you?");
    assertThat(a.source()).isEqualTo(dev.llmstack.router.routing.RouteRequest.KeySource.CHARACTERS);
    // About 1,000 characters of shared system prompt: 15 shared 64-character blocks.
    int shared = 0;
    while (shared < Math.min(a.keys().length, b.keys().length)
        && a.keys()[shared] == b.keys()[shared]) {
      shared++;
    }
    assertThat(shared).isBetween(14, 16);
    assertThat(a.promptTokens()).isBetween(200, 300); // ~4 characters per token
    assertThat(of(completion("")).source())
        .isEqualTo(dev.llmstack.router.routing.RouteRequest.KeySource.TOKENS);
  }
}
