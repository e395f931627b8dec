package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;

/** The chosen engine and why, as reported in the response's routing header. */
public record Decision(BackendSnapshot backend, String reason) {}
