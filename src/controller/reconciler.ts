// One reconcile of one MeshMigration, from its name: re-read everything from the
// caches, plan with the pure planner, carry out the actions, publish status.
// It never depends on which event woke it, and never changes a cached object.
import type * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { GROUP, PLURAL, VERSION } from "../api/constants.ts";
import { parseSpec } from "../api/schema.ts";
import { driverFor } from "../meshes/registry.ts";
import type { Condition } from "./conditions.ts";
import { mergeConditions, newlyRaised } from "./conditions.ts";
import { bookkeepingOf, finalizersWith, releaseBookkeeping } from "./deletion.ts";
import type { EventRecorder } from "./events.ts";
import { type ExecutorClients, executeAction, MERGE_PATCH } from "./executor.ts";
import type { NamespaceFacts } from "./facts.ts";
import type { FaultHook } from "./fault-injection.ts";
import {
  controlPlaneFacts,
  daemonSetFacts,
  deploymentFacts,
  namespaceFacts,
  podObservation,
  statefulSetFacts,
} from "./observe.ts";
import { type MigrationPlan, type MigrationSpecView, planMigration } from "./plan.ts";

/** Read-only access to an informer cache. */
export interface Cache<T> {
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export interface ClusterCaches {
  migrations: Cache<MeshMigrationObject>;
  namespaces: Cache<k8s.V1Namespace>;
  pods: Cache<k8s.V1Pod>;
  deployments: Cache<k8s.V1Deployment>;
  statefulSets: Cache<k8s.V1StatefulSet>;
  daemonSets: Cache<k8s.V1DaemonSet>;
  webhooks: Cache<k8s.V1MutatingWebhookConfiguration>;
}

export interface MeshMigrationObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: {
    conditions?: Condition[];
    namespaces?: Array<{ name: string; phase: string }>;
    [key: string]: unknown;
  };
}

export interface ReconcilerDeps {
  caches: ClusterCaches;
  clients: ExecutorClients & { custom: k8s.CustomObjectsApi };
  events: EventRecorder;
  log: Logger;
  /** Reports per-migration gauges (namespaces by phase, double-meshed pods). */
  observeStatus?: (name: string, status: MigrationPlan["status"] | undefined) => void;
  now?: () => Date;
  /** Called after each step succeeds (test-only fault injection). */
  afterStep?: FaultHook;
}

export interface ReconcileResult {
  requeueAfterMs?: number | undefined;
}

export class MigrationReconciler {
  readonly #deps: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const { caches, log } = this.#deps;
    const migration = caches.migrations.get(name);
    if (!migration) {
      this.#deps.observeStatus?.(name, undefined);
      return {};
    }
    const generation = migration.metadata?.generation ?? 0;
    const now = this.#deps.now?.() ?? new Date();
    const target = { name, uid: migration.metadata?.uid ?? "" };

    if (migration.metadata?.deletionTimestamp) {
      await this.#finalize(migration);
      return {};
    }
    const finalizers = finalizersWith(migration.metadata?.finalizers, true);
    if (finalizers) {
      // Added before anything is changed, so a deletion always lets the operator clean up first.
      await this.#patchFinalizers(migration, finalizers);
      return { requeueAfterMs: 0 };
    }

    const parsed = parseSpec(migration.spec);
    if (!parsed.ok) {
      await this.#publishInvalid(migration, parsed.errors, generation, now);
      return {};
    }
    const spec = parsed.spec as MigrationSpecView & { dryRun?: boolean };

    const namespaces = new Map<string, NamespaceFacts>(
      caches.namespaces.list().map((ns) => [ns.metadata?.name ?? "", namespaceFacts(ns)]),
    );
    const lookup = {
      deployment: (ns: string, n: string) => caches.deployments.get(n, ns),
      daemonSet: (ns: string, n: string) => caches.daemonSets.get(n, ns),
      webhook: (n: string) => caches.webhooks.get(n),
    };
    const targetControlPlane = controlPlaneFacts(
      driverFor(spec.target.mesh).controlPlane(spec.target),
      lookup,
    );
    const sourceControlPlane = controlPlaneFacts(
      driverFor(spec.source.mesh).controlPlane(spec.source),
      lookup,
    );
    const plan = planMigration({
      name,
      generation,
      spec,
      previousConditions: migration.status?.conditions,
      previousNamespacePhases: new Map(
        (migration.status?.namespaces ?? []).map((ns) => [ns.name, ns.phase] as const),
      ),
      namespaces,
      workloadsIn: (ns) => [
        ...caches.deployments.list(ns).map(deploymentFacts),
        ...caches.statefulSets.list(ns).map(statefulSetFacts),
        ...caches.daemonSets.list(ns).map(daemonSetFacts),
      ],
      podsIn: (ns) => caches.pods.list(ns).map(podObservation),
      targetControlPlane,
      sourceControlPlane,
      now,
    });

