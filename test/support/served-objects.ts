// Objects as a real apiserver serves them to a list or a watch, built from the mesh fixtures' pod
// templates and workloads: the defaults the apiserver and its controllers fill in, a Running
// pod's status as the kubelet writes it, and managedFields of the size those writers leave (one
// entry per writer, listing every field it set). What the operator's informers receive, so what
// a cache transform is tested and measured on. Every call builds new objects: nothing is shared.
import { createHash } from "node:crypto";
import type * as k8s from "@kubernetes/client-node";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

/** A stable hex digest of `seed`, `length` characters long (uids, container IDs, image digests). */
function hex(seed: string, length = 64): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

function uid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The keys a server-side field set names a list item by, as the apiserver picks them. */
function itemKey(item: unknown): string {
  if (!isObject(item)) return `v:${JSON.stringify(item)}`;
  if (item.containerPort !== undefined)
    return `k:${JSON.stringify({ containerPort: item.containerPort, protocol: item.protocol ?? "TCP" })}`;
  if (typeof item.mountPath === "string") return `k:${JSON.stringify({ mountPath: item.mountPath })}`;
  if (typeof item.name === "string") return `k:${JSON.stringify({ name: item.name })}`;
  if (typeof item.type === "string") return `k:${JSON.stringify({ type: item.type })}`;
  if (typeof item.uid === "string") return `k:${JSON.stringify({ uid: item.uid })}`;
  if (typeof item.ip === "string") return `k:${JSON.stringify({ ip: item.ip })}`;
  if (typeof item.key === "string") return `k:${JSON.stringify({ key: item.key })}`;
  return `v:${JSON.stringify(item)}`;
}

/** The FieldsV1 set of every field in `value` (what managedFields records for its writer). */
export function fieldsV1(value: unknown): Json {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((item) => [itemKey(item), isObject(item) ? { ".": {}, ...fieldsV1(item) } : {}]),
    );
  }
  if (!isObject(value)) return {};
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [
      `f:${key}`,
      isObject(child) || Array.isArray(child) ? fieldsV1(child) : {},
    ]),
  );
}

function managedEntry(
  manager: string,
  apiVersion: string,
  time: string,
  fields: Json,
  subresource?: string,
): k8s.V1ManagedFieldsEntry {
  return {
    manager,
    operation: "Update",
    apiVersion,
    time: time as unknown as Date,
    fieldsType: "FieldsV1",
    fieldsV1: fieldsV1(fields),
    ...(subresource ? { subresource } : {}),
  };
}

const TIME = "2026-11-30T08:15:42Z";
const SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

export type PodOwnerKind = "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "bare";

export interface ServedPodOptions {
  namespace: string;
  /** Makes the pod's name, uid, IPs and container IDs unique. */
  index: number;
  owner?: PodOwnerKind;
  ownerName?: string;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  terminating?: boolean;
}

