package dev.llmstack.engine.driver;

/**
 * Engine time, in nanoseconds. The core never reads a clock itself: a driver passes it the time of
 * each step, so the same model runs against the wall clock ({@link RealTimeDriver}, optionally
 * scaled) or a virtual one ({@link VirtualTimeDriver}).
 */
public interface EngineClock {
  long now();
}
