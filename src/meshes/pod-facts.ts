// Reading membership evidence from pod facts: proxy containers and pod metadata.
import type { Markers, PodFacts } from "./driver.ts";
import { markersOf, markerValue } from "./markers.ts";

/** Where a proxy runs: a classic sidecar in containers, or a native sidecar in initContainers. */
export type ProxyPlacement = "container" | "native-sidecar";

/**
 * Finds a proxy by container name. The image never identifies the mesh (users override it), so
 * only the name counts. An init container counts only as a native sidecar (restartPolicy Always):
 * a plain init container finishes before the app starts and proxies nothing.
 */
export function proxyPlacement(pod: PodFacts, containerName: string): ProxyPlacement | undefined {
  if ((pod.spec?.containers ?? []).some((c) => c?.name === containerName)) return "container";
  const native = (pod.spec?.initContainers ?? []).some(
    (c) => c?.name === containerName && c.restartPolicy === "Always",
  );
  return native ? "native-sidecar" : undefined;
}

export function hasProxy(pod: PodFacts, containerName: string): boolean {
  return proxyPlacement(pod, containerName) !== undefined;
}

/** The pod's labels and annotations as Markers. */
export function podMarkers(pod: PodFacts): Markers {
  return markersOf(pod.metadata);
}

export function podLabel(pod: PodFacts, key: string): string | undefined {
  return markerValue(podMarkers(pod), "label", key);
}

export function podAnnotation(pod: PodFacts, key: string): string | undefined {
  return markerValue(podMarkers(pod), "annotation", key);
}

/** Host-network pods are skipped by both meshes' injectors and by ambient capture. */
export function usesHostNetwork(pod: PodFacts): boolean {
  return pod.spec?.hostNetwork === true;
}
