// A MeshMigration as the apiserver returns it, in the middle of moving Istio → Linkerd, and the
// objects of the namespace it is restarting: the known input of the reviewed snapshots.
import type * as k8s from "@kubernetes/client-node";
import type { NamespaceObjects } from "../../../../src/cli/plugin/workloads.ts";

export const NAME = "istio-to-linkerd";
export const CREATED = "2026-12-02T10:00:00Z";
/** 12 minutes 34 seconds after creation. */
export const NOW = Date.parse("2026-12-02T10:12:34Z");
const STAMP = `${NAME}:forward:1:2026-12-02T10:10:00.000Z`;

type Json = Record<string, unknown>;

function condition(type: string, status: string, reason: string, message: string): Json {
  return { type, status, reason, message, observedGeneration: 4, lastTransitionTime: "2026-12-02T10:01:00Z" };
}

function namespace(name: string, batch: string, phase: string, extra: Json = {}): Json {
  return {
    name,
    batch,
    phase,
    workloads: { total: 2, restarted: 0, ready: 0 },
    pods: { target: 0, source: 4, unmeshed: 0, doubleMeshed: 0 },
    ...extra,
  };
}

/** wave-1 under way: shop-orders restarting, shop-ledger next; the gate after wave-1 holds wave-2. */
export function progressingMigration(): Json {
  return {
    apiVersion: "meshmigration.io/v1alpha1",
    kind: "MeshMigration",
    metadata: {
      name: NAME,
      generation: 4,
      resourceVersion: "81234",
      creationTimestamp: CREATED,
      labels: { "app.kubernetes.io/part-of": "shop" },
    },
    spec: {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "canary", namespaces: ["shop-frontend"] },
        { name: "wave-1", namespaceSelector: { matchLabels: { team: "payments" } } },
        { name: "wave-2", namespaces: ["shop-search"] },
      ],
      strategy: { maxConcurrentNamespaces: 1, maxConcurrentRollouts: 5, rolloutTimeout: "10m" },
      stopAfterBatch: "wave-1",
      paused: false,
      rollback: false,
    },
    status: {
      phase: "Progressing",
      observedGeneration: 4,
      currentBatch: "wave-1",
      progress: "2/5",
      migratedNamespaces: 2,
      totalNamespaces: 5,
      doubleMeshedPods: 0,
      conditions: [
        condition("Ready", "False", "Progressing", "Migration is Progressing"),
        condition("Progressing", "True", "NamespacesMoving", "Batch wave-1: 2/5 namespaces migrated"),
        condition("Degraded", "False", "AsExpected", "No problem found"),
        condition("DoubleMeshDetected", "False", "NoDoubleMeshedPods", "No pod is meshed twice"),
        condition("Paused", "False", "NotPaused", "Not paused"),
        condition("InvalidSpec", "False", "SpecValid", "The spec is valid"),
      ],
      batches: [
        { name: "canary", phase: "Migrated", namespaces: ["shop-frontend"], migrated: 1 },
        {
          name: "wave-1",
          phase: "InProgress",
          namespaces: ["shop-payments", "shop-orders", "shop-ledger"],
          migrated: 1,
        },
        { name: "wave-2", phase: "Pending", namespaces: ["shop-search"], migrated: 0 },
      ],
      namespaces: [
        namespace("shop-frontend", "canary", "Migrated", {
          workloads: { total: 2, restarted: 2, ready: 2 },
          pods: { target: 4, source: 0, unmeshed: 0, doubleMeshed: 0 },
          message: "every pod of 2 workload(s) verified on linkerd",
        }),
        namespace("shop-payments", "wave-1", "Migrated", {
          workloads: { total: 1, restarted: 1, ready: 1 },
          pods: { target: 2, source: 0, unmeshed: 0, doubleMeshed: 0 },
          message: "every pod of 1 workload(s) verified on linkerd",
        }),
        namespace("shop-orders", "wave-1", "Restarting", {
          workloads: { total: 3, restarted: 2, ready: 1 },
          pods: { target: 3, source: 3, unmeshed: 0, doubleMeshed: 0 },
          message: "restarting its workloads into linkerd, at most 5 at once",
          unmanagedPods: ["backfill-29411-kx7wq"],
        }),
        namespace("shop-ledger", "wave-1", "Pending"),
        namespace("shop-search", "wave-2", "Pending", {
          workloads: { total: 1, restarted: 0, ready: 0 },
          pods: { target: 0, source: 2, unmeshed: 0, doubleMeshed: 0 },
        }),
      ],
    },
  };
}

