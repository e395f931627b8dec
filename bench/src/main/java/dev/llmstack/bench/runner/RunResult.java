package dev.llmstack.bench.runner;

import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * One run: a target or a policy under one workload.
 *
 * @param itlMicros every gap between consecutive output tokens of every request, in microseconds
 * @param durationNanos from the start of the run to the last request's end
 * @param extra run-specific figures (the twin's oracle hit rate, the profile, ...)
 */
public record RunResult(
    String name,
    List<RequestRecord> records,
    Histogram itlMicros,
    long durationNanos,
    Map<String, Object> extra) {}
