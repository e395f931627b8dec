package dev.llmstack.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The shape of a JSON value: field names and nesting with value types, not values. Two documents
 * with the same shape are interchangeable for a client that parses them.
 */
public final class JsonShape {

  private JsonShape() {}

  public static String of(JsonNode n) {
    return switch (n.getNodeType()) {
      case OBJECT -> {
        List<String> fields = new ArrayList<>();
        n.properties().forEach(e -> fields.add(e.getKey() + ":" + of(e.getValue())));
        Collections.sort(fields);
        yield "{" + String.join(",", fields) + "}";
      }
      case ARRAY -> n.isEmpty() ? "[]" : "[" + of(n.get(0)) + "]";
      case STRING -> "string";
      case NUMBER -> "number";
      case BOOLEAN -> "boolean";
      case NULL -> "null";
      default -> n.getNodeType().toString();
    };
  }
}
