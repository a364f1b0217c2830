// An in-memory Kubernetes cluster that the operator's real reconciler and executor run against
// through the interfaces they use on a real cluster (ClusterCaches, ExecutorClients, an event
// recorder). It keeps what an apiserver and the controllers behind it would do, and no more:
//
// - writes are JSON merge patches (RFC 7386); metadata.resourceVersion in a body is a
//   precondition (409 when stale); every accepted change bumps a cluster-wide resourceVersion;
//   a patch that changes nothing is accepted and bumps nothing, as on a real apiserver;
//   label/annotation syntax, a workload's selector against its template, and the MeshMigration
//   status (pruned to the CRD schema, validated by the schema the CRD is generated from) are
//   checked (422 when invalid); unknown objects are 404;
// - pods are created through mutating admission with the meshes' injectors (see
//   model-admission.ts); istio-cni's ambient redirection runs on tick();
// - a spec change of a workload bumps metadata.generation and starts a rollout, which tick() or
//   settle() completes: the old pods go, new ones are admitted with the template and the
//   namespace as they are then, and the status reads rolled out;
// - stored objects are deep-frozen and replaced on every write (copy-on-write), so an object
//   the reconciler holds never changes under it, and a reconciler that changed a cached object
//   would throw.
//
// Nothing advances on its own: no timers, no clock; time is `now()` for timestamps only.
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import * as k8s from "@kubernetes/client-node";
import pino from "pino";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/constants.ts";
import { buildOpenApiSchema } from "../../src/api/crd.ts";
import { MeshMigrationStatusSchema } from "../../src/api/schema.ts";
import type { StepEvent } from "../../src/controller/actions.ts";
import type { EventRecorder } from "../../src/controller/events.ts";
import type { ExecutorClients } from "../../src/controller/executor.ts";
import { podOwner } from "../../src/controller/observe.ts";
import {
  type Cache,
  type ClusterCaches,
  type MeshMigrationObject,
  MigrationReconciler,
  type ReconcilerDeps,
} from "../../src/controller/reconciler.ts";
import { controlPlaneObjects } from "../emulators/control-planes.ts";
import { REDIRECTION_ANNOTATION, redirectionChange } from "../emulators/istio-cni.ts";
import { ISTIO_NAMESPACE, istiodDeploymentName, LINKERD_NAMESPACE } from "../emulators/names.ts";
import {
  conflict,
  invalid,
  metadataMapProblems,
  notFound,
  prune,
  requireMergePatch,
  selectorProblems,
} from "./apiserver-rules.ts";
import { asSent, isJsonObject, type Json, mergePatch } from "./merge-patch.ts";
import { admitPod, type InstalledInjector, istioInjector, linkerdInjector } from "./model-admission.ts";

export interface ModelOptions {
  /** Istio revisions installed (istiod + injector webhook each), e.g. ["default", "canary"]; none: no Istio. */
  istioRevisions?: string[];
  /** Installs Linkerd's control plane and proxy injector. */
  linkerd?: boolean;
  /** Installs Istio ambient (ztunnel, istio-cni-node) and runs istio-cni's redirection on tick(). */
  ambient?: boolean;
  /** Timestamps (creationTimestamp, deletionTimestamp); a fixed date unless given. Never read for timing. */
  now?: () => Date;
  /** The injectors' native-sidecar default (the emulators' default: true). */
  nativeSidecars?: boolean;
  /**
   * Rollouts replace pods one change at a time, as a workload controller does (an old pod
   * terminating, then gone, a new pod admitted, the workload's status counting it), one change per
   * rollout per tick, rather than all at once: each change is its own event for whoever watches.
   */
  podByPodRollouts?: boolean;
}

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

export interface WorkloadSpec {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** Pods: replicas for a Deployment or StatefulSet, nodes (so pods) for a DaemonSet. */
  replicas: number;
  /** Pod-template labels; `app: <name>` is added unless given (the selector is `app`). */
  templateLabels?: Record<string, string>;
  templateAnnotations?: Record<string, string>;
  hostNetwork?: boolean;
}

export type ModelWrite =
  | {
      kind: "Namespace";
      name: string;
      labels: Record<string, string | null>;
      annotations: Record<string, string | null>;
    }
  | {
      kind: WorkloadKind;
      namespace: string;
      name: string;
      workloadAnnotations: Record<string, string | null>;
      templateLabels: Record<string, string | null>;
      templateAnnotations: Record<string, string | null>;
    }
  // Two members rather than one with a union kind, so `kind === "MeshMigration" || ...` narrows.
  | { kind: "MeshMigrationStatus"; name: string }
  | { kind: "MeshMigration"; name: string };

export interface RecordedEvent {
  target: string;
  type: string;
  reason: string;
  message: string;
}

/** Stands in for EventRecorder (pass it `as any`: the real class has private fields). */
export interface ModelEvents {
  record(target: { name: string; uid: string }, event: StepEvent): Promise<void>;
  readonly recorded: RecordedEvent[];
}

export type ModelClients = ExecutorClients & { custom: k8s.CustomObjectsApi };

type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;
/** A rollout in progress; with pod-by-pod rollouts, the changes still to come, in order. */
type Rollout = { kind: WorkloadKind; namespace: string; name: string; steps?: Array<() => void> };
type Metadata = k8s.V1ObjectMeta;

const DEFAULT_TIME = "2025-01-01T00:00:00Z";
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const MIGRATIONS_RESOURCE = `${PLURAL}.${GROUP}`;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

let statusSchema: ReturnType<typeof buildOpenApiSchema> | undefined;
/** The CRD's schema for .status, built once (the apiserver prunes to it). */
function migrationStatusSchema() {
  statusSchema ??= buildOpenApiSchema();
  return statusSchema.properties?.status;
}