/** A pod of `template` (a fixture's pod template, or a Pod) as the apiserver serves it, Running unless told. */
export function servedPod(template: unknown, options: ServedPodOptions): k8s.V1Pod {
  const source = copy(template) as { metadata?: Json; spec?: Json };
  const { namespace, index } = options;
  const owner = options.owner ?? "Deployment";
  const ownerName = options.ownerName ?? String(source.metadata?.name ?? "app");
  const hash = hex(`${namespace}/${ownerName}/template`, 10);
  const name =
    owner === "StatefulSet"
      ? `${ownerName}-${index}`
      : owner === "bare"
        ? `${ownerName}-${index}`
        : `${ownerName}-${owner === "Deployment" ? `${hash}-` : ""}${hex(`${namespace}/${index}`, 5)}`;
  const labels: Record<string, string> = { ...((source.metadata?.labels as Record<string, string>) ?? {}) };
  if (owner === "Deployment") labels["pod-template-hash"] = hash;
  if (owner === "StatefulSet") {
    labels["apps.kubernetes.io/pod-index"] = String(index);
    labels["controller-revision-hash"] = `${ownerName}-${hash}`;
    labels["statefulset.kubernetes.io/pod-name"] = name;
  }
  if (owner === "DaemonSet") {
    labels["controller-revision-hash"] = hash;
    labels["pod-template-generation"] = "1";
  }
  if (owner === "Job") {
    labels["batch.kubernetes.io/job-name"] = ownerName;
    labels["job-name"] = ownerName;
    labels["batch.kubernetes.io/controller-uid"] = uid(`${namespace}/${ownerName}/job`);
  }
  const ownerReferences: k8s.V1OwnerReference[] =
    owner === "bare"
      ? []
      : [
          {
            apiVersion: owner === "Job" ? "batch/v1" : "apps/v1",
            kind: owner === "Deployment" ? "ReplicaSet" : owner,
            name: owner === "Deployment" ? `${ownerName}-${hash}` : ownerName,
            uid: uid(`${namespace}/${ownerName}/${owner}`),
            controller: true,
            blockOwnerDeletion: true,
          },
        ];

  const tokenVolume = `kube-api-access-${hex(name, 5)}`;
  const withDefaults = (c: Json): Json => ({
    imagePullPolicy: "IfNotPresent",
    resources: {},
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    ...c,
    volumeMounts: [
      ...((c.volumeMounts as Json[] | undefined) ?? []),
      { name: tokenVolume, mountPath: SERVICE_ACCOUNT_MOUNT, readOnly: true },
    ],
  });
  const spec = source.spec ?? {};
  const containers = ((spec.containers as Json[] | undefined) ?? []).map(withDefaults);
  const initContainers = (spec.initContainers as Json[] | undefined)?.map(withDefaults);
  const node = `node-${(index % 7) + 1}`;
  const podSpec: Json = {
    ...spec,
    containers,
    ...(initContainers ? { initContainers } : {}),
    dnsPolicy: spec.dnsPolicy ?? "ClusterFirst",
    enableServiceLinks: true,
    nodeName: node,
    preemptionPolicy: "PreemptLowerPriority",
    priority: 0,
    restartPolicy: spec.restartPolicy ?? (owner === "Job" ? "Never" : "Always"),
    schedulerName: "default-scheduler",
    securityContext: spec.securityContext ?? {},
    serviceAccount: spec.serviceAccountName ?? "default",
    serviceAccountName: spec.serviceAccountName ?? "default",
    terminationGracePeriodSeconds: 30,
    tolerations: [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
      {
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
    ],
    volumes: [
      ...((spec.volumes as Json[] | undefined) ?? []),
      {
        name: tokenVolume,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            {
              downwardAPI: {
                items: [
                  { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
                ],
              },
            },
          ],
        },
      },
    ],
  };

  const phase = options.phase ?? "Running";
  const ip = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  const containerStatus = (c: Json, init: boolean) => {
    const running = !init || c.restartPolicy === "Always";
    return {
      name: c.name,
      image: c.image,
      imageID: `${String(c.image).split(":")[0]}@sha256:${hex(String(c.image))}`,
      containerID: `containerd://${hex(`${name}/${String(c.name)}`)}`,
      ready: running && phase === "Running",
      restartCount: 0,
      started: running,
      state: running
        ? { running: { startedAt: TIME } }
        : { terminated: { exitCode: 0, reason: "Completed", startedAt: TIME, finishedAt: TIME } },
      lastState: {},
      volumeMounts: ((c.volumeMounts as Json[] | undefined) ?? []).map((m) => ({
        name: m.name,
        mountPath: m.mountPath,
        ...(m.readOnly ? { readOnly: true, recursiveReadOnly: "Disabled" } : {}),
      })),
    };
  };
  const status: Json = {
    phase,
    conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(
      (type) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: TIME }),
    ),
    hostIP: `192.168.0.${(index % 7) + 1}`,
    hostIPs: [{ ip: `192.168.0.${(index % 7) + 1}` }],
    podIP: ip,
    podIPs: [{ ip }],
    qosClass: "Burstable",
    startTime: TIME,
    containerStatuses: containers.map((c) => containerStatus(c, false)),
    ...(initContainers ? { initContainerStatuses: initContainers.map((c) => containerStatus(c, true)) } : {}),
  };

  const metadata: Json = {
    name,
    ...(owner === "Deployment" || owner === "DaemonSet" ? { generateName: name.slice(0, -5) } : {}),
    namespace,
    uid: uid(`${namespace}/${name}`),
    resourceVersion: String(100_000 + index),
    creationTimestamp: TIME,
    labels,
    ...(source.metadata?.annotations ? { annotations: source.metadata.annotations } : {}),
    ...(ownerReferences.length > 0 ? { ownerReferences } : {}),
    ...(options.terminating ? { deletionTimestamp: TIME, deletionGracePeriodSeconds: 30 } : {}),
  };
  metadata.managedFields = [
    managedEntry(owner === "bare" ? "kubectl-run" : "kube-controller-manager", "v1", TIME, {
      metadata: { generateName: metadata.generateName, labels, ownerReferences },
      spec: podSpec,
    }),
    managedEntry("kubelet", "v1", TIME, { status }, "status"),
  ];
  return { apiVersion: "v1", kind: "Pod", metadata, spec: podSpec, status } as unknown as k8s.V1Pod;
}

