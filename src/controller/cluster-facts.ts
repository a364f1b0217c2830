// The facts a migration is planned from, assembled once for every reader: the operator reads
// the cluster through its informer caches, the plan CLI through one set of LISTs, and both hand
// what they read to migrationFacts. So the plan CLI and the operator plan from the same facts
// and give the same warnings.
import type * as k8s from "@kubernetes/client-node";
import type { MeshMigrationSpec, MigrationWarning } from "../api/schema.ts";
import { driverFor } from "../meshes/registry.ts";
import {
  LINKERD_DESTINATION_NAME,
  LINKERD_DESTINATION_NAMESPACE,
  linkerdDefaultInboundPolicyOf,
  type PolicyObjects,
  preflightWarnings,
  preflightWorkloadOf,
  type UnreadablePolicies,
} from "../preflight/index.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "./facts.ts";
import { resolveBatches } from "./migration/batches.ts";
import {
  controlPlaneFacts,
  daemonSetFacts,
  deploymentFacts,
  namespaceFacts,
  podObservation,
  statefulSetFacts,
} from "./observe.ts";

/** What was read of the cluster, however it was read. */
export interface ClusterReadings {
  namespaces: readonly k8s.V1Namespace[];
  deploymentsIn(namespace: string): readonly k8s.V1Deployment[];
  statefulSetsIn(namespace: string): readonly k8s.V1StatefulSet[];
  daemonSetsIn(namespace: string): readonly k8s.V1DaemonSet[];
  podsIn(namespace: string): readonly k8s.V1Pod[];
  deployment(namespace: string, name: string): k8s.V1Deployment | undefined;
  daemonSet(namespace: string, name: string): k8s.V1DaemonSet | undefined;
  webhooks: readonly k8s.V1MutatingWebhookConfiguration[];
  policies: PolicyObjects;
  /** Policy resources the reader was refused: a blocking warning, never "no policies". */
  unreadablePolicies?: readonly UnreadablePolicies[] | undefined;
}

export interface MigrationFacts {
  namespaces: Map<string, NamespaceFacts>;
  workloadsIn: (namespace: string) => WorkloadFacts[];
  podsIn: (namespace: string) => PodObservation[];
  targetControlPlane: ControlPlaneFacts;
  sourceControlPlane: ControlPlaneFacts;
  warnings: MigrationWarning[];
}

export function migrationFacts(spec: MeshMigrationSpec, cluster: ClusterReadings): MigrationFacts {
  const namespaces = new Map<string, NamespaceFacts>(
    cluster.namespaces.map((ns) => [ns.metadata?.name ?? "", namespaceFacts(ns)]),
  );
  const lookup = {
    deployment: cluster.deployment,
    daemonSet: cluster.daemonSet,
    webhook: (name: string) => cluster.webhooks.find((w) => w.metadata?.name === name),
  };
  const warnings = preflightWarnings({
    source: spec.source,
    target: spec.target,
    batches: resolveBatches(spec, namespaces),
    namespaces,
    workloadsIn: (ns) => [
      ...cluster.deploymentsIn(ns).map((w) => preflightWorkloadOf("Deployment", w)),
      ...cluster.statefulSetsIn(ns).map((w) => preflightWorkloadOf("StatefulSet", w)),
      ...cluster.daemonSetsIn(ns).map((w) => preflightWorkloadOf("DaemonSet", w)),
    ],
    policies: cluster.policies,
    unreadablePolicies: cluster.unreadablePolicies,
    webhooks: cluster.webhooks,
    linkerdDefaultInboundPolicy: linkerdDefaultInboundPolicyOf(
      cluster.deployment(LINKERD_DESTINATION_NAMESPACE, LINKERD_DESTINATION_NAME),
    ),
  });
  return {
    namespaces,
    workloadsIn: (ns) => [
      ...cluster.deploymentsIn(ns).map(deploymentFacts),
      ...cluster.statefulSetsIn(ns).map(statefulSetFacts),
      ...cluster.daemonSetsIn(ns).map(daemonSetFacts),
    ],
    podsIn: (ns) => cluster.podsIn(ns).map(podObservation),
    targetControlPlane: controlPlaneFacts(driverFor(spec.target.mesh).controlPlane(spec.target), lookup),
    sourceControlPlane: controlPlaneFacts(driverFor(spec.source.mesh).controlPlane(spec.source), lookup),
    warnings,
  };
}