// ---------------------------------------------------------------------------------------------
// Storage

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A mutable deep copy of a stored (frozen) object. */
function thaw<T>(value: T): T {
  return structuredClone(value);
}

/** A mutable copy without .status: what a write to the main resource may touch. */
function withoutStatus<T extends { status?: unknown }>(object: T): Omit<T, "status"> {
  const { status: _status, ...rest } = thaw(object);
  return rest;
}

/** What a change notification names: the kinds the operator's informers watch. */
export type ModelKind =
  | "MeshMigration"
  | "Namespace"
  | "Pod"
  | "Deployment"
  | "StatefulSet"
  | "DaemonSet"
  | "MutatingWebhookConfiguration";

/** Called after every stored change (add, update, delete), as an informer's change handler is. */
export type ModelChangeListener = (kind: ModelKind, object: k8s.KubernetesObject) => void;

/** An informer-like store: what `caches` hands out. Objects are frozen and replaced, never changed. */
class ObjectStore<T extends k8s.KubernetesObject> implements Cache<T> {
  readonly #objects = new Map<string, T>();
  readonly #kind: ModelKind;
  readonly #changed: ModelChangeListener;

  constructor(kind: ModelKind, changed: ModelChangeListener) {
    this.#kind = kind;
    this.#changed = changed;
  }

  static #key(name: string, namespace: string | undefined): string {
    return `${namespace ?? ""}/${name}`;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(ObjectStore.#key(name, namespace));
  }

