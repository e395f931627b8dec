package dev.llmstack.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads /v1/chat/completions and /v1/completions bodies the way vLLM's pydantic models do: unknown
 * fields are ignored, wrong types and invalid values are a 400 BadRequestError naming the field.
 */
final class GenerationRequestParser {

  private GenerationRequestParser() {}

  static GenerationRequest parse(JsonNode body, boolean chat, String headerRequestId) {
    if (body == null || !body.isObject()) {
      throw bad("The request body must be a JSON object.", null);
    }
    String model = optString(body, "model");

    List<dev.llmstack.protocol.tokenizer.ChatMessage> messages = null;
    String prompt = null;
    int[] promptIds = null;
    if (chat) {
      messages = messages(body);
    } else {
      JsonNode p = body.get("prompt");
      if (p == null || p.isNull()) {
        throw bad("Field required: prompt", "prompt");
      }
      if (p.isTextual()) {
        prompt = p.asText();
      } else if (p.isArray()) {
        if (p.isEmpty()) {
          throw bad("Prompt cannot be empty.", "prompt");
        }
        JsonNode first = p.get(0);
        if (first.isTextual()) {
          if (p.size() > 1) {
            throw bad("Only one prompt per request is supported by this engine.", "prompt");
          }
          prompt = first.asText();
        } else if (first.isIntegralNumber()) {
          promptIds = tokenIds(p);
        } else if (first.isArray()) {
          if (p.size() > 1) {
            throw bad("Only one prompt per request is supported by this engine.", "prompt");
          }
          promptIds = tokenIds(first);
        } else {
          throw bad("prompt must be a string, a list of strings or a list of token ids.", "prompt");
        }
      } else {
        throw bad("prompt must be a string, a list of strings or a list of token ids.", "prompt");
      }
      if (prompt != null && prompt.isEmpty()) {
        throw bad("Prompt cannot be empty.", "prompt");
      }
    }

    Integer maxTokens = optInt(body, "max_tokens");
    if (chat) {
      Integer maxCompletion = optInt(body, "max_completion_tokens");
      if (maxCompletion != null) {
        maxTokens = maxCompletion;
      }
    } else if (maxTokens == null) {
      maxTokens = 16;
    }
    if (maxTokens != null && maxTokens < 1) {
      throw bad("max_tokens must be at least 1, got " + maxTokens + ".", "max_tokens");
    }
    Integer minTokens = optInt(body, "min_tokens");
    int min = minTokens == null ? 0 : minTokens;
    if (min < 0) {
      throw bad("min_tokens must be greater than or equal to 0, got " + min + ".", "min_tokens");
    }
    if (maxTokens != null && min > maxTokens) {
      throw bad(
          "min_tokens must be less than or equal to max_tokens=" + maxTokens + ", got " + min + ".",
          "min_tokens");
    }
    Integer n = optInt(body, "n");
    if (n != null && n != 1) {
      if (n < 1) {
        throw bad("n must be at least 1, got " + n + ".", "n");
      }
      throw bad("n > 1 is not supported by the simulated engine.", "n");
    }
    for (String numeric : List.of("temperature", "top_p", "min_p", "presence_penalty")) {
      JsonNode v = body.get(numeric);
      if (v != null && !v.isNull() && !v.isNumber()) {
        throw bad(numeric + " must be a number.", numeric);
      }
    }
    optInt(body, "top_k");
    boolean ignoreEos = optBool(body, "ignore_eos", false);
    Long seed = optLong(body, "seed");
    List<String> stop = stop(body);
    boolean stream = optBool(body, "stream", false);
    boolean includeUsage = false;
    boolean continuousUsage = false;
    JsonNode so = body.get("stream_options");
    if (so != null && !so.isNull()) {
      if (!so.isObject()) {
        throw bad("stream_options must be an object.", "stream_options");
      }
      if (!stream) {
        throw bad("Stream options can only be defined when `stream=True`.", "stream_options");
      }
      includeUsage = optBool(so, "include_usage", true);
      continuousUsage = optBool(so, "continuous_usage_stats", false);
    }
    boolean echo = optBool(body, "echo", false);
    boolean addGenerationPrompt = optBool(body, "add_generation_prompt", true);
    boolean continueFinal = optBool(body, "continue_final_message", false);
    if (chat && addGenerationPrompt && continueFinal && body.has("add_generation_prompt")) {
      throw bad(
          "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
          "continue_final_message");
    }
    if (continueFinal) {
      addGenerationPrompt = false;
    }
    Map<String, Object> kwargs = Map.of();
    JsonNode ctk = body.get("chat_template_kwargs");
    if (ctk != null && !ctk.isNull()) {
      if (!ctk.isObject()) {
        throw bad("chat_template_kwargs must be an object.", "chat_template_kwargs");
      }
      kwargs = new LinkedHashMap<>();
      for (Map.Entry<String, JsonNode> e : ctk.properties()) {
        kwargs.put(e.getKey(), plain(e.getValue()));
      }
    }
    boolean addSpecialTokens = optBool(body, "add_special_tokens", !chat);
    String cacheSalt = optString(body, "cache_salt");
    if (cacheSalt != null && cacheSalt.isEmpty()) {
      throw bad("Parameter 'cache_salt' must be a non-empty string if provided.", "cache_salt");
    }
    String requestId = optString(body, "request_id");
    if (requestId == null) {
      requestId = headerRequestId;
    }
    return new GenerationRequest(
        chat,
        model,
        messages,
        addGenerationPrompt,
        continueFinal,
        kwargs,
        prompt,
        promptIds,
        addSpecialTokens,
        maxTokens,
        min,
        ignoreEos,
        seed,
        stop,
        stream,
        includeUsage,
        continuousUsage,
        echo,
        cacheSalt,
        requestId);
  }

