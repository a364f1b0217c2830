// The observed state a plan is computed from: small, plain, read-only facts
// extracted from the informer caches. The planner never sees a client or a cache.

import type { WorkloadKind } from "../api/constants.ts";
import type { Markers, PodFacts } from "../meshes/driver.ts";

export type { WorkloadKind };

export interface NamespaceFacts {
  name: string;
  resourceVersion: string;
  markers: Markers;
  terminating: boolean;
}

export interface WorkloadFacts {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  resourceVersion: string;
  /** Labels and annotations on the workload object itself (where we keep template originals). */
  annotations: Record<string, string>;
  /** Labels and annotations of the pod template. */
  template: Markers;
  /** The pod template's spec facts that decide injection (hostNetwork, automount...). */
  templateHostNetwork: boolean;
  /** Whether the workload's last template change has fully rolled out and is available. */
  rolledOut: boolean;
  desiredPods: number;
  readyPods: number;
}

export interface PodObservation extends PodFacts {
  metadata: NonNullable<PodFacts["metadata"]> & { name: string; namespace: string };
  /** The managing workload, when the pod belongs to a Deployment, StatefulSet or DaemonSet. */
  owner?: { kind: WorkloadKind; name: string } | undefined;
  /** A pod of a Job, or a bare pod: reported, never restarted by us. */
  unmanaged: boolean;
  terminating: boolean;
  phase: string | undefined;
}

/** Readiness of one mesh's control plane, checked against the driver's requirements. */
export interface ControlPlaneFacts {
  ready: boolean;
  /** What is missing or not ready, each with what a user should do. */
  problems: string[];
}
