package dev.llmstack.engine.server;

import dev.llmstack.engine.core.Vocabulary;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import dev.llmstack.protocol.tokenizer.ChatMessage;
import dev.llmstack.protocol.tokenizer.ChatTemplate;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import java.util.List;
import java.util.Map;

/**
 * The served model's real tokenizer behind the engine's {@link PromptTokenizer} and {@link
 * Vocabulary}.
 */
public final class ModelPromptTokenizer implements PromptTokenizer, Vocabulary {

  private final ModelTokenizer tokenizer;
  private final int[] words;
  private final String[] wordText;
  private final int eos;
  private final java.util.HashMap<Integer, String> textById = new java.util.HashMap<>();

  public ModelPromptTokenizer(ModelTokenizer tokenizer) {
    this.tokenizer = tokenizer;
    this.words = tokenizer.plainWordTokenIds();
    if (words.length == 0) {
      throw new IllegalArgumentException(
          "tokenizer " + tokenizer.directory() + " has no plain word tokens to generate from");
    }
    this.wordText = new String[words.length];
    int[] one = new int[1];
    for (int i = 0; i < words.length; i++) {
      one[0] = words[i];
      wordText[i] = tokenizer.decode(one, false);
      textById.put(words[i], wordText[i]);
    }
    int[] eosIds = tokenizer.eosTokenIds();
    this.eos = eosIds.length > 0 ? eosIds[0] : -1;
  }

  @Override
  public int[] encodeChat(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, Object> templateKwargs) {
    try {
      return tokenizer.encodeChat(
          messages, addGenerationPrompt, continueFinalMessage, templateKwargs);
    } catch (ChatTemplate.TemplateException e) {
      // vLLM answers a template error (jinja TemplateError or raise_exception) with a 400.
      throw new OpenAiException(OpenAiError.badRequest(e.getMessage(), "messages"));
    }
  }

  @Override
  public int[] encodePrompt(String text, boolean addSpecialTokens) {
    return tokenizer.encode(text, addSpecialTokens);
  }

  @Override
  public String decode(int[] ids) {
    return tokenizer.decode(ids, true);
  }

  @Override
  public Vocabulary vocabulary() {
    return this;
  }

  @Override
  public int wordCount() {
    return words.length;
  }

  @Override
  public int wordToken(int index) {
    return words[index];
  }

  @Override
  public String text(int tokenId) {
    String t = textById.get(tokenId);
    return t != null ? t : "";
  }

  @Override
  public int eosTokenId() {
    return eos;
  }
}
