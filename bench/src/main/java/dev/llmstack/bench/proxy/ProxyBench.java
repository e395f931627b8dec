package dev.llmstack.bench.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The router against nginx, in the same run on the same machine: both round-robin over the same two
 * fast stub backends, driven by the same load generator, for small JSON requests and for SSE
 * streams. Reports saturation requests/s (closed loop), latency at half of nginx's saturation rate
 * or another fraction of it (open loop, coordinated omission corrected) against going direct to a
 * stub, and each proxy's peak RSS.
 */
public final class ProxyBench {

  /** Settings of a run. */
  public record Settings(
      Path jar,
      Path outDir,
      int seconds,
      int ioThreads,
      String nginx,
      boolean pin,
      int repeats,
      int warmupSeconds,
      boolean timeline,
      double loadFraction,
      Set<String> scenarios,
      int sliceMillis) {

    /** The scenarios there are, in the order they run. */
    public static final List<String> SCENARIOS = List.of("small-json", "sse-stream-10x5ms");
  }

  /**
   * {@code minSliceMillis}: the shortest time slice its sliced latency runs take, many times one
   * request's length; {@code sliceGuardMillis}: the pause after each slice, longer than one request
   * (a stream's 50 ms), so that the next target's slice does not begin under the last one's
   * requests.
   */
  private record Scenario(
      String name,
      byte[] body,
      int saturationConnections,
      int openConnections,
      int minSliceMillis,
      int sliceGuardMillis) {}

  private final Settings settings;
  private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * The machine's online cores, not the ones this JVM may use: it pins itself to core 0, and it may
   * have been started on a quieted set (scripts/quiet-core.sh) that leaves the proxy's core out.
   */
  private final int cores = CoreNeighbours.onlineCores();

  private boolean pinned;

  /** The generator's and the stubs' one thread, for the length of {@link #run}. */
  private BenchLoop loop;

  public ProxyBench(Settings settings) {
    this.settings = settings;
  }

  private static final String TASKSET = "/usr/bin/taskset";

