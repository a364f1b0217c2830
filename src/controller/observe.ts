// Turning Kubernetes objects (read from the informer caches) into the plain facts
// the planner works on. Pure: no client, no cache; objects are only read.
import type * as k8s from "@kubernetes/client-node";
import type { ControlPlaneRequirement } from "../meshes/driver.ts";
import type {
  ControlPlaneFacts,
  NamespaceFacts,
  PodObservation,
  WorkloadFacts,
  WorkloadKind,
} from "./facts.ts";

export function namespaceFacts(ns: k8s.V1Namespace): NamespaceFacts {
  return {
    name: ns.metadata?.name ?? "",
    resourceVersion: ns.metadata?.resourceVersion ?? "",
    markers: {
      labels: { ...(ns.metadata?.labels ?? {}) },
      annotations: { ...(ns.metadata?.annotations ?? {}) },
    },
    terminating: Boolean(ns.metadata?.deletionTimestamp) || ns.status?.phase === "Terminating",
  };
}

type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

function templateFacts(kind: WorkloadKind, w: Workload) {
  const template = w.spec?.template;
  return {
    kind,
    namespace: w.metadata?.namespace ?? "",
    name: w.metadata?.name ?? "",
    resourceVersion: w.metadata?.resourceVersion ?? "",
    annotations: { ...(w.metadata?.annotations ?? {}) },
    template: {
      labels: { ...(template?.metadata?.labels ?? {}) },
      annotations: { ...(template?.metadata?.annotations ?? {}) },
    },
    templateHostNetwork: template?.spec?.hostNetwork === true,
  };
}

function observedCurrentGeneration(w: Workload): boolean {
  return (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
}

export function deploymentFacts(d: k8s.V1Deployment): WorkloadFacts {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status;
  const rolledOut =
    observedCurrentGeneration(d) &&
    (s?.updatedReplicas ?? 0) === desired &&
    (s?.replicas ?? 0) === desired &&
    (s?.availableReplicas ?? 0) === desired;
  return {
    ...templateFacts("Deployment", d),
    rolledOut,
    desiredPods: desired,
    readyPods: s?.readyReplicas ?? 0,
  };
}

export function statefulSetFacts(st: k8s.V1StatefulSet): WorkloadFacts {
  const desired = st.spec?.replicas ?? 1;
  const s = st.status;
  const rolledOut =
    observedCurrentGeneration(st) &&
    (s?.updatedReplicas ?? 0) === desired &&
    (s?.currentRevision ?? "") === (s?.updateRevision ?? "") &&
    (s?.readyReplicas ?? 0) === desired;
  return {
    ...templateFacts("StatefulSet", st),
    rolledOut,
    desiredPods: desired,
    readyPods: s?.readyReplicas ?? 0,
  };
}

export function daemonSetFacts(ds: k8s.V1DaemonSet): WorkloadFacts {
  const s = ds.status;
  const desired = s?.desiredNumberScheduled ?? 0;
  const rolledOut =
    observedCurrentGeneration(ds) &&
    (s?.updatedNumberScheduled ?? 0) === desired &&
    (s?.numberAvailable ?? 0) === desired &&
    (s?.numberUnavailable ?? 0) === 0;
  return {
    ...templateFacts("DaemonSet", ds),
    rolledOut,
    desiredPods: desired,
    readyPods: s?.numberReady ?? 0,
  };
}

/**
 * Which workload manages a pod. A ReplicaSet named `<deployment>-<pod-template-hash>` belongs to
 * that Deployment (read from the pod alone, so no ReplicaSet cache is needed).
 */
export function podOwner(pod: k8s.V1Pod): { kind: WorkloadKind; name: string } | "job" | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!ref) return undefined;
  switch (ref.kind) {
    case "StatefulSet":
    case "DaemonSet":
      return { kind: ref.kind, name: ref.name };
    case "ReplicaSet": {
      const hash = pod.metadata?.labels?.["pod-template-hash"];
      if (hash && ref.name.endsWith(`-${hash}`)) {
        return { kind: "Deployment", name: ref.name.slice(0, -(hash.length + 1)) };
      }
      return undefined;
    }
    case "Job":
      return "job";
    default:
      return undefined;
  }
}

export function podObservation(pod: k8s.V1Pod): PodObservation {
  const owner = podOwner(pod);
  return {
    metadata: {
      name: pod.metadata?.name ?? "",
      namespace: pod.metadata?.namespace ?? "",
      labels: pod.metadata?.labels ?? {},
      annotations: pod.metadata?.annotations ?? {},
    },
    spec: {
      containers: pod.spec?.containers ?? [],
      initContainers: pod.spec?.initContainers ?? [],
      hostNetwork: pod.spec?.hostNetwork ?? false,
    },
    owner: owner === "job" ? undefined : owner,
    unmanaged: owner === undefined || owner === "job",
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    phase: pod.status?.phase,
  };
}

/** Looks objects up by kind, namespace and name in the caches. */
export interface ControlPlaneLookup {
  deployment(namespace: string, name: string): k8s.V1Deployment | undefined;
  daemonSet(namespace: string, name: string): k8s.V1DaemonSet | undefined;
  webhook(name: string): k8s.V1MutatingWebhookConfiguration | undefined;
}

/** Checks a mesh's control-plane requirements: each needs one of its named objects present and ready. */
export function controlPlaneFacts(
  requirements: ControlPlaneRequirement[],
  lookup: ControlPlaneLookup,
): ControlPlaneFacts {
  const problems: string[] = [];
  for (const requirement of requirements) {
    const ns = requirement.namespace ?? "";
    const names = requirement.names.join(" or ");
    if (requirement.kind === "Deployment") {
      const found = requirement.names.map((n) => lookup.deployment(ns, n)).filter((d) => d !== undefined);
      if (found.length === 0) problems.push(`Deployment ${ns}/${names} not found: ${requirement.hint}`);
      else if (!found.some((d) => (d.status?.availableReplicas ?? 0) > 0 && (d.spec?.replicas ?? 1) > 0)) {
        problems.push(`Deployment ${ns}/${names} has no available replicas: ${requirement.hint}`);
      }
    } else if (requirement.kind === "DaemonSet") {
      const found = requirement.names.map((n) => lookup.daemonSet(ns, n)).filter((d) => d !== undefined);
      if (found.length === 0) problems.push(`DaemonSet ${ns}/${names} not found: ${requirement.hint}`);
      else if (
        !found.some(
          (d) =>
            (d.status?.desiredNumberScheduled ?? 0) > 0 &&
            d.status?.numberReady === d.status?.desiredNumberScheduled,
        )
      ) {
        problems.push(`DaemonSet ${ns}/${names} is not ready on every node: ${requirement.hint}`);
      }
    } else if (!requirement.names.some((n) => lookup.webhook(n) !== undefined)) {
      problems.push(`MutatingWebhookConfiguration ${names} not found: ${requirement.hint}`);
    }
  }
  return { ready: problems.length === 0, problems };
}
