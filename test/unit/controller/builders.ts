// Small builders for planner inputs: facts as the observe layer would produce them.

import type {
  ControlPlaneFacts,
  NamespaceFacts,
  PodObservation,
  WorkloadFacts,
} from "../../../src/controller/facts.ts";
import type { NamespacePlanInput } from "../../../src/controller/namespace/types.ts";
import type { MeshRef } from "../../../src/meshes/driver.ts";

export const READY_CONTROL_PLANE: ControlPlaneFacts = { ready: true, problems: [] };

export function namespace(
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): NamespaceFacts {
  return { name, resourceVersion: "1", markers: { labels, annotations }, terminating: false };
}

export function deployment(name: string, overrides: Partial<WorkloadFacts> = {}): WorkloadFacts {
  return {
    kind: "Deployment",
    namespace: "shop",
    name,
    resourceVersion: "7",
    annotations: {},
    template: { labels: { app: name }, annotations: {} },
    templateHostNetwork: false,
    rolledOut: true,
    desiredPods: 1,
    readyPods: 1,
    ...overrides,
  };
}

export type Sidecar = "istio" | "linkerd" | "ambient" | "none";

export function pod(
  name: string,
  owner: string,
  mesh: Sidecar,
  extra: Partial<PodObservation> = {},
): PodObservation {
  const initContainers =
    mesh === "istio"
      ? [{ name: "istio-init" }, { name: "istio-proxy", restartPolicy: "Always" }]
      : mesh === "linkerd"
        ? [{ name: "linkerd-init" }, { name: "linkerd-proxy", restartPolicy: "Always" }]
        : [];
  const annotations: Record<string, string> =
    mesh === "ambient"
      ? { "ambient.istio.io/redirection": "enabled" }
      : mesh === "istio"
        ? { "istio.io/rev": "default" }
        : {};
  return {
    metadata: { name, namespace: "shop", labels: {}, annotations },
    spec: { containers: [{ name: "app" }], initContainers },
    owner: { kind: "Deployment", name: owner },
    unmanaged: false,
    terminating: false,
    phase: "Running",
    ...extra,
  };
}

export function forwardInput(
  source: MeshRef,
  target: MeshRef,
  overrides: Partial<NamespacePlanInput> = {},
): NamespacePlanInput {
  return {
    migration: "move",
    source,
    target,
    workloadOverrides: "Rewrite",
    maxConcurrentRollouts: 5,
    rolloutTimeoutMs: 600_000,
    ns: namespace("shop"),
    workloads: [],
    pods: [],
    targetControlPlane: READY_CONTROL_PLANE,
    now: Date.parse("2026-11-22T10:00:00Z"),
    mayStart: true,
    ...overrides,
  };
}

/** Namespace annotations of a namespace this migration has recorded and owns. */
export function ownedBy(
  migration: string,
  original: { labels: Record<string, string>; annotations: Record<string, string> },
) {
  return {
    "meshmigration.io/owner": migration,
    "meshmigration.io/original": JSON.stringify(original),
  };
}
