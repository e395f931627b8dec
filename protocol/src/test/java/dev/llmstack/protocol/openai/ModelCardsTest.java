package dev.llmstack.protocol.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ModelCardsTest {

  final ObjectMapper json = new ObjectMapper();

  @Test
  void anAdapterCardNamesItsBaseModelAndABaseCardDoesNot() throws Exception {
    assertThat(
            ModelCards.adapterParent(
                json.readTree("{\"id\":\"sql-lora\",\"root\":\"/a\",\"parent\":\"base\"}")))
        .isEqualTo("base");
    assertThat(ModelCards.adapterParent(json.readTree("{\"id\":\"base\",\"parent\":null}")))
        .isNull();
    assertThat(ModelCards.adapterParent(json.readTree("{\"id\":\"base\"}"))).isNull();
    assertThat(ModelCards.adapterParent(json.readTree("{\"id\":\"base\",\"parent\":\"base\"}")))
        .isNull();
  }
}
