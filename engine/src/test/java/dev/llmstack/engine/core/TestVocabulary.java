package dev.llmstack.engine.core;

/** A tiny vocabulary for core tests: words w0..w99 are ids 1000..1099, EOS is 2. */
final class TestVocabulary implements Vocabulary {
  @Override
  public int wordCount() {
    return 100;
  }

  @Override
  public int wordToken(int index) {
    return 1000 + index;
  }

  @Override
  public String text(int tokenId) {
    return " w" + (tokenId - 1000);
  }

  @Override
  public int eosTokenId() {
    return 2;
  }
}