/**
 * The same migration halted: deployment/api's pods came back on no mesh three times (Linkerd's
 * injector failed open), so shop-orders failed verification and Degraded needs a person.
 */
export function failedMigration(): Json {
  const migration = progressingMigration();
  const status = migration.status as Json;
  const message =
    "Namespace shop-orders: after 3 restarts these workloads still have pods that are not on linkerd: " +
    "deployment/api (pods api-7d9c4-2xkqp, api-7d9c4-9mfzt, api-7d9c4-tq5ln are not on linkerd). 3 pod(s) of " +
    "deployment/api now run on no mesh: the linkerd injector let them start without its proxy (a fail-open " +
    "injector that is down or unreachable does this). No other workload of the namespace is restarted while " +
    "this holds; 1 pod(s) stay on istio. Check that the injector answers (its webhook, certificate and " +
    "process) and that the pods do not opt out, then restart the workload with kubectl rollout restart and " +
    "the migration resumes; or set spec.rollback: true to return the namespace and its workloads to istio.";
  status.phase = "Failed";
  status.conditions = [
    condition("Ready", "False", "VerificationFailed", message),
    condition("Progressing", "False", "VerificationFailed", message),
    condition("Degraded", "True", "VerificationFailed", message),
    condition("DoubleMeshDetected", "False", "NoDoubleMeshedPods", "No pod is meshed twice"),
    condition("Paused", "False", "NotPaused", "Not paused"),
    condition("InvalidSpec", "False", "SpecValid", "The spec is valid"),
  ];
  const namespaces = status.namespaces as Json[];
  const orders = namespaces.find((ns) => ns.name === "shop-orders") as Json;
  Object.assign(orders, {
    phase: "Failed",
    workloads: { total: 3, restarted: 2, ready: 2 },
    pods: { target: 2, source: 1, unmeshed: 3, doubleMeshed: 0 },
    message,
  });
  return migration;
}

/** Applied, but no operator has written a status (its --migration-selector does not match). */
export function unhandledMigration(): Json {
  const migration = progressingMigration();
  delete migration.status;
  return migration;
}

// ---------------------------------------------------------------------------------------------
// shop-orders' objects

const ISTIO_POD_SPEC = { containers: [{ name: "app" }, { name: "istio-proxy" }], initContainers: [] };
const LINKERD_POD_SPEC = {
  containers: [{ name: "app" }],
  initContainers: [{ name: "linkerd-init" }, { name: "linkerd-proxy", restartPolicy: "Always" }],
};
const NO_MESH_POD_SPEC = { containers: [{ name: "app" }], initContainers: [] };

function deployment(name: string, replicas: number, status: Json, stamp?: string): k8s.V1Deployment {
  return {
    metadata: { name, namespace: "shop-orders", generation: 2, resourceVersion: "100" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { annotations: stamp ? { "meshmigration.io/restarted-for": stamp } : {} } },
    },
    status: { observedGeneration: 2, ...status },
  } as k8s.V1Deployment;
}

function pod(name: string, owner: { kind: string; name: string }, spec: Json, hash?: string): k8s.V1Pod {
  return {
    metadata: {
      name,
      namespace: "shop-orders",
      labels: hash ? { "pod-template-hash": hash } : {},
      ownerReferences: [
        { apiVersion: "apps/v1", kind: owner.kind, name: owner.name, controller: true, uid: "u" },
      ],
    },
    spec,
    status: { phase: "Running" },
  } as unknown as k8s.V1Pod;
}

