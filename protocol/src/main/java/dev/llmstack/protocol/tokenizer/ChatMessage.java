package dev.llmstack.protocol.tokenizer;

/** One chat message as a chat template sees it: a role and its text. */
public record ChatMessage(String role, String content) {}