  public ObjectNode run() throws Exception {
    if (!Files.isExecutable(Path.of(settings.nginx()))) {
      throw new IllegalStateException(
          "nginx not found at " + settings.nginx() + " (apt-get install nginx-light)");
    }
    pinned = settings.pin() && pinSelf();
    if (settings.pin() && !pinned) {
      throw new IllegalStateException(
          "--pin needs " + TASKSET + " and at least two cores (" + cores + " here)");
    }
    ObjectNode report = json.createObjectNode();
    report.put("benchmark", "router-vs-nginx");
    report.put("cores", cores);
    report.put("proxy_threads", settings.ioThreads());
    report.put("seconds_per_measurement", settings.seconds());
    report.put("warmup_seconds_per_target_and_scenario", settings.warmupSeconds());
    report.put("open_loop_warmup_seconds", OPEN_WARMUP_MS / 1000.0);
    report.put("pinned", pinned);
    report.set("machine_cpuidle", cpuIdle());
    // DAMON's monitor threads: on a kernel without preemption, each of their passes holds a core
    // for milliseconds, which set every target's p99 here until session 14 stopped them.
    int kdamonds = CoreNeighbours.processesNamed("kdamond");
    report.put("machine_kdamonds_running", kdamonds);
    if (kdamonds > 0) {
      System.out.println(
          "warning: "
              + kdamonds
              + " kdamond thread(s) running; their passes stall a core for milliseconds and set"
              + " every target's p99 (scripts/quiet-core.sh on stops them)");
    }
    ArrayNode scenarios = report.putArray("scenarios");
    // The load generator and both stubs share one event-loop thread (see BenchLoop).
    try (BenchLoop benchLoop = new BenchLoop();
        StubBackend s1 = new StubBackend(benchLoop, 10, 5);
        StubBackend s2 = new StubBackend(benchLoop, 10, 5)) {
      loop = benchLoop;
      int routerPort = freePort();
      int nginxPort = freePort();
      Process router = startRouter(routerPort, s1.url() + "," + s2.url());
      Path nginxDir = Files.createTempDirectory("llmstack-nginx");
      Process nginx = startNginx(nginxDir, nginxPort, s1.port(), s2.port());
      try {
        awaitPort(routerPort, router);
        awaitPort(nginxPort, nginx);
        awaitRouterReady(routerPort);
        if (pinned) {
          report.set("cpus_allowed", checkPinning(router.toHandle(), nginx.toHandle()));
          // Anything else the machine may run on the proxy's core counts as both proxies' latency.
          Set<Long> own = new java.util.HashSet<>(List.of(ProcessHandle.current().pid()));
          own.add(router.pid());
          own.add(nginx.pid());
          nginx.children().forEach(ph -> own.add(ph.pid()));
          CoreNeighbours.Count shared = CoreNeighbours.of(cores - 1, own);
          ObjectNode neighbours = report.putObject("proxy_core_shared_with");
          neighbours.put("tasks", shared.tasks());
          neighbours.put("interrupts", shared.interrupts());
        }
        // The JVM picks its collector from the cores it sees (Serial on one), which changes the
        // router's CPU and tail: the report says which one ran.
        report.put("router_gc", routerCollector(router.pid()));
        byte[] chat =
            "{\"model\":\"stub-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16}"
                .getBytes(StandardCharsets.UTF_8);
        byte[] stream =
            "{\"model\":\"stub-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}"
                .getBytes(StandardCharsets.UTF_8);
        List<Scenario> scenarioList =
            Stream.of(
                    new Scenario(Settings.SCENARIOS.get(0), chat, 64, 64, 0, 2),
                    // a stream lasts 50 ms: 20 of them to a slice
                    new Scenario(Settings.SCENARIOS.get(1), stream, 256, 512, 1000, 100))
                .filter(sc -> settings.scenarios().contains(sc.name()))
                .toList();
        // A JVM compiles its hot code during its first tens of seconds, on the same cores: a
        // router (or stub, or load generator) still compiling is not the one in production.
        // Every target sees every scenario first, so that nothing measured below pays for it.
        for (Scenario sc : scenarioList) {
          for (int port : new int[] {s1.port(), routerPort, nginxPort}) {
            try (HttpLoad load =
                new HttpLoad(loop, "127.0.0.1", port, "/v1/chat/completions", sc.body())) {
              load.closed(sc.saturationConnections(), settings.warmupSeconds() * 1000L);
            }
          }
        }
        Meters meters = new Meters(router.toHandle(), nginx);
        for (Scenario sc : scenarioList) {
          scenarios.add(measure(sc, s1.port(), routerPort, nginxPort, meters));
        }
        report.put("router_peak_rss_mib", peakRssKib(List.of(router.pid())) / 1024.0);
        List<Long> nginxPids = new ArrayList<>();
        nginxPids.add(nginx.pid());
        nginx.children().forEach(ph -> nginxPids.add(ph.pid()));
        report.put("nginx_peak_rss_mib", peakRssKib(nginxPids) / 1024.0);
      } finally {
        router.destroy();
        nginx.destroy();
        router.waitFor(10, TimeUnit.SECONDS);
        nginx.waitFor(10, TimeUnit.SECONDS);
      }
    }
    // Last, with the proxies gone and this JVM's own compilation long done.
    report.set("machine_stalls", machineStalls());
    Files.createDirectories(settings.outDir());
    json.writeValue(settings.outDir().resolve("router-vs-nginx.json").toFile(), report);
    System.out.println(json.writeValueAsString(report));
    return report;
  }

  /**
   * CPU meters of the two proxies, read around each measured window only (not around warm-ups),
   * with the requests each served in those windows.
   */
  private static final class Meters {
    private final ProcessHandle router;
    private final Process nginx;
    ProcessCpu routerCpu = ProcessCpu.zero();
    ProcessCpu nginxCpu = ProcessCpu.zero();
    long routerRequests;
    long nginxRequests;

    Meters(ProcessHandle router, Process nginx) {
      this.router = router;
      this.nginx = nginx;
    }

    void reset() {
      routerCpu = ProcessCpu.zero();
      nginxCpu = ProcessCpu.zero();
      routerRequests = 0;
      nginxRequests = 0;
    }

    /** One measured load run. */
    interface Window {
      HttpLoad.Result run() throws InterruptedException;
    }

    /** One measured run of every target at once, the results in target order. */
    interface AllWindow {
      List<HttpLoad.Result> run() throws InterruptedException;
    }

