// Which workload a pod belongs to, from the pod alone (both injectors name it in
// what they inject). At admission a Deployment's pod has only a generateName and
// an owner reference to its ReplicaSet, whose name ends in the pod-template-hash.
import type { V1ObjectMeta } from "@kubernetes/client-node";

export type WorkloadKind = "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "Pod";

export interface Workload {
  kind: WorkloadKind;
  name: string;
  /** The API group/version path segment of the kind, e.g. "apps/v1". */
  apiVersion: string;
}

const API_VERSIONS: Record<WorkloadKind, string> = {
  Deployment: "apps/v1",
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  Pod: "v1",
};

export function podWorkload(metadata: V1ObjectMeta | undefined): Workload {
  const owner = metadata?.ownerReferences?.find((ref) => ref.controller) ?? metadata?.ownerReferences?.[0];
  if (owner) {
    if (owner.kind === "ReplicaSet") {
      const hash = metadata?.labels?.["pod-template-hash"];
      if (hash && owner.name.endsWith(`-${hash}`)) {
        return workload("Deployment", owner.name.slice(0, -(hash.length + 1)));
      }
      return workload("ReplicaSet", owner.name);
    }
    if (owner.kind === "StatefulSet" || owner.kind === "DaemonSet" || owner.kind === "Job") {
      return workload(owner.kind, owner.name);
    }
  }
  const name = metadata?.name || metadata?.generateName?.replace(/-$/, "") || "unknown";
  return workload("Pod", name);
}

function workload(kind: WorkloadKind, name: string): Workload {
  return { kind, name, apiVersion: API_VERSIONS[kind] };
}
