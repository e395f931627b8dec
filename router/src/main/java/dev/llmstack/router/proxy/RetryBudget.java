package dev.llmstack.router.proxy;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Caps retries to a fraction of traffic (Finagle's retry budget): every request deposits {@code
 * ratio} of a retry, every retry withdraws one, and the balance never exceeds {@code maxBalance}. A
 * failing fleet therefore sees at most about {@code ratio} extra load from retries instead of a
 * multiple of its traffic.
 */
final class RetryBudget {

  private static final long SCALE = 1000;

  private final long deposit;
  private final long max;
  private final AtomicLong balance;

  RetryBudget(double ratio, int minRetries) {
    this.deposit = Math.round(ratio * SCALE);
    this.max = Math.max(minRetries, 1) * SCALE * 10;
    this.balance = new AtomicLong(Math.max(minRetries, 0) * SCALE);
  }

  void onRequest() {
    balance.getAndUpdate(b -> Math.min(max, b + deposit));
  }

  boolean tryRetry() {
    while (true) {
      long b = balance.get();
      if (b < SCALE) {
        return false;
      }
      if (balance.compareAndSet(b, b - SCALE)) {
        return true;
      }
    }
  }
}
