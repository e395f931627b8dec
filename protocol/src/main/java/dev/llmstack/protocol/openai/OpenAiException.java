package dev.llmstack.protocol.openai;

/** Carries an {@link OpenAiError} out of request parsing or validation. */
public final class OpenAiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient OpenAiError error;

  public OpenAiException(OpenAiError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  public OpenAiError error() {
    return error;
  }
}