    /** Runs {@code window} against every target at once and meters both proxies over it. */
    List<HttpLoad.Result> meterAll(AllWindow window) throws InterruptedException {
      List<ProcessHandle> nginxPs = nginxProcesses(nginx);
      ProcessCpu routerBefore = ProcessCpu.of(List.of(router));
      ProcessCpu nginxBefore = ProcessCpu.of(nginxPs);
      List<HttpLoad.Result> rs = window.run();
      routerCpu = routerCpu.plus(ProcessCpu.of(List.of(router)).minus(routerBefore));
      nginxCpu = nginxCpu.plus(ProcessCpu.of(nginxPs).minus(nginxBefore));
      routerRequests += rs.get(1).served();
      nginxRequests += rs.get(2).served();
      return rs;
    }

    /** Runs {@code window} against target {@code i} (1 router, 2 nginx) and meters it. */
    HttpLoad.Result meter(int i, Window window) throws InterruptedException {
      if (i == 0) {
        return window.run();
      }
      List<ProcessHandle> ps = i == 1 ? List.of(router) : nginxProcesses(nginx);
      ProcessCpu before = ProcessCpu.of(ps);
      HttpLoad.Result r = window.run();
      ProcessCpu used = ProcessCpu.of(ps).minus(before);
      if (i == 1) {
        routerCpu = routerCpu.plus(used);
        routerRequests += r.served();
      } else {
        nginxCpu = nginxCpu.plus(used);
        nginxRequests += r.served();
      }
      return r;
    }
  }