    // Status first: it reports what was observed; the actions' own Events tell what changed next.
    await this.#publishStatus(migration, { ...plan.status });
    for (const event of plan.events) await this.#deps.events.record(target, event);
    for (const action of plan.actions) {
      log.info({ migration: name, action: action.type, namespace: action.namespace }, action.event.message);
      await executeAction(this.#deps.clients, action);
      await this.#deps.events.record(target, action.event);
      this.#deps.afterStep?.(action.event.reason);
    }
    this.#deps.observeStatus?.(name, plan.status);
    // After acting, look again soon: the caches will show the result.
    return { requeueAfterMs: plan.actions.length > 0 ? 1000 : plan.requeueAfterMs };
  }

  async #finalize(migration: MeshMigrationObject): Promise<void> {
    const { caches } = this.#deps;
    const name = migration.metadata?.name ?? "";
    const finalizers = finalizersWith(migration.metadata?.finalizers, false);
    if (!finalizers) return;
    const target = bookkeepingOf(
      name,
      caches.namespaces.list().map((ns) => ({
        name: ns.metadata?.name ?? "",
        labels: ns.metadata?.labels ?? {},
        annotations: ns.metadata?.annotations ?? {},
      })),
      (ns) => [
        ...caches.deployments.list(ns).map(deploymentFacts),
        ...caches.statefulSets.list(ns).map(statefulSetFacts),
        ...caches.daemonSets.list(ns).map(daemonSetFacts),
      ],
    );
    await releaseBookkeeping(this.#deps.clients, target);
    this.#deps.log.info(
      { migration: name, namespaces: target.namespaces },
      "MeshMigration deleted: namespaces stay in the mesh they are in; bookkeeping removed",
    );
    await this.#patchFinalizers(migration, finalizers);
  }

  async #patchFinalizers(migration: MeshMigrationObject, finalizers: string[]): Promise<void> {
    await this.#deps.clients.custom.patchClusterCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        name: migration.metadata?.name ?? "",
        body: { metadata: { finalizers, resourceVersion: migration.metadata?.resourceVersion } },
      },
      MERGE_PATCH,
    );
  }

  async #publishStatus(migration: MeshMigrationObject, status: Record<string, unknown>): Promise<void> {
    const current = migration.status ?? {};
    const next = withNulls(status);
    if (sameStatus(current, next)) return;
    await this.#deps.clients.custom.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        name: migration.metadata?.name ?? "",
        body: { status: next },
      },
      MERGE_PATCH,
    );
  }

  async #publishInvalid(
    migration: MeshMigrationObject,
    errors: string[],
    generation: number,
    now: Date,
  ): Promise<void> {
    const message = `The spec is invalid and nothing was changed: ${errors.join("; ")}. Fix the spec; the migration starts once it is valid.`;
    const inputs = [
      { type: "Ready", status: "False" as const, reason: "InvalidSpec", message },
      { type: "InvalidSpec", status: "True" as const, reason: "InvalidSpec", message },
    ];
    const previous = migration.status?.conditions;
    const untouched = (previous ?? []).filter((c) => c.type !== "Ready" && c.type !== "InvalidSpec");
    const conditions = [...mergeConditions(previous, inputs, generation, now), ...untouched];
    await this.#publishStatus(migration, {
      ...migration.status,
      phase: "Failed",
      observedGeneration: generation,
      conditions,
    });
    if (newlyRaised(previous, inputs).length > 0) {
      await this.#deps.events.record(
        { name: migration.metadata?.name ?? "", uid: migration.metadata?.uid ?? "" },
        { type: "Warning", reason: "InvalidSpec", message },
      );
    }
  }
}

/** Optional fields absent from the new status become null, so the merge patch removes them. */
function withNulls(status: Record<string, unknown>): Record<string, unknown> {
  const keys = ["currentBatch"] as const;
  const out: Record<string, unknown> = { ...status };
  for (const key of keys) if (out[key] === undefined) out[key] = null;
  return out;
}

function sameStatus(current: Record<string, unknown>, next: Record<string, unknown>): boolean {
  const normalise = (value: Record<string, unknown>) =>
    JSON.stringify(value, (_key, v) => (v === null ? undefined : v), 0);
  return normalise(sortDeep(current)) === normalise(sortDeep(next));
}

function sortDeep(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) return value.map(sortDeep) as unknown as Record<string, unknown>;
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortDeep(v)]),
    );
  }
  return value as Record<string, unknown>;
}