type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

/** A fixture's Deployment, StatefulSet or DaemonSet as the apiserver serves it, applied with kubectl and rolled out. */
export function servedWorkload(object: unknown, options: { namespace: string; index: number }): Workload {
  const source = copy(object) as { kind: string; metadata?: Json; spec?: Json };
  const { namespace, index } = options;
  const kind = source.kind;
  const name = String(source.metadata?.name ?? "app");
  const replicas = (source.spec?.replicas as number | undefined) ?? 1;
  const applied = {
    apiVersion: "apps/v1",
    kind,
    metadata: { ...source.metadata, namespace },
    spec: source.spec,
  };
  const annotations: Record<string, string> = {
    ...((source.metadata?.annotations as Record<string, string>) ?? {}),
    "kubectl.kubernetes.io/last-applied-configuration": `${JSON.stringify(applied)}\n`,
  };
  if (kind === "Deployment") annotations["deployment.kubernetes.io/revision"] = "1";
  const spec: Json = { ...source.spec };
  if (kind === "Deployment") {
    spec.replicas = replicas;
    spec.progressDeadlineSeconds = 600;
    spec.revisionHistoryLimit = 10;
    spec.strategy = {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      ...(spec.strategy as Json),
    };
  }
  if (kind === "StatefulSet") {
    spec.replicas = replicas;
    spec.podManagementPolicy ??= "OrderedReady";
    spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
    spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Retain", whenScaled: "Retain" };
  }
  if (kind === "DaemonSet") {
    spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
  }
  const revision = `${name}-${hex(`${namespace}/${name}`, 10)}`;
  const status: Json =
    kind === "DaemonSet"
      ? {
          observedGeneration: 1,
          currentNumberScheduled: 3,
          desiredNumberScheduled: 3,
          numberAvailable: 3,
          numberMisscheduled: 0,
          numberReady: 3,
          updatedNumberScheduled: 3,
        }
      : kind === "StatefulSet"
        ? {
            observedGeneration: 1,
            availableReplicas: replicas,
            collisionCount: 0,
            currentReplicas: replicas,
            currentRevision: revision,
            readyReplicas: replicas,
            replicas,
            updateRevision: revision,
            updatedReplicas: replicas,
          }
        : {
            observedGeneration: 1,
            availableReplicas: replicas,
            readyReplicas: replicas,
            replicas,
            updatedReplicas: replicas,
            conditions: [
              {
                type: "Available",
                status: "True",
                lastTransitionTime: TIME,
                lastUpdateTime: TIME,
                reason: "MinimumReplicasAvailable",
                message: "Deployment has minimum availability.",
              },
              {
                type: "Progressing",
                status: "True",
                lastTransitionTime: TIME,
                lastUpdateTime: TIME,
                reason: "NewReplicaSetAvailable",
                message: `ReplicaSet "${name}-${hex(name, 10)}" has successfully progressed.`,
              },
            ],
          };
  const metadata: Json = {
    ...source.metadata,
    name,
    namespace,
    uid: uid(`${namespace}/${kind}/${name}`),
    resourceVersion: String(200_000 + index),
    generation: 1,
    creationTimestamp: TIME,
    annotations,
  };
  metadata.managedFields = [
    managedEntry("kubectl-client-side-apply", "apps/v1", TIME, {
      metadata: { annotations, labels: metadata.labels },
      spec,
    }),
    managedEntry("kube-controller-manager", "apps/v1", TIME, { status }, "status"),
  ];
  return { apiVersion: "apps/v1", kind, metadata, spec, status } as unknown as Workload;
}
