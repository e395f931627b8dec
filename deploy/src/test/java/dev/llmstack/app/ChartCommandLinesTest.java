package dev.llmstack.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.deploy.ChartFixtures;
import dev.llmstack.router.RouterSettings;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * The command lines the chart gives the llmstack image are ones the real CLI accepts, with the
 * meaning the chart intends (a negative port offset, say, is easy to get wrong on a command line).
 */
class ChartCommandLinesTest {

  static List<String> valuesFiles() {
    return ChartFixtures.valuesFiles();
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void routerArgsParse(String values) {
    JsonNode router = ChartFixtures.routerContainer(values);
    List<String> args = ChartFixtures.args(router);
    assertThat(args.getFirst()).isEqualTo("router");

    RouterCommand cmd = new RouterCommand();
    new CommandLine(cmd).parseArgs(args.subList(1, args.size()).toArray(String[]::new));

    assertThat(cmd.discovery).isEqualTo("k8s");
    assertThat(cmd.host).isEqualTo("0.0.0.0");
    assertThat(cmd.port).isEqualTo(ChartFixtures.containerPort(router, "http"));
    assertThat(cmd.namespace).isEqualTo(ChartFixtures.NAMESPACE);
    assertThat(cmd.selector).contains("app.kubernetes.io/component=engine");
    assertThat(cmd.portName).isEqualTo("http");
    assertThat(cmd.options.policy).isEqualTo("kv");
    assertThat(cmd.options.kvEventsPortOffset).isEqualTo(5557 - 8000);
    assertThat(cmd.options.kvReplayPortOffset).isEqualTo(5558 - 8000);
    assertThat(cmd.options.kvEventsTopic).isEqualTo("kv-events");
    assertThat(cmd.options.drainSeconds).isPositive();
    // The same settings RouterCommand.call() would start the router with.
    assertThat(cmd.options.apply(RouterSettings.defaults())).isNotNull();
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void simulatedEngineArgsParse(String values) {
    for (JsonNode engine : ChartFixtures.engineContainers(values)) {
      List<String> args = ChartFixtures.args(engine);
      if (!args.getFirst().equals("engine")) {
        continue; // vLLM: `vllm serve` flags, checked by ChartWiringTest
      }
      EngineCommand cmd = new EngineCommand();
      new CommandLine(cmd).parseArgs(args.subList(1, args.size()).toArray(String[]::new));

      assertThat(cmd.host).isEqualTo("0.0.0.0");
      assertThat(cmd.port).isEqualTo(ChartFixtures.containerPort(engine, "http"));
      assertThat(cmd.kvEventsPort).isEqualTo(ChartFixtures.containerPort(engine, "kv-events"));
      assertThat(cmd.kvReplayPort).isEqualTo(ChartFixtures.containerPort(engine, "kv-replay"));
      assertThat(cmd.promptTokensDetails).isTrue();
      assertThat(cmd.noPrefixCaching).isFalse();
      assertThat(cmd.settings()).isNotNull();
      if (values.startsWith("simulation") && args.contains("meta-llama/Llama-3.1-8B-Instruct")) {
        // The pool's adapters, each a name=path the CLI splits as vLLM does.
        assertThat(cmd.lora.modules.stream().map(m -> LoraOptions.parse(m)[0]))
            .containsExactly("sql-lora", "chat-lora");
        assertThat(cmd.lora.maxLoras).isEqualTo(2);
      }
    }
  }
}
