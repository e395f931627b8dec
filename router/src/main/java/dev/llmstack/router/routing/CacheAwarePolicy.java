package dev.llmstack.router.routing;

/**
 * A policy that needs the prompt's block keys: the router tokenizes the request before asking it.
 */
public interface CacheAwarePolicy extends RoutingPolicy {}
