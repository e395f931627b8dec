package dev.llmstack.protocol.openai;

import com.fasterxml.jackson.databind.JsonNode;

/** What the cards of a {@code /v1/models} list say, as vLLM writes them. */
public final class ModelCards {

  private ModelCards() {}

  /**
   * The base model of a card that describes a LoRA adapter (its {@code parent}, when that is not
   * the card itself: vLLM's base-model cards name no parent), or null for a base model's card.
   */
  public static String adapterParent(JsonNode card) {
    String parent = card.path("parent").asText("");
    return parent.isEmpty() || parent.equals(card.path("id").asText()) ? null : parent;
  }
}
