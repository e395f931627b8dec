package dev.llmstack.engine.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The checkers the metrics tests rely on do reject bad expositions. */
class PrometheusParserTest {

  @Test
  void promtoolReportsParseErrorsAndUnexpectedLintButNotVllmStyle() throws Exception {
    assertThat(PrometheusParser.promtoolProblems("bar{ 2\n")).isNotEmpty();
    // A counter without _total is a lint remark that vLLM's names never draw.
    assertThat(
            PrometheusParser.promtoolProblems("# HELP vllm:x x\n# TYPE vllm:x counter\nvllm:x 1\n"))
        .anyMatch(p -> p.contains("_total"));
    assertThat(
            PrometheusParser.promtoolProblems(
                "# HELP vllm:iteration_tokens_total h\n"
                    + "# TYPE vllm:iteration_tokens_total histogram\n"
                    + "vllm:iteration_tokens_total_bucket{le=\"+Inf\"} 0\n"
                    + "vllm:iteration_tokens_total_sum 0\n"
                    + "vllm:iteration_tokens_total_count 0\n"))
        .isEmpty();
  }

  @Test
  void pythonParserRejectsGarbage() {
    assertThatThrownBy(() -> PrometheusParser.parse("x{a=1} 1\n"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("parser failed");
  }
}
