// The facts a migration is planned from, assembled once for every reader: the operator reads
// the cluster through its informer caches, the plan CLI through one set of LISTs, and both hand
// what they read to migrationFacts. So the plan CLI and the operator plan from the same facts
// and give the same warnings.
import type * as k8s from "@kubernetes/client-node";
import type { MeshMigrationSpec, MigrationWarning } from "../api/schema.ts";
import { driverFor, meshRunsOwnPod } from "../meshes/registry.ts";
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
import { type GatewayFacts, gatewayFacts } from "./namespace/waypoint-gateway.ts";
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
  /** A namespace's Gateways, for the waypoint steps. */
  gatewaysIn: (namespace: string) => GatewayFacts[];
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
    workloadsIn: (ns) =>
      [
        ...cluster.deploymentsIn(ns).map((w) => preflightWorkloadOf("Deployment", w)),
        ...cluster.statefulSetsIn(ns).map((w) => preflightWorkloadOf("StatefulSet", w)),
        ...cluster.daemonSetsIn(ns).map((w) => preflightWorkloadOf("DaemonSet", w)),
      ].filter((w) => !meshRunsOwnPod(w.template.labels)),
    policies: cluster.policies,
    unreadablePolicies: cluster.unreadablePolicies,
    webhooks: cluster.webhooks,
    linkerdDefaultInboundPolicy: linkerdDefaultInboundPolicyOf(
      cluster.deployment(LINKERD_DESTINATION_NAMESPACE, LINKERD_DESTINATION_NAME),
    ),
    waypoint: spec.target.waypoint,
    podsIn: cluster.podsIn,
  });
  return {
    namespaces,
    workloadsIn: (ns) => applicationWorkloads(cluster, ns),
    podsIn: (ns) =>
      cluster
        .podsIn(ns)
        .filter((pod) => !meshRunsOwnPod(pod.metadata?.labels ?? {}))
        .map(podObservation),
    gatewaysIn: gatewaysByNamespace(cluster.policies.gateways ?? []),
    targetControlPlane: controlPlaneFacts(driverFor(spec.target.mesh).controlPlane(spec.target), lookup),
    sourceControlPlane: controlPlaneFacts(driverFor(spec.source.mesh).controlPlane(spec.source), lookup),
    warnings,
  };
}

/** The namespace's workloads a migration moves: all but those a mesh runs itself (waypoints). */
export function applicationWorkloads(
  cluster: Pick<ClusterReadings, "deploymentsIn" | "statefulSetsIn" | "daemonSetsIn">,
  namespace: string,
): WorkloadFacts[] {
  return [
    ...cluster.deploymentsIn(namespace).map(deploymentFacts),
    ...cluster.statefulSetsIn(namespace).map(statefulSetFacts),
    ...cluster.daemonSetsIn(namespace).map(daemonSetFacts),
  ].filter((workload) => !meshRunsOwnPod(workload.template.labels));
}

function gatewaysByNamespace(objects: readonly unknown[]): (namespace: string) => GatewayFacts[] {
  const gateways = objects.map(gatewayFacts).filter((g) => g !== undefined);
  return (namespace) => gateways.filter((g) => g.namespace === namespace);
}
