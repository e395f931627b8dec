package dev.llmstack.engine.server;

import dev.llmstack.engine.core.Vocabulary;
import java.util.List;
import java.util.Map;

/** What the HTTP front needs of the served model's tokenizer and chat template. */
public interface PromptTokenizer {

  /**
   * Renders the chat template and tokenizes the result (no special tokens added: the template has
   * them).
   */
  int[] encodeChat(
      List<dev.llmstack.protocol.tokenizer.ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, Object> templateKwargs);

  int[] encodePrompt(String text, boolean addSpecialTokens);

  String decode(int[] ids);

  Vocabulary vocabulary();
}
