package dev.llmstack.protocol.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A HuggingFace fast tokenizer (tokenizer.json) through DJL's binding of the Rust {@code
 * tokenizers} library: the same token ids as the model's own tokenizer. Built with truncation and
 * padding off (DJL truncates to 512 tokens by default). The native tokenizer is thread-safe for
 * encoding and decoding.
 */
public final class HfTokenizer implements AutoCloseable {

  private final HuggingFaceTokenizer tokenizer;

  private HfTokenizer(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Loads {@code dir/tokenizer.json}. */
  public static HfTokenizer load(Path dir) throws IOException {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true"); // never reach for a model hub
    }
    HuggingFaceTokenizer t =
        HuggingFaceTokenizer.builder()
            .optTokenizerPath(dir)
            .optTruncation(false)
            .optPadding(false)
            .optAddSpecialTokens(false)
            .build();
    return new HfTokenizer(t);
  }

  public int[] encode(String text, boolean addSpecialTokens) {
    Encoding e = tokenizer.encode(text, addSpecialTokens, false);
    long[] ids = e.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, skipSpecialTokens);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
