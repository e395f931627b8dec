package dev.llmstack.app;

import java.util.concurrent.CountDownLatch;

/**
 * Keeps a server command alive until Ctrl-C (SIGINT/SIGTERM), then closes what it started, once.
 */
final class ShutdownHook {

  private ShutdownHook() {}

  static void awaitThenRun(String name, Runnable close) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            Thread.ofPlatform()
                .unstarted(
                    () -> {
                      System.out.println(name + ": draining and stopping");
                      close.run();
                      stopped.countDown();
                    }));
    stopped.await();
  }
}
