package dev.llmstack.router.discovery;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Engines from Kubernetes: an informer watches pods by namespace and label selector; ready pods
 * that are not terminating become endpoints at their pod IP. The port comes from the annotation
 * {@code llmstack.dev/port}, else the container port named {@code portName}, else 8000 (vLLM's
 * default).
 */
public final class KubernetesEndpointSource implements EndpointSource {

  public static final String PORT_ANNOTATION = "llmstack.dev/port";

  private final KubernetesClient client;
  private final boolean ownsClient;
  private final String namespace;
  private final String selector;
  private final String portName;
  private SharedIndexInformer<Pod> informer;

  public KubernetesEndpointSource(String namespace, String selector, String portName) {
    this(new KubernetesClientBuilder().build(), true, namespace, selector, portName);
  }

  /** With a caller's client (tests hand in the mock server's). */
  public KubernetesEndpointSource(
      KubernetesClient client, String namespace, String selector, String portName) {
    this(client, false, namespace, selector, portName);
  }

  private KubernetesEndpointSource(
      KubernetesClient client, boolean owns, String namespace, String selector, String portName) {
    this.client = client;
    this.ownsClient = owns;
    this.namespace = namespace;
    this.selector = selector;
    this.portName = portName;
  }

  @Override
  public void start(Listener listener) {
    informer =
        client
            .pods()
            .inNamespace(namespace)
            .withLabelSelector(selector)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod pod) {
                    listener.onEndpoints(current());
                  }

                  @Override
                  public void onUpdate(Pod oldPod, Pod newPod) {
                    listener.onEndpoints(current());
                  }

                  @Override
                  public void onDelete(Pod pod, boolean finalStateUnknown) {
                    listener.onEndpoints(current());
                  }
                },
                30_000L);
    listener.onEndpoints(current());
  }

  private Set<Endpoint> current() {
    Set<Endpoint> out = new LinkedHashSet<>();
    for (Pod pod : informer.getStore().list()) {
      Endpoint e = endpointOf(pod, portName);
      if (e != null) {
        out.add(e);
      }
    }
    return out;
  }

  /** The endpoint of a pod that should take traffic, or null. */
  public static Endpoint endpointOf(Pod pod, String portName) {
    if (pod.getMetadata().getDeletionTimestamp() != null
        || pod.getStatus() == null
        || pod.getStatus().getPodIP() == null
        || pod.getStatus().getPodIP().isEmpty()) {
      return null;
    }
    boolean ready = false;
    if (pod.getStatus().getConditions() != null) {
      for (PodCondition c : pod.getStatus().getConditions()) {
        if ("Ready".equals(c.getType()) && "True".equals(c.getStatus())) {
          ready = true;
        }
      }
    }
    if (!ready) {
      return null;
    }
    return Endpoint.of(pod.getStatus().getPodIP(), port(pod, portName));
  }

  static int port(Pod pod, String portName) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    if (annotations != null && annotations.containsKey(PORT_ANNOTATION)) {
      try {
        return Integer.parseInt(annotations.get(PORT_ANNOTATION).trim());
      } catch (NumberFormatException e) {
        // fall through to the named port
      }
    }
    if (pod.getSpec() != null && pod.getSpec().getContainers() != null) {
      for (Container c : pod.getSpec().getContainers()) {
        if (c.getPorts() != null) {
          for (ContainerPort p : c.getPorts()) {
            if (portName.equals(p.getName())) {
              return p.getContainerPort();
            }
          }
        }
      }
    }
    return 8000;
  }

  @Override
  public String describe() {
    return "kubernetes pods in " + namespace + " matching " + selector;
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.close();
    }
    if (ownsClient) {
      client.close();
    }
  }
}
