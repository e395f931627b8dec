package dev.llmstack.engine.core;

/**
 * The tokens the simulated engine generates from. Generation draws plain-word tokens (each decodes
 * on its own to " word"), so streamed deltas concatenate to the full text and the text re-tokenizes
 * to the same count.
 */
public interface Vocabulary {

  /** Number of plain-word tokens to draw from. */
  int wordCount();

  /** Token id of the {@code index}-th plain word. */
  int wordToken(int index);

  /** Decoded text of a generated token. */
  String text(int tokenId);

  /** The token that ends generation when sampled. */
  int eosTokenId();
}
