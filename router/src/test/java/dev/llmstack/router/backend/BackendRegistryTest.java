package dev.llmstack.router.backend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.llmstack.router.discovery.Endpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackendRegistryTest {

  final List<String> added = new ArrayList<>();
  final List<String> removed = new ArrayList<>();
  final BackendRegistry registry =
      new BackendRegistry(OutlierPolicy.DEFAULT, b -> added.add(b.id()), b -> removed.add(b.id()));

  Backend engine(String url, String model) {
    Backend b = registry.add(Endpoint.parse(url));
    b.models(Map.of(model, JsonNodeFactory.instance.objectNode().put("id", model)));
    return b;
  }

  static List<String> ids(List<BackendSnapshot> snapshots) {
    return snapshots.stream().map(BackendSnapshot::id).toList();
  }

  @Test
  void candidatesComeInIdOrderWhateverTheOrderEnginesCameIn() {
    engine("http://10.0.0.3:8000", "m");
    engine("http://10.0.0.1:8000", "m");
    engine("http://10.0.0.2:8000", "other");
    engine("http://10.0.0.0:8000", "m");
    assertThat(ids(registry.candidates("m", 0)))
        .containsExactly("http://10.0.0.0:8000", "http://10.0.0.1:8000", "http://10.0.0.3:8000");
    assertThat(ids(registry.candidates("other", 0))).containsExactly("http://10.0.0.2:8000");
    assertThat(registry.candidates("unknown", 0)).isEmpty();
  }

  @Test
  void enginesThatLeaveOrCannotTakeTrafficAreNoCandidates() {
    engine("http://b:1", "m");
    engine("http://a:1", "m");
    engine("http://c:1", "m").draining(true);
    registry.remove("http://a:1");
    assertThat(ids(registry.candidates("m", 0))).containsExactly("http://b:1");
    engine("http://a:1", "m");
    assertThat(ids(registry.candidates("m", 0))).containsExactly("http://a:1", "http://b:1");
    assertThat(removed).containsExactly("http://a:1");
  }

  @Test
  void syncKeepsHandAddedEnginesAndDropsTheRest() {
    engine("http://x:1", "m");
    engine("http://manual:1", "m");
    registry.sync(Set.of(Endpoint.parse("http://y:1")), Set.of("http://manual:1"));
    assertThat(registry.get("http://x:1")).isNull();
    registry.get("http://y:1").models(Map.of("m", JsonNodeFactory.instance.objectNode()));
    assertThat(ids(registry.candidates("m", 0))).containsExactly("http://manual:1", "http://y:1");
    assertThat(added).contains("http://y:1");
  }
}