  list(namespace?: string): readonly T[] {
    const all = [...this.#objects.values()];
    return namespace ? all.filter((o) => o.metadata?.namespace === namespace) : all;
  }

  put(object: T): T {
    const stored = deepFreeze(structuredClone(object));
    this.#objects.set(ObjectStore.#key(stored.metadata?.name ?? "", stored.metadata?.namespace), stored);
    this.#changed(this.#kind, stored);
    return stored;
  }

  delete(name: string, namespace?: string): void {
    const key = ObjectStore.#key(name, namespace);
    const stored = this.#objects.get(key);
    this.#objects.delete(key);
    if (stored) this.#changed(this.#kind, stored);
  }
}

/** Empty label and annotation maps are omitted, as the apiserver serialises them. */
function withoutEmptyMaps<M extends { labels?: unknown; annotations?: unknown }>(metadata: M): M {
  const out = { ...metadata };
  for (const key of ["labels", "annotations"] as const) {
    const map = out[key];
    if (map === undefined || map === null || (isJsonObject(map) && Object.keys(map).length === 0)) {
      delete out[key];
    }
  }
  return out;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isJsonObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

function templateHash(template: k8s.V1PodTemplateSpec | undefined): string {
  return createHash("sha256").update(stableJson(template)).digest("hex").slice(0, 10);
}

function mapOf(value: unknown): Record<string, string | null> {
  return isJsonObject(value) ? (structuredClone(value) as Record<string, string | null>) : {};
}

function field(value: Json | undefined, ...path: string[]): Json | undefined {
  let current = value;
  for (const key of path) current = isJsonObject(current) ? current[key] : undefined;
  return current;
}

/** The body's metadata.resourceVersion, when it sets one: the write's precondition. */
function checkPrecondition(body: Json, stored: k8s.KubernetesObject, resource: string): void {
  const wanted = field(body, "metadata", "resourceVersion");
  if (typeof wanted === "string" && wanted !== "" && wanted !== stored.metadata?.resourceVersion) {
    throw conflict(resource, stored.metadata?.name ?? "");
  }
}

/** A client whose every other method throws, naming itself, so a new call shows up at once. */
function partialClient<T extends object>(
  name: string,
  api: { prototype: object },
  methods: Record<string, (...args: never[]) => Promise<unknown>>,
): T {
  return new Proxy(methods, {
    get(target, property) {
      if (typeof property === "string" && Object.hasOwn(target, property)) return target[property];
      if (typeof property === "string" && property in api.prototype) {
        return () => {
          throw new Error(
            `ModelCluster: ${name}.${property} is not implemented by the model (it implements ${Object.keys(methods).join(", ")})`,
          );
        };
      }
      return undefined;
    },
  }) as unknown as T;
}

// ---------------------------------------------------------------------------------------------
// Workload status, as the controllers write it

function workloadKey(kind: WorkloadKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function rolledOutStatus(kind: WorkloadKind, w: Workload, desired: number): Workload["status"] {
  const observedGeneration = w.metadata?.generation ?? 1;
  const revision = `${w.metadata?.name}-${templateHash(w.spec?.template)}`;
  switch (kind) {
    case "Deployment":
      return {
        observedGeneration,
        replicas: desired,
        updatedReplicas: desired,
        readyReplicas: desired,
        availableReplicas: desired,
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
          { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
        ],
      } satisfies k8s.V1DeploymentStatus;
    case "StatefulSet":
      return {
        observedGeneration,
        replicas: desired,
        readyReplicas: desired,
        currentReplicas: desired,
        updatedReplicas: desired,
        availableReplicas: desired,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      } satisfies k8s.V1StatefulSetStatus;
    case "DaemonSet":
      return {
        observedGeneration,
        desiredNumberScheduled: desired,
        currentNumberScheduled: desired,
        numberReady: desired,
        updatedNumberScheduled: desired,
        numberAvailable: desired,
        numberMisscheduled: 0,
      } satisfies k8s.V1DaemonSetStatus;
  }
}

/** Right after a template change: the controller has not caught up, no pod is updated yet. */
function rollingStatus(kind: WorkloadKind, w: Workload): Workload["status"] {
  const status = { ...(w.status ?? {}) } as Record<string, unknown>;
  if (kind === "DaemonSet") status.updatedNumberScheduled = 0;
  else status.updatedReplicas = 0;
  if (kind === "StatefulSet") status.updateRevision = `${w.metadata?.name}-${templateHash(w.spec?.template)}`;
  return status as Workload["status"];
}

function runningStatus(now: Date): k8s.V1PodStatus {
  const condition = (type: string) => ({ type, status: "True", lastTransitionTime: now });
  return {
    phase: "Running",
    conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(
      condition,
    ),
    startTime: now,
  };
}

// ---------------------------------------------------------------------------------------------

export class ModelCluster {
  readonly #listeners = new Set<ModelChangeListener>();
  readonly #changed: ModelChangeListener = (kind, object) => {
    for (const listener of this.#listeners) listener(kind, object);
  };
  readonly #migrations = new ObjectStore<MeshMigrationObject>("MeshMigration", this.#changed);
  readonly #namespaces = new ObjectStore<k8s.V1Namespace>("Namespace", this.#changed);
  readonly #pods = new ObjectStore<k8s.V1Pod>("Pod", this.#changed);
  readonly #deployments = new ObjectStore<k8s.V1Deployment>("Deployment", this.#changed);
  readonly #statefulSets = new ObjectStore<k8s.V1StatefulSet>("StatefulSet", this.#changed);
  readonly #daemonSets = new ObjectStore<k8s.V1DaemonSet>("DaemonSet", this.#changed);
  readonly #webhooks = new ObjectStore<k8s.V1MutatingWebhookConfiguration>(
    "MutatingWebhookConfiguration",
    this.#changed,
  );

  readonly #now: () => Date;
  readonly #injectors: InstalledInjector[];
  readonly #ambient: boolean;
  /** Rollouts in progress, in the order they started. */
  readonly #rollouts = new Map<string, Rollout>();
  readonly #podByPod: boolean;
  /** How many nodes run each DaemonSet (its pods). */
  readonly #daemonSetNodes = new Map<string, number>();
  readonly #replicaSetUids = new Map<string, string>();
  #resourceVersion = 0;
  #uids = 0;
  #podSerial = 0;

  readonly caches: ClusterCaches = {
    migrations: this.#migrations,
    namespaces: this.#namespaces,
    pods: this.#pods,
    deployments: this.#deployments,
    statefulSets: this.#statefulSets,
    daemonSets: this.#daemonSets,
    webhooks: this.#webhooks,
  };

  /** Every write through `clients` the apiserver accepted, in order (no-op patches included). */
  readonly writes: ModelWrite[] = [];

  readonly events: ModelEvents = {
    recorded: [],
    record: async (target, event) => {
      this.events.recorded.push({
        target: target.name,
        type: event.type,
        reason: event.reason,
        message: event.message,
      });
    },
  };

  readonly clients: ModelClients;

  constructor(options: ModelOptions) {
    this.#now = options.now ?? (() => new Date(DEFAULT_TIME));
    const revisions = [...new Set(options.istioRevisions ?? [])];
    const native = options.nativeSidecars ?? true;
    this.#ambient = options.ambient === true;
    this.#podByPod = options.podByPodRollouts === true;
    this.#injectors = [
      ...revisions.map((revision) => istioInjector(revision, native)),
      ...(options.linkerd ? [linkerdInjector(native)] : []),
    ];
    this.#installControlPlanes(revisions, options.linkerd === true, this.#ambient);

    this.clients = {
      core: partialClient<k8s.CoreV1Api>("core", k8s.CoreV1Api, {
        patchNamespace: async (
          param: k8s.CoreV1ApiPatchNamespaceRequest,
          options?: k8s.ConfigurationOptions,
        ) => this.#patchNamespace(param, options),
      }),
      apps: partialClient<k8s.AppsV1Api>("apps", k8s.AppsV1Api, {
        patchNamespacedDeployment: async (
          param: k8s.AppsV1ApiPatchNamespacedDeploymentRequest,
          options?: k8s.ConfigurationOptions,
        ) => this.#patchWorkload("Deployment", param, options),
        patchNamespacedStatefulSet: async (
          param: k8s.AppsV1ApiPatchNamespacedStatefulSetRequest,
          options?: k8s.ConfigurationOptions,
        ) => this.#patchWorkload("StatefulSet", param, options),
        patchNamespacedDaemonSet: async (
          param: k8s.AppsV1ApiPatchNamespacedDaemonSetRequest,
          options?: k8s.ConfigurationOptions,
        ) => this.#patchWorkload("DaemonSet", param, options),
      }),
      custom: partialClient<k8s.CustomObjectsApi>("custom", k8s.CustomObjectsApi, {
        patchClusterCustomObject: async (
          param: k8s.CustomObjectsApiPatchClusterCustomObjectRequest,
          options?: k8s.ConfigurationOptions,
        ) => this.#patchMigration(param, options),
        patchClusterCustomObjectStatus: async (
          param: k8s.CustomObjectsApiPatchClusterCustomObjectStatusRequest,
          options?: k8s.ConfigurationOptions,
        ) => this.#patchMigrationStatus(param, options),
      }),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Building the cluster (the test's own hand: not recorded in `writes`)

  addNamespace(
    name: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
    options: { terminating?: boolean } = {},
  ): void {
    if (!DNS_LABEL.test(name) || name.length > 63)
      throw new Error(`namespace name "${name}" is not a DNS label`);
    if (this.#namespaces.get(name)) throw new Error(`namespace ${name} exists already`);
    const problems = metadataMapProblems("metadata", labels, annotations);
    if (problems.length > 0) throw new Error(`namespace ${name}: ${problems.join("; ")}`);
    const now = this.#now();
    this.#namespaces.put({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: withoutEmptyMaps({
        name,
        uid: this.#uid(),
        resourceVersion: this.#nextResourceVersion(),
        creationTimestamp: now,
        ...(options.terminating ? { deletionTimestamp: now } : {}),
        labels: { ...labels, [NAMESPACE_NAME_LABEL]: name },
        annotations: { ...annotations },
      }),
      spec: { finalizers: ["kubernetes"] },
      status: { phase: options.terminating ? "Terminating" : "Active" },
    });
  }

  /**
   * A workload as a running cluster has it: rolled out, its pods created through admission now
   * (with the namespace's current markers), Running, and, with ambient installed, redirected by
   * istio-cni when enrolled (they have been running a while).
   */
  addWorkload(spec: WorkloadSpec): void {
    const { kind, namespace, name } = spec;
    if (!this.#namespaces.get(namespace)) throw new Error(`namespace ${namespace} does not exist`);
    if (!DNS_LABEL.test(name)) throw new Error(`${kind} name "${name}" is not a DNS label`);
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0) {
      throw new Error(`${kind} ${namespace}/${name}: replicas must be a whole number >= 0`);
    }
    if (this.#workloads(kind).get(name, namespace))
      throw new Error(`${kind} ${namespace}/${name} exists already`);
    const labels = { app: name, ...(spec.templateLabels ?? {}) };
    const annotations = { ...(spec.templateAnnotations ?? {}) };
    const selector = { matchLabels: { app: labels.app } };
    const problems = [
      ...metadataMapProblems("spec.template.metadata", labels, annotations),
      ...selectorProblems(selector, labels),
    ];
    if (problems.length > 0) throw new Error(`${kind} ${namespace}/${name}: ${problems.join("; ")}`);
    const template: k8s.V1PodTemplateSpec = {
      metadata: withoutEmptyMaps({ labels, annotations }),
      spec: {
        containers: [
          { name: "app", image: `example.com/${name}:1`, ports: [{ name: "http", containerPort: 8080 }] },
        ],
        ...(spec.hostNetwork ? { hostNetwork: true } : {}),
      },
    };
    const metadata: Metadata = {
      name,
      namespace,
      uid: this.#uid(),
      resourceVersion: this.#nextResourceVersion(),
      generation: 1,
      creationTimestamp: this.#now(),
      labels: { app: labels.app },
    };
    let workload: Workload;
    switch (kind) {
      case "Deployment":
        workload = {
          apiVersion: "apps/v1",
          kind,
          metadata,
          spec: {
            replicas: spec.replicas,
            selector,
            template,
            strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
          },
        } satisfies k8s.V1Deployment;
        break;
      case "StatefulSet":
        workload = {
          apiVersion: "apps/v1",
          kind,
          metadata,
          spec: {
            replicas: spec.replicas,
            selector,
            serviceName: name,
            template,
            podManagementPolicy: "OrderedReady",
            updateStrategy: { type: "RollingUpdate" },
          },
        } satisfies k8s.V1StatefulSet;
        break;
      case "DaemonSet":
        workload = {
          apiVersion: "apps/v1",
          kind,
          metadata,
          spec: { selector, template, updateStrategy: { type: "RollingUpdate" } },
        } satisfies k8s.V1DaemonSet;
        this.#daemonSetNodes.set(workloadKey(kind, namespace, name), spec.replicas);
        break;
    }
    workload.status = rolledOutStatus(kind, workload, spec.replicas);
    this.#putWorkload(kind, workload);
    const created = this.#createPods(kind, workload);
    this.#istioCniPass(new Set(created));
  }

  /** A Job's pod (`jobName`) or a bare pod: admitted, Running; the operator never restarts these. */
  addUnmanagedPod(namespace: string, name: string, options: { jobName?: string } = {}): void {
    if (!this.#namespaces.get(namespace)) throw new Error(`namespace ${namespace} does not exist`);
    if (this.#pods.get(name, namespace)) throw new Error(`pod ${namespace}/${name} exists already`);
    const job = options.jobName;
    const jobUid = job === undefined ? undefined : this.#uid();
    const pod = this.#createPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace,
        labels:
          job === undefined
            ? { app: name }
            : {
                "batch.kubernetes.io/controller-uid": jobUid ?? "",
                "batch.kubernetes.io/job-name": job,
                "controller-uid": jobUid ?? "",
                "job-name": job,
              },
        ...(job === undefined
          ? {}
          : {
              ownerReferences: [
                {
                  apiVersion: "batch/v1",
                  kind: "Job",
                  name: job,
                  uid: jobUid ?? "",
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            }),
      },
      spec: {
        containers: [{ name: "app", image: `example.com/${job ?? name}:1` }],
        ...(job === undefined ? {} : { restartPolicy: "Never" }),
      },
    });
    this.#istioCniPass(new Set([this.#podKey(pod)]));
  }

  /** Calls `listener` after every change stored from now on (an informer's change events); returns an unsubscribe. */
  onChange(listener: ModelChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The operator's real reconciler, wired to this cluster (a silent log; the clock is the caller's). */
  reconciler(now: () => Date, deps: Partial<ReconcilerDeps> = {}): MigrationReconciler {
    return new MigrationReconciler({
      caches: this.caches,
      clients: this.clients,
      events: this.events as unknown as EventRecorder,
      log: pino({ level: "silent" }),
      now,
      ...deps,
    });
  }

  /** A user's edit of a namespace (kubectl label/annotate): a new resourceVersion, as on the apiserver. */
  editNamespace(name: string, mutate: (ns: k8s.V1Namespace) => void): void {
    const stored = this.#namespaces.get(name);
    if (!stored) throw new Error(`namespace ${name} does not exist`);
    const next = thaw(stored);
    mutate(next);
    next.metadata = { ...next.metadata, resourceVersion: this.#nextResourceVersion() };
    this.#namespaces.put(next);
  }

  addMigration(name: string, spec: unknown, labels?: Record<string, string>): void {
    if (this.#migrations.get(name)) throw new Error(`MeshMigration ${name} exists already`);
    this.#migrations.put({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        uid: this.#uid(),
        resourceVersion: this.#nextResourceVersion(),
        generation: 1,
        creationTimestamp: this.#timestamp() as unknown as Date,
        ...(labels && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
      },
      spec: asSent(spec),
    });
  }

  /** A user's edit of the spec: metadata.generation goes up when the spec changed, as on the apiserver. */
  // biome-ignore lint/suspicious/noExplicitAny: the spec is whatever the test writes, valid or not
  setMigrationSpec(name: string, mutate: (spec: any) => void): void {
    const stored = this.#migrations.get(name);
    if (!stored) throw new Error(`MeshMigration ${name} does not exist`);
    const spec = thaw(stored.spec ?? {});
    mutate(spec);
    const sent = asSent(spec);
    if (isDeepStrictEqual(sent, stored.spec)) return;
    const next = thaw(stored);
    next.spec = sent;
    next.metadata = {
      ...next.metadata,
      generation: (stored.metadata?.generation ?? 0) + 1,
      resourceVersion: this.#nextResourceVersion(),
    };
    this.#migrations.put(next);
  }

  /** `kubectl delete`: with finalizers it gets a deletionTimestamp (once), else it is gone. */
  deleteMigration(name: string): void {
    const stored = this.#migrations.get(name);
    if (!stored) throw new Error(`MeshMigration ${name} does not exist`);
    if ((stored.metadata?.finalizers ?? []).length === 0) {
      this.#migrations.delete(name);
      return;
    }
    if (stored.metadata?.deletionTimestamp) return;
    const next = thaw(stored);
    next.metadata = {
      ...next.metadata,
      deletionTimestamp: this.#timestamp() as unknown as Date,
      resourceVersion: this.#nextResourceVersion(),
    };
    this.#migrations.put(next);
  }

  // -------------------------------------------------------------------------------------------
  // Time

  /** Whether some rollout is still in progress that tick() can complete (see tick for terminating namespaces). */
  get rolling(): boolean {
    return [...this.#rollouts.values()].some((r) => this.#canComplete(r.namespace));
  }

  /**
   * One step of the cluster: each rollout in progress, in the order they started, completes when
   * `random()` (one draw each) is below `completeProbability`: its old pods go, new pods are
   * admitted with the workload's current template and the namespace's current labels and
   * annotations, and its status reads rolled out. Then, with ambient installed, istio-cni's pass
   * over the pods (redirection on or off per istio-cni.ts). A rollout in a terminating namespace
   * never completes (the apiserver refuses new pods there) and draws nothing.
   */
  tick(random: () => number, completeProbability = 1): void {
    for (const [key, rollout] of [...this.#rollouts]) {
      if (!this.#canComplete(rollout.namespace)) continue;
      if (random() >= completeProbability) continue;
      if (this.#podByPod) this.#advanceRollout(key, rollout);
      else this.#completeRollout(key, rollout);
    }
    this.#istioCniPass();
  }

  /** Completes every rollout in progress (as tick with probability 1, pod by pod or not), then istio-cni's pass. */
  settle(): void {
    do this.tick(() => 0, 1);
    while (this.#podByPod && this.rolling);
  }

  // -------------------------------------------------------------------------------------------
  // Internals: identity

  #nextResourceVersion(): string {
    this.#resourceVersion += 1;
    return String(this.#resourceVersion);
  }

  #uid(): string {
    this.#uids += 1;
    return `00000000-0000-4000-8000-${this.#uids.toString(16).padStart(12, "0")}`;
  }

  /** RFC 3339 in seconds, as the apiserver writes timestamps in untyped (custom) objects. */
  #timestamp(): string {
    return this.#now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z");
  }

  #workloads(kind: WorkloadKind): ObjectStore<Workload> {
    switch (kind) {
      case "Deployment":
        return this.#deployments as ObjectStore<Workload>;
      case "StatefulSet":
        return this.#statefulSets as ObjectStore<Workload>;
      case "DaemonSet":
        return this.#daemonSets as ObjectStore<Workload>;
    }
  }

  #putWorkload(kind: WorkloadKind, workload: Workload): Workload {
    return this.#workloads(kind).put(workload);
  }

  #desiredPods(kind: WorkloadKind, w: Workload): number {
    if (kind === "DaemonSet") {
      return (
        this.#daemonSetNodes.get(workloadKey(kind, w.metadata?.namespace ?? "", w.metadata?.name ?? "")) ?? 0
      );
    }
    return (w.spec as k8s.V1DeploymentSpec | k8s.V1StatefulSetSpec | undefined)?.replicas ?? 1;
  }

  #podKey(pod: k8s.V1Pod): string {
    return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  }

  #canComplete(namespace: string): boolean {
    const ns = this.#namespaces.get(namespace);
    return ns !== undefined && !ns.metadata?.deletionTimestamp;
  }

  // -------------------------------------------------------------------------------------------
  // Internals: control planes, pods, rollouts, istio-cni

  #installControlPlanes(revisions: readonly string[], linkerd: boolean, ambient: boolean): void {
    const istiods = new Set(revisions.map(istiodDeploymentName));
    const ambientDaemonSets = new Set(["ztunnel", "istio-cni-node"]);
    const wanted = (object: k8s.KubernetesObject): boolean => {
      const name = object.metadata?.name ?? "";
      const namespace = object.kind === "Namespace" ? name : object.metadata?.namespace;
      if (namespace === LINKERD_NAMESPACE) return linkerd;
      if (namespace !== ISTIO_NAMESPACE) return false;
      if (object.kind === "Namespace") return istiods.size > 0 || ambient;
      if (object.kind === "Deployment") return istiods.has(name);
      if (object.kind === "DaemonSet") return ambient && ambientDaemonSets.has(name);
      return false;
    };
    const seen = new Set<string>();
    for (const object of controlPlaneObjects(revisions).filter(wanted)) {
      const key = `${object.kind}/${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (object.kind === "Namespace") {
        const ns = object as k8s.V1Namespace;
        this.addNamespace(ns.metadata?.name ?? "", ns.metadata?.labels, ns.metadata?.annotations);
        continue;
      }
      const kind = object.kind as "Deployment" | "DaemonSet";
      const workload = thaw(object) as Workload;
      workload.metadata = {
        ...workload.metadata,
        uid: this.#uid(),
        resourceVersion: this.#nextResourceVersion(),
        generation: 1,
        creationTimestamp: this.#now(),
      };
      if (kind === "DaemonSet") this.#daemonSetNodes.set(key, 1);
      workload.status = rolledOutStatus(kind, workload, 1);
      this.#putWorkload(kind, workload);
    }
    for (const injector of this.#injectors) {
      this.#webhooks.put({
        ...injector.configuration,
        metadata: {
          ...injector.configuration.metadata,
          uid: this.#uid(),
          resourceVersion: this.#nextResourceVersion(),
          generation: 1,
          creationTimestamp: this.#now(),
        },
      });
    }
  }

  /** What the workload's controller creates for its current template; returns the pods' keys. */
  #createPods(kind: WorkloadKind, w: Workload): string[] {
    const created: string[] = [];
    for (let i = 0; i < this.#desiredPods(kind, w); i++)
      created.push(this.#podKey(this.#createWorkloadPod(kind, w, i)));
    return created;
  }

  /** The workload's controller creates its pod number `i` for its current template. */
  #createWorkloadPod(kind: WorkloadKind, w: Workload, i: number): k8s.V1Pod {
    const namespace = w.metadata?.namespace ?? "";
    const name = w.metadata?.name ?? "";
    const template = w.spec?.template;
    const hash = templateHash(template);
    const labels = { ...(template?.metadata?.labels ?? {}) };
    const annotations = { ...(template?.metadata?.annotations ?? {}) };
    const owner = (ownerKind: string, ownerName: string, uid: string): k8s.V1OwnerReference => ({
      apiVersion: "apps/v1",
      kind: ownerKind,
      name: ownerName,
      uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    let metadata: Metadata;
    let nodeName: string | undefined;
    switch (kind) {
      case "Deployment": {
        const replicaSet = `${name}-${hash}`;
        let uid = this.#replicaSetUids.get(`${namespace}/${replicaSet}`);
        if (uid === undefined) {
          uid = this.#uid();
          this.#replicaSetUids.set(`${namespace}/${replicaSet}`, uid);
        }
        metadata = {
          generateName: `${replicaSet}-`,
          labels: { ...labels, "pod-template-hash": hash },
          ownerReferences: [owner("ReplicaSet", replicaSet, uid)],
        };
        break;
      }
      case "StatefulSet": {
        const podName = `${name}-${i}`;
        metadata = {
          name: podName,
          labels: {
            ...labels,
            "apps.kubernetes.io/pod-index": String(i),
            "controller-revision-hash": `${name}-${hash}`,
            "statefulset.kubernetes.io/pod-name": podName,
          },
          ownerReferences: [owner("StatefulSet", name, w.metadata?.uid ?? "")],
        };
        break;
      }
      case "DaemonSet":
        nodeName = `node-${i + 1}`;
        metadata = {
          generateName: `${name}-`,
          labels: {
            ...labels,
            "controller-revision-hash": hash,
            "pod-template-generation": String(w.metadata?.generation ?? 1),
          },
          ownerReferences: [owner("DaemonSet", name, w.metadata?.uid ?? "")],
        };
        break;
    }
    return this.#createPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { ...metadata, namespace, annotations },
      spec: { ...thaw(template?.spec ?? { containers: [] }), ...(nodeName ? { nodeName } : {}) },
    });
  }

  /** A pod CREATE: mutating admission, then the apiserver names and stores it; it runs at once. */
  #createPod(pod: k8s.V1Pod): k8s.V1Pod {
    const namespace = this.#namespaces.get(pod.metadata?.namespace ?? "");
    if (!namespace) throw new Error(`namespace ${pod.metadata?.namespace} does not exist`);
    const admitted = admitPod(pod, namespace, this.#injectors);
    let name = admitted.metadata?.name;
    if (!name) {
      this.#podSerial += 1;
      name = `${admitted.metadata?.generateName ?? "pod-"}${this.#podSerial}`;
    }
    const now = this.#now();
    return this.#pods.put({
      ...admitted,
      metadata: withoutEmptyMaps({
        ...admitted.metadata,
        name,
        uid: this.#uid(),
        resourceVersion: this.#nextResourceVersion(),
        creationTimestamp: now,
      }),
      status: runningStatus(now),
    });
  }

  /**
   * One change of a pod-by-pod rollout: for each pod, the old one terminates, then goes, then its
   * replacement is admitted with the template and the namespace as they are now and the
   * workload's status counts it; last, the status reads rolled out.
   */
  #advanceRollout(key: string, rollout: Rollout): void {
    const { kind, namespace, name } = rollout;
    const current = () => this.#workloads(kind).get(name, namespace);
    if (!rollout.steps) {
      const w = current();
      if (!w) {
        this.#rollouts.delete(key);
        return;
      }
      const old = this.#pods.list(namespace).filter((pod) => {
        const owner = podOwner(pod);
        return typeof owner === "object" && owner.kind === kind && owner.name === name;
      });
      const desired = this.#desiredPods(kind, w);
      const steps: Array<() => void> = [];
      for (let i = 0; i < Math.max(old.length, desired); i++) {
        const pod = old[i];
        if (pod) {
          const podName = pod.metadata?.name ?? "";
          steps.push(() => {
            const stored = this.#pods.get(podName, namespace);
            if (!stored) return;
            const next = thaw(stored);
            next.metadata = {
              ...next.metadata,
              deletionTimestamp: this.#now(),
              resourceVersion: this.#nextResourceVersion(),
            };
            this.#pods.put(next);
          });
          steps.push(() => {
            this.#pods.delete(podName, namespace);
            this.#nextResourceVersion();
          });
        }
        if (i < desired) {
          steps.push(() => {
            const w = current();
            if (w) this.#createWorkloadPod(kind, w, i);
          });
          steps.push(() => {
            const w = current();
            if (!w) return;
            const next = thaw(w);
            const status = { ...(next.status ?? {}), observedGeneration: next.metadata?.generation ?? 1 };
            if (kind === "DaemonSet") Object.assign(status, { updatedNumberScheduled: i + 1 });
            else Object.assign(status, { updatedReplicas: i + 1 });
            next.status = status as Workload["status"];
            next.metadata = { ...next.metadata, resourceVersion: this.#nextResourceVersion() };
            this.#putWorkload(kind, next);
          });
        }
      }
      rollout.steps = steps;
    }
    const step = rollout.steps.shift();
    if (step) {
      step();
      return;
    }
    this.#rollouts.delete(key);
    const w = current();
    if (!w) return;
    const next = thaw(w);
    next.status = rolledOutStatus(kind, next, this.#desiredPods(kind, next));
    next.metadata = { ...next.metadata, resourceVersion: this.#nextResourceVersion() };
    this.#putWorkload(kind, next);
  }

  #completeRollout(key: string, rollout: Rollout): void {
    this.#rollouts.delete(key);
    const { kind, namespace, name } = rollout;
    const w = this.#workloads(kind).get(name, namespace);
    if (!w) return;
    for (const pod of this.#pods.list(namespace)) {
      const owner = podOwner(pod);
      if (typeof owner === "object" && owner.kind === kind && owner.name === name) {
        this.#pods.delete(pod.metadata?.name ?? "", namespace);
        this.#nextResourceVersion();
      }
    }
    this.#createPods(kind, w);
    const next = thaw(w);
    next.status = rolledOutStatus(kind, next, this.#desiredPods(kind, next));
    next.metadata = { ...next.metadata, resourceVersion: this.#nextResourceVersion() };
    this.#putWorkload(kind, next);
  }

  /** istio-cni: redirection on for running enrolled pods, off for marked pods no longer enrolled. */
  #istioCniPass(only?: ReadonlySet<string>): void {
    if (!this.#ambient) return;
    for (const pod of this.#pods.list()) {
      if (only && !only.has(this.#podKey(pod))) continue;
      const labels = this.#namespaces.get(pod.metadata?.namespace ?? "")?.metadata?.labels ?? {};
      const change = redirectionChange(pod, labels);
      if (change === "keep") continue;
      const next = thaw(pod);
      const annotations = { ...(next.metadata?.annotations ?? {}) };
      if (change === "enable") annotations[REDIRECTION_ANNOTATION] = "enabled";
      else delete annotations[REDIRECTION_ANNOTATION];
      next.metadata = withoutEmptyMaps({
        ...next.metadata,
        annotations,
        resourceVersion: this.#nextResourceVersion(),
      });
      this.#pods.put(next);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Internals: the API

  async #patchNamespace(
    param: k8s.CoreV1ApiPatchNamespaceRequest,
    options?: k8s.ConfigurationOptions,
  ): Promise<k8s.V1Namespace> {
    const { name } = param;
    requireMergePatch(options, `patch namespace ${name}`);
    const body = asSent(param.body);
    const stored = this.#namespaces.get(name);
    if (!stored) throw notFound("namespaces", name);
    checkPrecondition(body, stored, "namespaces");
    const merged = mergePatch(withoutStatus(stored), body) as k8s.V1Namespace;
    const metadata = merged.metadata ?? {};
    const next: k8s.V1Namespace = {
      ...merged,
      metadata: withoutEmptyMaps({
        ...metadata,
        ...this.#identity(stored.metadata),
        // The apiserver keeps this label, whatever the patch says.
        labels: { ...(metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: name },
      }),
      spec: thaw(stored.spec),
      status: thaw(stored.status),
    };
    const problems = metadataMapProblems("metadata", next.metadata?.labels, next.metadata?.annotations);
    if (problems.length > 0) throw invalid("Namespace", name, problems);
    this.writes.push({
      kind: "Namespace",
      name,
      labels: mapOf(field(body, "metadata", "labels")),
      annotations: mapOf(field(body, "metadata", "annotations")),
    });
    return thaw(this.#store(this.#namespaces, stored, next));
  }

  async #patchWorkload(
    kind: WorkloadKind,
    param: { name: string; namespace: string; body: object },
    options?: k8s.ConfigurationOptions,
  ): Promise<Workload> {
    const { name, namespace } = param;
    const resource = `${kind.toLowerCase()}s.apps`;
    requireMergePatch(options, `patch ${kind} ${namespace}/${name}`);
    const body = asSent(param.body);
    const store = this.#workloads(kind);
    const stored = store.get(name, namespace);
    if (!stored) throw notFound(resource, name);
    checkPrecondition(body, stored, resource);
    const merged = mergePatch(withoutStatus(stored), body) as Workload;
    const specChanged = !isDeepStrictEqual(merged.spec, stored.spec);
    const next = {
      ...merged,
      metadata: withoutEmptyMaps({
        ...(merged.metadata ?? {}),
        ...this.#identity(stored.metadata),
        generation: (stored.metadata?.generation ?? 1) + (specChanged ? 1 : 0),
      }),
      status: thaw(stored.status),
    } as Workload;
    if (next.spec?.template?.metadata)
      next.spec.template.metadata = withoutEmptyMaps(next.spec.template.metadata);
    const template = next.spec?.template?.metadata;
    const problems = [
      ...metadataMapProblems("metadata", next.metadata?.labels, next.metadata?.annotations),
      ...metadataMapProblems("spec.template.metadata", template?.labels, template?.annotations),
      ...selectorProblems(next.spec?.selector, template?.labels),
      ...(isDeepStrictEqual(next.spec?.selector, stored.spec?.selector)
        ? []
        : ["spec.selector: field is immutable"]),
    ];
    if (problems.length > 0) throw invalid(kind, name, problems);
    this.writes.push({
      kind,
      namespace,
      name,
      workloadAnnotations: mapOf(field(body, "metadata", "annotations")),
      templateLabels: mapOf(field(body, "spec", "template", "metadata", "labels")),
      templateAnnotations: mapOf(field(body, "spec", "template", "metadata", "annotations")),
    });
    if (specChanged) {
      next.status = rollingStatus(kind, next);
      // A new template restarts a rollout in progress from the pods there are now.
      this.#rollouts.set(workloadKey(kind, namespace, name), { kind, namespace, name });
    }
    return thaw(this.#store(store, stored, next));
  }

  #checkMigrationPath(param: { group: string; version: string; plural: string; name: string }): void {
    if (param.group !== GROUP || param.version !== VERSION || param.plural !== PLURAL) {
      throw notFound(`${param.plural}.${param.group}/${param.version}`, param.name);
    }
  }

  async #patchMigration(
    param: k8s.CustomObjectsApiPatchClusterCustomObjectRequest,
    options?: k8s.ConfigurationOptions,
  ): Promise<MeshMigrationObject> {
    this.#checkMigrationPath(param);
    const { name } = param;
    requireMergePatch(options, `patch MeshMigration ${name}`);
    const body = asSent(param.body);
    const stored = this.#migrations.get(name);
    if (!stored) throw notFound(MIGRATIONS_RESOURCE, name);
    checkPrecondition(body, stored, MIGRATIONS_RESOURCE);
    // The main resource ignores .status (the status subresource is enabled).
    const merged = mergePatch(withoutStatus(stored), body) as MeshMigrationObject;
    const specChanged = !isDeepStrictEqual(merged.spec, stored.spec);
    const next: MeshMigrationObject = {
      ...merged,
      metadata: withoutEmptyMaps({
        ...(merged.metadata ?? {}),
        ...this.#identity(stored.metadata),
        generation: (stored.metadata?.generation ?? 1) + (specChanged ? 1 : 0),
      }),
    };
    if (stored.status !== undefined) next.status = thaw(stored.status);
    const finalizers: unknown = next.metadata?.finalizers;
    const problems = [
      ...metadataMapProblems("metadata", next.metadata?.labels, next.metadata?.annotations),
      ...(finalizers === undefined ||
      (Array.isArray(finalizers) && finalizers.every((f) => typeof f === "string" && f !== ""))
        ? []
        : ["metadata.finalizers: must be a list of names"]),
    ];
    if (problems.length > 0) throw invalid(KIND, name, problems);
    this.writes.push({ kind: "MeshMigration", name });
    if (next.metadata?.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      // The last finalizer gone from an object being deleted: the apiserver removes it.
      this.#migrations.delete(name);
      return next;
    }
    return thaw(this.#store(this.#migrations, stored, next));
  }

  async #patchMigrationStatus(
    param: k8s.CustomObjectsApiPatchClusterCustomObjectStatusRequest,
    options?: k8s.ConfigurationOptions,
  ): Promise<MeshMigrationObject> {
    this.#checkMigrationPath(param);
    const { name } = param;
    requireMergePatch(options, `patch MeshMigration ${name} status`);
    const body = asSent(param.body);
    const stored = this.#migrations.get(name);
    if (!stored) throw notFound(MIGRATIONS_RESOURCE, name);
    checkPrecondition(body, stored, MIGRATIONS_RESOURCE);
    // The status subresource ignores everything but .status.
    const patched =
      isJsonObject(body) && "status" in body ? mergePatch(stored.status, body.status) : stored.status;
    const status =
      patched === undefined || patched === null ? undefined : prune(patched as Json, migrationStatusSchema());
    if (status !== undefined) {
      const parsed = MeshMigrationStatusSchema.safeParse(status);
      if (!parsed.success) {
        throw invalid(
          KIND,
          name,
          parsed.error.issues.map((issue) => `status.${issue.path.join(".")}: ${issue.message}`),
        );
      }
    }
    this.writes.push({ kind: "MeshMigrationStatus", name });
    const next = thaw(stored);
    if (status === undefined) delete next.status;
    else next.status = status as MeshMigrationObject["status"];
    return thaw(this.#store(this.#migrations, stored, next));
  }

  /** What a patch can never change. */
  #identity(metadata: Metadata | undefined): Metadata {
    const keep: Metadata = {
      name: metadata?.name,
      uid: metadata?.uid,
      resourceVersion: metadata?.resourceVersion,
      creationTimestamp: metadata?.creationTimestamp,
    };
    if (metadata?.namespace !== undefined) keep.namespace = metadata.namespace;
    if (metadata?.generation !== undefined) keep.generation = metadata.generation;
    if (metadata?.deletionTimestamp !== undefined) keep.deletionTimestamp = metadata.deletionTimestamp;
    return keep;
  }

  /** Stores `next` with a new resourceVersion, unless it equals what is stored (a no-op write). */
  #store<T extends k8s.KubernetesObject>(store: ObjectStore<T>, stored: T, next: T): T {
    if (isDeepStrictEqual(next, thaw(stored))) return stored;
    next.metadata = { ...next.metadata, resourceVersion: this.#nextResourceVersion() };
    return store.put(next);
  }
}
