package dev.llmstack.router.stats;

import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.backend.OutlierPolicy;
import dev.llmstack.router.proxy.RouterObserver;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dashboard sampler's read of the router's totals ({@link RouterMetrics#totals()}), once a
 * second on a thread that may share the proxy's core. Two engines with traffic behind them. {@code
 * totals} is the compiled cost; {@code totalsInterpreted} runs with {@code -Xint}, which is what
 * the sampler's code costs for a router's first minutes, before one call a second has made it hot.
 * Run with {@code java -cp app/target/llmstack.jar org.openjdk.jmh.Main DashboardTotalsBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class DashboardTotalsBenchmark {

  private RouterMetrics metrics;

  @Setup
  public void setUp() {
    metrics = new RouterMetrics(new BackendRegistry(OutlierPolicy.DEFAULT, b -> {}, b -> {}));
    for (String engine : new String[] {"http://10.0.0.7:8000", "http://10.0.0.8:8000"}) {
      RouterObserver.Series s = metrics.series(engine, "meta-llama/Llama-3.1-8B-Instruct");
      for (int i = 0; i < 1000; i++) {
        s.firstToken(50_000_000);
        s.interToken(20_000_000);
        s.finished(i % 100 == 0 ? 503 : 200, 900_000_000, 120, 30);
      }
    }
  }

  @Benchmark
  @Fork(1)
  public RouterMetrics.Totals totals() {
    return metrics.totals();
  }

  @Benchmark
  @Fork(value = 1, jvmArgsAppend = "-Xint")
  public RouterMetrics.Totals totalsInterpreted() {
    return metrics.totals();
  }
}
