package dev.llmstack.bench.workload;

/** A small word vocabulary for unit tests: " w0" .. " w999" with ids 1000.., BOS 1. */
public final class TestWords {

  private TestWords() {}

  public static WordVocabulary vocabulary() {
    String[] words = new String[1000];
    int[] ids = new int[1000];
    for (int i = 0; i < words.length; i++) {
      words[i] = " w" + i;
      ids[i] = 1000 + i;
    }
    return new WordVocabulary(words, ids, 1);
  }
}