  private ObjectNode measure(
      Scenario sc, int directPort, int routerPort, int nginxPort, Meters meters)
      throws InterruptedException {
    meters.reset();
    ObjectNode out = json.createObjectNode();
    out.put("scenario", sc.name());
    long ms = settings.seconds() * 1000L;
    int[] ports = {directPort, routerPort, nginxPort};
    String[] names = {"direct", "router", "nginx"};
    long[] requests = new long[3]; // everything each target served, for allocation per request
    int n = settings.repeats();
    // Saturation: as many closed-loop runs per target as latency runs, interleaved the same way;
    // the router/nginx ratio is the median of the ratios of runs in the same round.
    double[][] rpsRuns = new double[3][n];
    long[] saturationErrors = new long[3];
    interleaved(
        n,
        ports,
        sc.body(),
        (rep, i, load) -> {
          HttpLoad.Result warm = load.closed(sc.saturationConnections(), 1000); // connections
          HttpLoad.Result r = meters.meter(i, () -> load.closed(sc.saturationConnections(), ms));
          requests[i] += warm.served() + r.served();
          rpsRuns[i][rep] = r.requestsPerSecond();
          saturationErrors[i] += r.errors();
          System.out.printf(
              Locale.ROOT,
              "%s %s: %.0f req/s saturated (run %d/%d)%n",
              sc.name(),
              names[i],
              r.requestsPerSecond(),
              rep + 1,
              n);
        });
    double[] rps = new double[3];
    double[] ratios = new double[n];
    for (int rep = 0; rep < n; rep++) {
      ratios[rep] = rpsRuns[1][rep] / rpsRuns[2][rep];
    }
    for (int i = 0; i < 3; i++) {
      rps[i] = median(rpsRuns[i]);
      ObjectNode t = out.putObject(names[i]);
      t.put("saturation_rps", rps[i]);
      putAll(t.putArray("saturation_rps_runs"), rpsRuns[i]);
      t.put("saturation_errors", saturationErrors[i]);
    }
    // "half_load" in the field names below: at the default fraction, 0.5.
    double half = rps[2] * settings.loadFraction();
    // Sliced (the default), all three targets run at once, each in its own short time slices in
    // turn, so each meets the same spells of the machine's noise; otherwise one after another.
    long slice =
        settings.sliceMillis() > 0 ? Math.max(settings.sliceMillis(), sc.minSliceMillis()) : 0;
    // The warm-ups ran closed loops only: the first open-loop run compiled this JVM's open-loop
    // and timeline code on core 0, and the direct run that came first in the first round had a
    // p99 of 3.2-4.0 ms in every one of six runs against 0.1-1.4 in its other rounds. One run,
    // not counted, at the rate and with the recording the counted ones use.
    if (slice > 0) {
      slicedRun(ports, sc, half, ms, slice, 0);
    } else {
      try (HttpLoad load =
          new HttpLoad(loop, "127.0.0.1", directPort, "/v1/chat/completions", sc.body())) {
        openRun(load, sc, half, ms);
      }
    }
    out.put("open_loop_rate", half);
    out.put("open_loop_fraction_of_nginx_saturation", settings.loadFraction());
    out.put("open_loop_repeats", settings.repeats());
    out.put("open_loop_slice_ms", slice);
    out.put("open_loop_slice_guard_ms", slice > 0 ? sc.sliceGuardMillis() : 0);
    // Latency: several short open-loop runs per target, interleaved; each target's p50/p99 is the
    // median over its runs.
    double[][] p50 = new double[3][n];
    double[][] p99 = new double[3][n];
    int[][] slowSpells = new int[3][n];
    long[][] slowInShortSpells = new long[3][n];
    long[][] timelineStart = new long[3][n];
    long[][] stealMillis = new long[3][n];
    long[] errors = new long[3];
    long[] generatorGcCount = new long[3];
    long[] generatorGcMillis = new long[3];
    JvmPauses[] routerPauses = {JvmPauses.NONE};
    // What one counted run of target i in round rep measured; sliced, the machine-wide figures
    // (steal, the generator's collections) are the whole sliced run's, shared by its targets.
    TargetResult note =
        (rep, i, r, steal, gcDelta) -> {
          stealMillis[i][rep] = steal;
          if (r.timeline() != null) {
            // Slow: 5 ms over the run's median (a stream's median is its 50 ms of chunks).
            long slow = (long) (r.p50Ms() * 1000) + SLOW_MICROS;
            slowSpells[i][rep] = r.timeline().slowSpells(slow);
            slowInShortSpells[i][rep] =
                r.timeline()
                    .slowInShortSpells(
                        SHORT_SPELL_SLOW_MICROS, SHORT_SPELL_GAP_MICROS, SHORT_SPELL_MAX_MICROS);
            timelineStart[i][rep] = r.timeline().startNanos();
            writeTimeline(sc.name() + "-" + names[i] + "-run" + (rep + 1) + ".csv", r.timeline());
          }
          generatorGcCount[i] += gcDelta[0];
          generatorGcMillis[i] += gcDelta[1];
          p50[i][rep] = r.p50Ms();
          p99[i][rep] = r.p99Ms();
          errors[i] += r.errors();
          requests[i] += r.served();
          System.out.printf(
              Locale.ROOT,
              "%s %s at %.0f req/s (run %d/%d%s): p50 %.2f ms p99 %.2f ms%n",
              sc.name(),
              names[i],
              half,
              rep + 1,
              n,
              slice > 0 ? ", sliced" : "",
              r.p50Ms(),
              r.p99Ms());
        };
    // The router's own stops (collections, other safepoints) in its runs: its event loop stands
    // still through each, and the requests behind it wait. Read by jcmd, between runs.
    if (slice > 0) {
      for (int rep = 0; rep < n; rep++) {
        long[] gcBefore = generatorGc();
        JvmPauses pausesBefore = JvmPauses.of(meters.router.pid(), java());
        // The hypervisor's share of the counted window on the proxy's core (all cores unpinned).
        var steal =
            StealTime.window(
                pinned ? cores - 1 : -1,
                OPEN_WARMUP_MS * ports.length * (slice + sc.sliceGuardMillis()) / slice,
                ms * ports.length * (slice + sc.sliceGuardMillis()) / slice);
        int round = rep;
        List<HttpLoad.Result> rs =
            meters.meterAll(() -> slicedRun(ports, sc, half, ms, slice, round));
        long stealMs = steal.join();
        long[] gcDelta = minus(generatorGc(), gcBefore);
        routerPauses[0] =
            plus(routerPauses[0], pausesBefore, JvmPauses.of(meters.router.pid(), java()));
        for (int i = 0; i < ports.length; i++) {
          note.record(rep, i, rs.get(i), stealMs, gcDelta);
        }
      }
    } else {
      interleaved(
          n,
          ports,
          sc.body(),
          (rep, i, load) -> {
            long[] gcBefore = generatorGc();
            JvmPauses pausesBefore = i == 1 ? JvmPauses.of(meters.router.pid(), java()) : null;
            // The hypervisor's share of the counted window on the proxy's core (all cores
            // unpinned).
            var steal = StealTime.window(pinned ? cores - 1 : -1, OPEN_WARMUP_MS, ms);
            HttpLoad.Result r = meters.meter(i, () -> openRun(load, sc, half, ms));
            long stealMs = steal.join();
            if (i == 1) {
              routerPauses[0] =
                  plus(routerPauses[0], pausesBefore, JvmPauses.of(meters.router.pid(), java()));
            }
            note.record(rep, i, r, stealMs, minus(generatorGc(), gcBefore));
          });
    }
    double directP99 = median(p99[0]);
    for (int i = 0; i < 3; i++) {
      ObjectNode t = (ObjectNode) out.get(names[i]);
      t.put("half_load_p50_ms", median(p50[i]));
      t.put("half_load_p99_ms", median(p99[i]));
      putAll(t.putArray("half_load_p99_ms_runs"), p99[i]);
      ArrayNode steals = t.putArray("half_load_steal_ms_runs");
      for (long v : stealMillis[i]) {
        steals.add(v);
      }
      if (settings.timeline()) {
        ArrayNode spells = t.putArray("half_load_slow_spells_runs");
        for (int v : slowSpells[i]) {
          spells.add(v);
        }
        ArrayNode shortSpells = t.putArray("half_load_requests_over_1ms_in_short_spells_runs");
        for (long v : slowInShortSpells[i]) {
          shortSpells.add(v);
        }
        // where each timeline's 0 is on CLOCK_MONOTONIC, to line it up with a scheduler trace
        ArrayNode starts = t.putArray("half_load_timeline_start_monotonic_ns_runs");
        for (long v : timelineStart[i]) {
          starts.add(v);
        }
      }
      t.put("half_load_errors", errors[i]);
      t.put("requests", requests[i]);
      // The load generator's and stubs' own collections during this target's latency runs: their
      // pauses delay requests to every target alike and show up in its p99 too.
      t.put("half_load_generator_gc_count", generatorGcCount[i]);
      t.put("half_load_generator_gc_ms", generatorGcMillis[i]);
      if (i > 0) {
        t.put("added_p99_ms", median(p99[i]) - directP99);
      }
      if (i == 1 && routerPauses[0] != null) {
        // Over all of the router's latency runs, each with its open-loop warm-up.
        JvmPauses p = routerPauses[0];
        t.put("half_load_router_gc_pauses", p.gcPauses());
        t.put("half_load_router_gc_ms", p.gcMillis());
        t.put("half_load_router_safepoints", p.safepoints());
        t.put("half_load_router_safepoint_ms", p.safepointMillis());
      }
    }
    out.put("router_over_nginx_rps", median(ratios));
    putAll(out.putArray("router_over_nginx_rps_runs"), ratios);
    // CPU per request: how much work each proxy does per request, which a busy machine disturbs
    // far less than requests/s or latency. Measured windows only; the router's is split by thread
    // kind, since its JIT and GC threads are not per-request work of its event loop.
    out.put("router_cpu_us_per_request", meters.routerCpu.total() * 1e6 / meters.routerRequests);
    ObjectNode split = out.putObject("router_cpu_us_per_request_by_thread");
    for (String kind :
        List.of(ProcessCpu.EVENT_LOOP, ProcessCpu.JIT, ProcessCpu.GC, ProcessCpu.OTHER)) {
      split.put(kind, meters.routerCpu.get(kind) * 1e6 / meters.routerRequests);
    }
    out.put("nginx_cpu_us_per_request", meters.nginxCpu.total() * 1e6 / meters.nginxRequests);
    return out;
  }

