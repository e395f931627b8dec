package dev.llmstack.protocol.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One chat message as a chat template sees it: a role and its text. Content given as a list of
 * parts is reduced to its text parts joined by newlines ({@link #textContent}), as vLLM does for
 * text-only models.
 */
public record ChatMessage(String role, String content) {

  public ChatMessage {
    content = content == null ? "" : content;
  }

  /** A request message ({@code {"role": ..., "content": ...}}); null when it has no string role. */
  public static ChatMessage fromJson(JsonNode message) {
    JsonNode role = message == null ? null : message.get("role");
    if (role == null || !role.isTextual()) {
      return null;
    }
    return new ChatMessage(role.asText(), textContent(message.get("content")));
  }

  /**
   * The text of an OpenAI message content: a string as is; for a list of parts, the text of each
   * {@code {"type": "text", "text": ...}} part (or a bare string part) joined by {@code "\n"}; null
   * or anything else is empty.
   */
  public static String textContent(JsonNode content) {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.asText();
    }
    if (!content.isArray()) {
      return "";
    }
    List<String> texts = new ArrayList<>();
    for (JsonNode part : content) {
      if (part.isTextual()) {
        texts.add(part.asText());
      } else if (part.isObject() && "text".equals(part.path("type").asText("text"))) {
        JsonNode text = part.get("text");
        if (text != null && text.isTextual()) {
          texts.add(text.asText());
        }
      }
    }
    return String.join("\n", texts);
  }

  /** The message as the template's {@code messages} entry (a fresh, mutable map). */
  Map<String, Object> toTemplateMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content);
    return m;
  }
}