function replicaSetPod(deploymentName: string, hash: string, suffix: string, spec: Json): k8s.V1Pod {
  return pod(
    `${deploymentName}-${hash}-${suffix}`,
    { kind: "ReplicaSet", name: `${deploymentName}-${hash}` },
    spec,
    hash,
  );
}

/** shop-orders mid-restart: web verified on Linkerd, api rolling (1 of 3 new), cache not yet restarted. */
export function shopOrdersRestarting(): NamespaceObjects {
  return {
    deployments: [
      deployment(
        "web",
        2,
        { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
        STAMP,
      ),
      deployment(
        "api",
        3,
        { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 },
        STAMP,
      ),
    ],
    statefulSets: [
      {
        metadata: { name: "cache", namespace: "shop-orders", generation: 1, resourceVersion: "90" },
        spec: { replicas: 1, selector: {}, serviceName: "cache", template: { metadata: {} } },
        status: {
          observedGeneration: 1,
          replicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          currentRevision: "cache-1",
          updateRevision: "cache-1",
        },
      } as unknown as k8s.V1StatefulSet,
    ],
    daemonSets: [],
    pods: [
      replicaSetPod("web", "5f6b7", "aaaaa", LINKERD_POD_SPEC),
      replicaSetPod("web", "5f6b7", "bbbbb", LINKERD_POD_SPEC),
      replicaSetPod("api", "7d9c4", "ccccc", LINKERD_POD_SPEC),
      replicaSetPod("api", "66f8d", "ddddd", ISTIO_POD_SPEC),
      replicaSetPod("api", "66f8d", "eeeee", ISTIO_POD_SPEC),
      pod("cache-0", { kind: "StatefulSet", name: "cache" }, ISTIO_POD_SPEC),
      pod("backfill-29411-kx7wq", { kind: "Job", name: "backfill-29411" }, ISTIO_POD_SPEC),
    ],
  };
}

/** shop-orders halted: api rolled out three times and its pods run on no mesh. */
export function shopOrdersFailed(): NamespaceObjects {
  const third = `${NAME}:forward:3:2026-12-02T10:11:00.000Z`;
  const objects = shopOrdersRestarting();
  return {
    ...objects,
    deployments: [
      objects.deployments[0] as k8s.V1Deployment,
      deployment(
        "api",
        3,
        { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
        third,
      ),
    ],
    pods: [
      ...objects.pods.filter((p) => !p.metadata?.name?.startsWith("api-")),
      replicaSetPod("api", "7d9c4", "2xkqp", NO_MESH_POD_SPEC),
      replicaSetPod("api", "7d9c4", "9mfzt", NO_MESH_POD_SPEC),
      replicaSetPod("api", "7d9c4", "tq5ln", NO_MESH_POD_SPEC),
    ],
  };
}

/** Rolled back to Istio after the canary: Ready again, PROGRESS counting namespaces rolled back. */
export function rolledBackMigration(): Json {
  const migration = progressingMigration();
  const metadata = migration.metadata as Json;
  metadata.name = "orders-to-ambient";
  metadata.creationTimestamp = "2026-11-30T08:00:00Z";
  const spec = migration.spec as Json;
  spec.target = { mesh: "istio-ambient" };
  spec.rollback = true;
  const status = migration.status as Json;
  Object.assign(status, { phase: "RolledBack", currentBatch: "wave-2", migratedNamespaces: 5 });
  return migration;
}

/** An Istio canary upgrade, paused by its owner. */
export function pausedMigration(): Json {
  const migration = progressingMigration();
  const metadata = migration.metadata as Json;
  metadata.name = "istio-canary-1-24";
  metadata.creationTimestamp = "2026-12-02T10:12:00Z";
  const spec = migration.spec as Json;
  spec.source = { mesh: "istio" };
  spec.target = { mesh: "istio", revision: "1-24" };
  spec.paused = true;
  Object.assign(migration.status as Json, { phase: "Paused", currentBatch: "canary", migratedNamespaces: 0 });
  return migration;
}