  /**
   * One sliced open-loop run of every target at once (see {@link HttpLoad#sliced}), the slices'
   * order rotating with {@code round}; the results in target order.
   */
  private List<HttpLoad.Result> slicedRun(
      int[] ports, Scenario sc, double rate, long ms, long sliceMillis, int round)
      throws InterruptedException {
    List<HttpLoad> loads = new ArrayList<>();
    try {
      for (int k = 0; k < ports.length; k++) {
        // slice k of each turn goes to target (k + round) % n
        int i = (k + round) % ports.length;
        loads.add(new HttpLoad(loop, "127.0.0.1", ports[i], "/v1/chat/completions", sc.body()));
      }
      List<HttpLoad.Result> bySlice =
          HttpLoad.sliced(
              loads,
              sc.openConnections(),
              rate,
              OPEN_WARMUP_MS,
              ms,
              sliceMillis,
              sc.sliceGuardMillis(),
              settings.timeline());
      HttpLoad.Result[] byTarget = new HttpLoad.Result[ports.length];
      for (int k = 0; k < ports.length; k++) {
        byTarget[(k + round) % ports.length] = bySlice.get(k);
      }
      return List.of(byTarget);
    } finally {
      loads.forEach(HttpLoad::close);
    }
  }

  /** What one counted latency run of target {@code i} in round {@code rep} measured. */
  private interface TargetResult {
    void record(int rep, int i, HttpLoad.Result r, long stealMillis, long[] generatorGcDelta);
  }

