package dev.llmstack.engine.perf;

/**
 * Argument checks for the profile records, so that a bad profile file fails when it is read, with
 * the JSON field named, instead of producing nonsense step times later.
 */
final class Check {

  private Check() {}

  static void present(Object value, String field) {
    if (value == null || (value instanceof String s && s.isBlank())) {
      throw new IllegalArgumentException(field + " is missing");
    }
  }

  static void positive(double value, String field) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(field + " must be a positive number, got " + value);
    }
  }

  static void nonNegative(double value, String field) {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(field + " must be zero or positive, got " + value);
    }
  }

  static void fraction(double value, String field) {
    if (!(value > 0 && value <= 1)) {
      throw new IllegalArgumentException(field + " must be in (0, 1], got " + value);
    }
  }
}