  static List<dev.llmstack.protocol.tokenizer.ChatMessage> messages(JsonNode body) {
    JsonNode m = body.get("messages");
    if (m == null || m.isNull()) {
      throw bad("Field required: messages", "messages");
    }
    if (!m.isArray()) {
      throw bad("messages must be a list of message objects.", "messages");
    }
    if (m.isEmpty()) {
      throw bad("messages must not be empty.", "messages");
    }
    List<dev.llmstack.protocol.tokenizer.ChatMessage> out = new ArrayList<>(m.size());
    for (JsonNode msg : m) {
      if (!msg.isObject()) {
        throw bad("Each message must be an object with a role and content.", "messages");
      }
      JsonNode role = msg.get("role");
      if (role == null || !role.isTextual()) {
        throw bad("Each message needs a string role.", "messages");
      }
      out.add(
          new dev.llmstack.protocol.tokenizer.ChatMessage(
              role.asText(), content(msg.get("content"))));
    }
    return out;
  }

  /**
   * Text content: a string, or the text parts of a content list joined by newlines (as vLLM does).
   */
  private static String content(JsonNode c) {
    if (c == null || c.isNull()) {
      return "";
    }
    if (c.isTextual()) {
      return c.asText();
    }
    if (c.isArray()) {
      StringBuilder sb = new StringBuilder();
      for (JsonNode part : c) {
        if (part.isTextual()) {
          appendPart(sb, part.asText());
        } else if (part.isObject() && "text".equals(part.path("type").asText())) {
          JsonNode text = part.get("text");
          if (text == null || !text.isTextual()) {
            throw bad("A text content part needs a string text.", "messages");
          }
          appendPart(sb, text.asText());
        } else {
          throw bad("Only text content parts are supported by this model.", "messages");
        }
      }
      return sb.toString();
    }
    throw bad("Message content must be a string or a list of content parts.", "messages");
  }

  private static void appendPart(StringBuilder sb, String text) {
    if (!sb.isEmpty()) {
      sb.append('\n');
    }
    sb.append(text);
  }

  private static int[] tokenIds(JsonNode arr) {
    if (arr.isEmpty()) {
      throw bad("Prompt cannot be empty.", "prompt");
    }
    int[] ids = new int[arr.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode t = arr.get(i);
      if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0) {
        throw bad("Token ids must be non-negative integers.", "prompt");
      }
      ids[i] = t.asInt();
    }
    return ids;
  }

  private static List<String> stop(JsonNode body) {
    JsonNode s = body.get("stop");
    if (s == null || s.isNull()) {
      return List.of();
    }
    if (s.isTextual()) {
      return s.asText().isEmpty() ? List.of() : List.of(s.asText());
    }
    if (s.isArray()) {
      List<String> out = new ArrayList<>();
      for (JsonNode x : s) {
        if (!x.isTextual()) {
          throw bad("stop must be a string or a list of strings.", "stop");
        }
        if (!x.asText().isEmpty()) {
          out.add(x.asText());
        }
      }
      return out;
    }
    throw bad("stop must be a string or a list of strings.", "stop");
  }

  static String optString(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw bad(field + " must be a string.", field);
    }
    return v.asText();
  }

  static Integer optInt(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber()) {
      throw bad(field + " must be an integer.", field);
    }
    if (!v.canConvertToInt()) {
      throw bad(field + " is out of range: " + v.asText() + ".", field);
    }
    return v.asInt();
  }

  private static Long optLong(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw bad(field + " must be an integer.", field);
    }
    return v.asLong();
  }

  static boolean optBool(JsonNode body, String field, boolean dflt) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return dflt;
    }
    if (v.getNodeType() != JsonNodeType.BOOLEAN) {
      throw bad(field + " must be a boolean.", field);
    }
    return v.asBoolean();
  }

  private static Object plain(JsonNode v) {
    return switch (v.getNodeType()) {
      case BOOLEAN -> v.asBoolean();
      case NUMBER -> v.isIntegralNumber() ? (Object) v.asLong() : (Object) v.asDouble();
      case STRING -> v.asText();
      case NULL, MISSING -> null;
      default -> v.toString();
    };
  }

  static OpenAiException bad(String message, String param) {
    return new OpenAiException(OpenAiError.badRequest(message, param));
  }
}