  private static long[] minus(long[] a, long[] b) {
    return new long[] {a[0] - b[0], a[1] - b[1]};
  }

  /** {@code sum} plus the pauses between two readings; null (no jcmd) if any of them is. */
  private static JvmPauses plus(JvmPauses sum, JvmPauses before, JvmPauses after) {
    return sum == null || before == null || after == null ? null : sum.plus(after.minus(before));
  }

  /** One open-loop latency run at {@code rate}, with a timeline when the settings ask for one. */
  private HttpLoad.Result openRun(HttpLoad load, Scenario sc, double rate, long ms)
      throws InterruptedException {
    return settings.timeline()
        ? load.openWithTimeline(sc.openConnections(), rate, OPEN_WARMUP_MS, ms)
        : load.open(sc.openConnections(), rate, OPEN_WARMUP_MS, ms);
  }

  private static List<ProcessHandle> nginxProcesses(Process nginx) {
    List<ProcessHandle> all = new ArrayList<>();
    all.add(nginx.toHandle());
    nginx.children().forEach(all::add);
    return all;
  }

  /** Collections so far and their total milliseconds in this JVM (load generator and stubs). */
  private static long[] generatorGc() {
    long count = 0;
    long millis = 0;
    for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
      count += Math.max(0, gc.getCollectionCount());
      millis += Math.max(0, gc.getCollectionTime());
    }
    return new long[] {count, millis};
  }

  /** One load run against target {@code i} (0 direct, 1 router, 2 nginx) in round {@code rep}. */
  private interface TargetRun {
    void run(int rep, int i, HttpLoad load) throws InterruptedException;
  }

  /**
   * Runs every target {@code rounds} times, the order rotating each round so that a noisy spell on
   * the machine lands on all targets alike; a fresh load generator per run.
   */
  private void interleaved(int rounds, int[] ports, byte[] body, TargetRun run)
      throws InterruptedException {
    for (int rep = 0; rep < rounds; rep++) {
      for (int k = 0; k < ports.length; k++) {
        int i = (k + rep) % ports.length;
        try (HttpLoad load =
            new HttpLoad(loop, "127.0.0.1", ports[i], "/v1/chat/completions", body)) {
          run.run(rep, i, load);
        }
      }
    }
  }

  private static void putAll(ArrayNode array, double[] values) {
    for (double v : values) {
      array.add(v);
    }
  }

  /**
   * JIT compiler and background threads at nice 10, event loops at 0: the flags the llmstack
   * launcher and the container image run the router with (docs/configuration.md), checked to agree
   * by ProxyBenchTest.
   */
  static final List<String> PRIORITY_FLAGS =
      List.of(
          "-XX:ThreadPriorityPolicy=1",
          "-XX:CompilerThreadPriority=10",
          "-XX:JavaPriority1_To_OSPriority=10",
          "-XX:JavaPriority9_To_OSPriority=0",
          "-XX:JavaPriority10_To_OSPriority=0");

  /** What the timelines call a slow request: this much over the run's median. */
  private static final long SLOW_MICROS = 5_000;

  /**
   * The short-spell count (HttpLoad.Timeline#slowInShortSpells): requests over 1 ms (the goal's
   * added p99) in spells of such requests less than 2 ms apart whose slowest stayed under 5 ms.
   */
  private static final long SHORT_SPELL_SLOW_MICROS = 1_000;

  private static final long SHORT_SPELL_GAP_MICROS = 2_000;
  private static final long SHORT_SPELL_MAX_MICROS = 5_000;

  /** Writes one latency run's timeline under {@code <out>/timeline/}. */
  private void writeTimeline(String file, HttpLoad.Timeline timeline) {
    try {
      Path dir = settings.outDir().resolve("timeline");
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(file), timeline.toCsv());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Open-loop warm-up before each latency run, not counted. Each run opens new connections after
   * the last run closed its own, and that churn takes branches the router's compiled event loop had
   * never taken: HotSpot deoptimizes its hottest methods (logged as "made not entrant: uncommon
   * trap" in epollInReady, processReady, doReadBytes), runs them slower until C2 has compiled them
   * again, and the backlog built meanwhile takes about as long again to drain. With one second of
   * warm-up, that transient still fell into the counted window (spells hundreds of ms deep at the
   * start of router runs); three seconds cover it. nginx, compiled ahead of time, has none.
   */
  private static final long OPEN_WARMUP_MS = 3000;

  static double median(double[] values) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    int m = v.length / 2;
    return v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
  }

  /** This JVM's java binary: the router and the stall meters run on the same JDK. */
  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  private Process startRouter(int port, String backends) throws IOException {
    String java = java();
    List<String> cmd = new ArrayList<>(pinned ? proxyCpu() : List.of());
    cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m"));
    if (Runtime.version().feature() >= 23) {
      cmd.add("--sun-misc-unsafe-memory-access=allow"); // as the launcher runs it (see llmstack)
    }
    cmd.addAll(PRIORITY_FLAGS);
    String extra =
        System.getenv("LLMSTACK_BENCH_ROUTER_OPTS"); // e.g. a JFR recording for profiling
    if (extra != null && !extra.isBlank()) {
      cmd.addAll(List.of(extra.trim().split("\\s+")));
    }
    cmd.addAll(
        List.of(
            "-jar",
            settings.jar().toString(),
            "router",
            "--port",
            Integer.toString(port),
            "--backends",
            backends,
            "--policy",
            "round-robin",
            "--io-threads",
            Integer.toString(settings.ioThreads())));
    String args = System.getenv("LLMSTACK_BENCH_ROUTER_ARGS"); // e.g. --no-dashboard
    if (args != null && !args.isBlank()) {
      cmd.addAll(List.of(args.trim().split("\\s+")));
    }
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  private Process startNginx(Path dir, int port, int stub1, int stub2) throws IOException {
    String conf =
        String.format(
            Locale.ROOT,
            """
            worker_processes %d;
            daemon off;
            pid %s/nginx.pid;
            error_log %s/error.log warn;
            events { worker_connections 8192; }
            http {
              access_log off;
              client_body_temp_path %s/body;
              proxy_temp_path %s/proxy;
              upstream stubs {
                server 127.0.0.1:%d;
                server 127.0.0.1:%d;
                keepalive 512;
                keepalive_requests 100000000;
              }
              server {
                listen 127.0.0.1:%d;
                # nginx closes a keep-alive connection after 1000 requests by default; the router
                # never does and the load generator does not reconnect, so a closed connection
                # would end its share of the load early.
                keepalive_requests 100000000;
                location / {
                  proxy_pass http://stubs;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering off;
                }
              }
            }
            """,
            settings.ioThreads(),
            dir,
            dir,
            dir,
            dir,
            stub1,
            stub2,
            port);
    Path file = dir.resolve("nginx.conf");
    Files.writeString(file, conf);
    List<String> cmd = new ArrayList<>(pinned ? proxyCpu() : List.of());
    cmd.addAll(List.of(settings.nginx(), "-p", dir.toString(), "-c", file.toString()));
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  /**
   * On a machine with two or more cores, the load generator and stubs (this JVM) take core 0 and
   * the proxy under test gets the last core to itself, so the two proxies are measured on equal,
   * uncontended ground.
   */
  private boolean pinSelf() {
    if (!Files.isExecutable(Path.of(TASKSET)) || cores < 2) {
      return false;
    }
    try {
      Process p =
          new ProcessBuilder(
                  TASKSET, "-a", "-p", "-c", "0", Long.toString(ProcessHandle.current().pid()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** How long each stall meter spins, after the targets have stopped. */
  private static final long STALL_METER_MILLIS = 5_000;

  /**
   * How an idle core waits on this machine. On a KVM guest with the haltpoll driver and {@code
   * guest_halt_poll_ns} 0 (as here), an idle core halts at once, and waking it for the next request
   * goes through the hypervisor; with polling on, the router's p50 fell by a third and nginx's by
   * more than half (session 7 in docs/benchmarks/router). Empty where the files do not exist.
   */
  private ObjectNode cpuIdle() {
    ObjectNode idle = json.createObjectNode();
    readSys(idle, "driver", "/sys/devices/system/cpu/cpuidle/current_driver");
    readSys(idle, "governor", "/sys/devices/system/cpu/cpuidle/current_governor");
    readSys(idle, "guest_halt_poll_ns", "/sys/module/haltpoll/parameters/guest_halt_poll_ns");
    return idle;
  }

  private static void readSys(ObjectNode into, String field, String file) {
    try {
      into.put(field, Files.readString(Path.of(file)).trim());
    } catch (IOException | UnsupportedOperationException e) {
      // not Linux, or no such driver
    }
  }

  /**
   * One {@link StallMeter} per core, all at once on the idle machine (each on its own core where
   * taskset is there): the scheduling stalls every target's latency included.
   */
  private ObjectNode machineStalls() throws IOException, InterruptedException {
    String java = java();
    boolean canPin = Files.isExecutable(Path.of(TASKSET));
    List<Process> meters = new ArrayList<>();
    for (int core = 0; core < cores; core++) {
      List<String> cmd =
          new ArrayList<>(
              canPin ? List.of(TASKSET, "-c", Integer.toString(core)) : List.<String>of());
      cmd.addAll(
          List.of(
              java,
              "-cp",
              settings.jar().toString(),
              StallMeter.class.getName(),
              Long.toString(STALL_METER_MILLIS)));
      meters.add(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start());
    }
    ObjectNode out = json.createObjectNode();
    for (int core = 0; core < meters.size(); core++) {
      Process meter = meters.get(core);
      String line = new String(meter.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!meter.waitFor(STALL_METER_MILLIS + 30_000, TimeUnit.MILLISECONDS)
          || meter.exitValue() != 0) {
        meter.destroyForcibly();
        throw new IllegalStateException("stall meter failed: " + line);
      }
      out.set((canPin ? "core_" : "meter_") + core, json.readTree(line));
    }
    return out;
  }

  private List<String> proxyCpu() {
    return List.of(TASKSET, "-c", Integer.toString(cores - 1));
  }

  /**
   * The cores each process may run on, as the kernel has them; fails unless both proxies got the
   * last core and this JVM core 0. (Until 2026-11-26 the proxies inherited this JVM's core 0, and
   * "pinned" runs put everything on one core.)
   */
  private ObjectNode checkPinning(ProcessHandle router, ProcessHandle nginx) {
    ObjectNode cpus = json.createObjectNode();
    String proxyCore = Integer.toString(cores - 1);
    cpus.put("generator_and_stubs", cpusAllowed(ProcessHandle.current().pid()));
    cpus.put("router", cpusAllowed(router.pid()));
    List<ProcessHandle> workers = nginx.children().toList();
    cpus.put("nginx_worker", workers.isEmpty() ? "" : cpusAllowed(workers.get(0).pid()));
    if (!cpus.path("generator_and_stubs").asText().equals("0")
        || !cpus.path("router").asText().equals(proxyCore)
        || !cpus.path("nginx_worker").asText().equals(proxyCore)) {
      throw new IllegalStateException("pinning did not take: " + cpus);
    }
    return cpus;
  }

  /** The router JVM's garbage collector, as {@code jcmd VM.flags} reports it, or "unknown". */
  private static String routerCollector(long pid) {
    String flags = Jcmd.run(java(), pid, "VM.flags");
    return flags == null ? "unknown" : collector(flags);
  }

  private static final java.util.regex.Pattern GC_FLAG =
      java.util.regex.Pattern.compile("-XX:\\+Use(\\w+)GC\\b");

  /** The collector named by a {@code -XX:+Use...GC} flag in {@code VM.flags} output. */
  static String collector(String vmFlags) {
    java.util.regex.Matcher m = GC_FLAG.matcher(vmFlags);
    return m.find() ? m.group(1) : "unknown";
  }

  /** The {@code Cpus_allowed_list} of a process, e.g. "1" or "0-1". */
  static String cpusAllowed(long pid) {
    try {
      String list = CoreNeighbours.allowedList(Path.of("/proc/" + pid + "/status"));
      return list == null ? "" : list.trim();
    } catch (IOException e) {
      return ""; // gone, or not Linux
    }
  }

  private static long peakRssKib(List<Long> pids) {
    long total = 0;
    for (long pid : pids) {
      try {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
          if (line.startsWith("VmHWM:")) {
            total += Long.parseLong(line.replaceAll("[^0-9]", ""));
          }
        }
      } catch (IOException e) {
        // the process is gone
      }
    }
    return total;
  }

  private static void awaitPort(int port, Process p) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException("process exited with " + p.exitValue());
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("nothing listens on " + port);
  }

  private static void awaitRouterReady(int port) throws InterruptedException {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try {
        var r =
            http.send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + port + "/health"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("\"routable_engines\":2")) {
          return;
        }
      } catch (IOException e) {
        // not yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("router did not see its engines");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
