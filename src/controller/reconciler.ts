// One reconcile of one MeshMigration, from its name: re-read everything from the
// caches, plan with the pure planner, carry out the actions, publish status.
// It never depends on which event woke it, and never changes a cached object.
import type * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { GROUP, PLURAL, VERSION } from "../api/constants.ts";
import {
  type MeshMigrationStatus,
  type MigrationOutline,
  type MigrationWarning,
  parseSpec,
} from "../api/schema.ts";
import { withComparableRevisions } from "../meshes/registry.ts";
import {
  POLICY_RESOURCES,
  type PolicyObjects,
  policyResourceName as resourceName,
  type UnreadablePolicies,
} from "../preflight/index.ts";
import { describeApiError, statusCode } from "../runtime/api-error.ts";
import { applicationWorkloads, type ClusterReadings, migrationFacts } from "./cluster-facts.ts";
import type { Condition } from "./conditions.ts";
import { mergeConditions, newlyRaised } from "./conditions.ts";
import { bookkeepingOf, finalizersWith, releaseBookkeeping } from "./deletion.ts";
import type { EventRecorder, EventTarget } from "./events.ts";
import { type ExecutorClients, executeAction, MERGE_PATCH } from "./executor.ts";
import type { WorkloadFacts } from "./facts.ts";
import type { FaultHook } from "./fault-injection.ts";
import { planMigration } from "./migration/plan-migration.ts";
import type { MigrationPlan } from "./migration/types.ts";
import { StatusWritesInFlight, statusNeedsWrite } from "./status-writes.ts";
import { planWholeMigration } from "./whole-plan.ts";

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
  /** Mesh policy objects for the preflight (POLICY_RESOURCES); empty when their CRDs are not installed. */
  policies?: Partial<
    Record<keyof PolicyObjects, Cache<k8s.KubernetesObject> & { refusal?(): string | undefined }>
  >;
}

/** "peerauthentications.security.istio.io", for messages. */
function policyResourceName(field: string): string {
  const resource = POLICY_RESOURCES.find((r) => r.field === field);
  return resource ? resourceName(resource) : field;
}

/** The caches as the readings migrationFacts plans from. */
export function cachedReadings(caches: ClusterCaches): ClusterReadings {
  const policies: PolicyObjects = {};
  const unreadablePolicies: UnreadablePolicies[] = [];
  for (const [field, cache] of Object.entries(caches.policies ?? {})) {
    if (!cache) continue;
    policies[field as keyof PolicyObjects] = cache.list();
    const refusal = cache.refusal?.();
    if (refusal !== undefined)
      unreadablePolicies.push({ resource: policyResourceName(field), reason: refusal });
  }
  return {
    namespaces: caches.namespaces.list(),
    deploymentsIn: (ns: string) => caches.deployments.list(ns),
    statefulSetsIn: (ns) => caches.statefulSets.list(ns),
    daemonSetsIn: (ns) => caches.daemonSets.list(ns),
    podsIn: (ns) => caches.pods.list(ns),
    deployment: (ns, name) => caches.deployments.get(name, ns),
    daemonSet: (ns, name) => caches.daemonSets.get(name, ns),
    webhooks: caches.webhooks.list(),
    policies,
    unreadablePolicies,
  };
}

export interface MeshMigrationObject extends k8s.KubernetesObject {
  spec?: unknown;
  /** As the apiserver stores it: pruned to the CRD's status schema. */
  status?: MeshMigrationStatus;
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
  /** Checked before every write: false once this process has lost the leader Lease. */
  stillLeading?: () => boolean;
}

export interface ReconcileResult {
  requeueAfterMs?: number | undefined;
}

export class MigrationReconciler {
  readonly #deps: ReconcilerDeps;
  readonly #statusWrites = new StatusWritesInFlight();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const { caches, log } = this.#deps;
    // Only the leader writes anything: status, finalizers and Events included.
    if (this.#deps.stillLeading && !this.#deps.stillLeading()) return {};
    const migration = caches.migrations.get(name);
    if (!migration) {
      this.#statusWrites.forget(name);
      this.#deps.observeStatus?.(name, undefined);
      return {};
    }
    const generation = migration.metadata?.generation ?? 0;
    const now = this.#deps.now?.() ?? new Date();
    const target = { name, uid: migration.metadata?.uid ?? "" };

    const deleting = migration.metadata?.deletionTimestamp !== undefined;
    if (deleting && !finalizersWith(migration.metadata?.finalizers, false)) return {};
    const finalizers = deleting ? undefined : finalizersWith(migration.metadata?.finalizers, true);
    if (finalizers) {
      // Added before anything is changed, so a deletion always lets the operator clean up first.
      await this.#patchFinalizers(migration, finalizers);
      return { requeueAfterMs: 0 };
    }

    const parsed = parseSpec(migration.spec);
    if (!parsed.ok) {
      // Nothing can be planned from an invalid spec: a deletion only removes the bookkeeping.
      if (deleting) await this.#release(migration);
      else await this.#publishInvalid(migration, parsed.errors, generation, now);
      return {};
    }
    const spec = withComparableRevisions(parsed.spec);

    const facts = migrationFacts(spec, cachedReadings(caches));
    const { namespaces, workloadsIn, podsIn, targetControlPlane, sourceControlPlane, warnings } = facts;
    const plan = planMigration({
      name,
      generation,
      spec,
      previousConditions: migration.status?.conditions,
      namespaces,
      workloadsIn,
      podsIn,
      gatewaysIn: facts.gatewaysIn,
      targetControlPlane,
      sourceControlPlane,
      warnings,
      now,
      deleting,
    });
    if (plan.releasable) {
      await this.#release(migration);
      return {};
    }
    const warningEvents = newWarnings(migration.status?.warnings, warnings).map((w) => ({
      type: "Warning" as const,
      reason: w.code,
      message: `${w.namespace ? `Namespace ${w.namespace}: ` : ""}${w.message}`,
    }));

    if (spec.dryRun && !deleting) {
      // Only compute and publish the whole plan: nothing in the cluster changes.
      const outline = planWholeMigration({
        migration: name,
        spec,
        namespaces,
        workloadsIn,
        podsIn,
        gatewaysIn: facts.gatewaysIn,
        targetControlPlane,
        warnings,
        now,
      });
      await this.#publishStatus(
        migration,
        dryRunStatus(plan.status, outline, warnings, migration.status?.conditions, generation, now),
      );
      // A halt the plan shows is raised now (Degraded is kept through the dry run), so its Warning
      // Event is written now: the real run that follows finds the condition already raised.
      const haltEvents = plan.events.filter((event) => event.type === "Warning");
      for (const event of [...warningEvents, ...haltEvents]) await this.#deps.events.record(target, event);
      return { requeueAfterMs: 30_000 };
    }

    // Status first: it reports what was observed; the actions' own Events tell what changed next.
    await this.#publishStatus(migration, { ...plan.status, warnings, plan: null });
    for (const event of [...warningEvents, ...plan.events]) await this.#deps.events.record(target, event);
    for (const action of plan.actions) {
      const stale = this.#planIsStale(name, generation, deleting);
      if (stale) {
        log.info(
          { migration: name, pending: plan.actions.length },
          `${stale}; re-planning before the next write`,
        );
        return { requeueAfterMs: 0 };
      }
      await this.#executeOrReport(target, action);
      // Logged once the apiserver accepted the change, never before.
      log.info({ migration: name, action: action.type, namespace: action.namespace }, action.event.message);
      await this.#deps.events.record(target, { ...action.event, action: action.type });
      this.#deps.afterStep?.(action.event.reason);
    }
    this.#deps.observeStatus?.(name, plan.status);
    // After acting, look again soon: the caches will show the result.
    return { requeueAfterMs: plan.actions.length > 0 ? 1000 : plan.requeueAfterMs };
  }

  /**
   * Why the rest of a plan must not be carried out, if it must not: this process no longer leads,
   * or the user edited the spec (a pause, a rollback) since it was planned.
   */
  #planIsStale(name: string, plannedGeneration: number, plannedForDeletion: boolean): string | undefined {
    if (this.#deps.stillLeading && !this.#deps.stillLeading()) return "no longer the leader";
    const current = this.#deps.caches.migrations.get(name);
    if (!current) return "the MeshMigration is gone";
    if (current.metadata?.deletionTimestamp && !plannedForDeletion)
      return "the MeshMigration is being deleted";
    if ((current.metadata?.generation ?? 0) !== plannedGeneration) return "the spec changed";
    return undefined;
  }

  /** The Deployments, StatefulSets and DaemonSets of a namespace, as planner facts. */
  #workloadsIn(namespace: string): WorkloadFacts[] {
    const { caches } = this.#deps;
    return applicationWorkloads(
      {
        deploymentsIn: (ns) => caches.deployments.list(ns),
        statefulSetsIn: (ns) => caches.statefulSets.list(ns),
        daemonSetsIn: (ns) => caches.daemonSets.list(ns),
      },
      namespace,
    );
  }

  /** The deletion's last step: every namespace is settled, so the bookkeeping and the finalizer go. */
  async #release(migration: MeshMigrationObject): Promise<void> {
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
      (ns) => this.#workloadsIn(ns),
    );
    await releaseBookkeeping(this.#deps.clients, target);
    try {
      await this.#patchFinalizers(migration, finalizers);
    } catch (error) {
      // Gone already (a second look from a cache that had not yet seen the finalizer go): done.
      if (statusCode(error) === 404) return;
      throw error;
    }
    this.#deps.log.info(
      { migration: name, namespaces: target.namespaces },
      "MeshMigration deleted: unfinished namespaces were returned to their original, migrated ones stay; bookkeeping removed",
    );
  }

  /**
   * One action; a write the apiserver refuses (RBAC, the write limits, another admission policy)
   * is also a Warning Event on the MeshMigration, so a user sees it without the operator's log.
   * The error still goes up: the key is retried with backoff.
   */
  async #executeOrReport(target: EventTarget, action: MigrationPlan["actions"][number]): Promise<void> {
    try {
      await executeAction(this.#deps.clients, action);
    } catch (error) {
      const code = statusCode(error);
      if (code === 403 || code === 422) {
        const where = action.namespace ? ` in namespace ${action.namespace}` : "";
        await this.#deps.events.record(target, {
          type: "Warning",
          reason: "WriteRefused",
          message:
            `The apiserver refused the write of step ${action.type}${where}: ` +
            `${describeApiError("write", action.type, error)}. Nothing of that step changed; it is retried ` +
            "with backoff. Check that the operator's RBAC (deploy/cluster-role.yaml) and write limits " +
            "(deploy/write-limits.yaml) are those of this operator version, and any admission policy that " +
            "names the namespace.",
        });
      }
      throw error;
    }
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

  async #publishStatus(migration: MeshMigrationObject, status: PublishedStatus): Promise<void> {
    const current = migration.status ?? {};
    const next = withNulls(status);
    // Unchanged in anything a user would act on: no write (a moving namespace's counts ride along
    // with the next change that is; see status-writes.ts).
    if (!statusNeedsWrite(current, next)) return;
    const name = migration.metadata?.name ?? "";
    const over = migration.metadata?.resourceVersion;
    if (this.#statusWrites.alreadyWritten(name, over, next)) return;
    await this.#deps.clients.custom.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        name: migration.metadata?.name ?? "",
        // Planned from this version of the object: a status computed from a stale cache fails
        // with a conflict and is computed again, never written over a newer one.
        body: { metadata: { resourceVersion: over }, status: next },
      },
      MERGE_PATCH,
    );
    this.#statusWrites.wrote(name, over, next);
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

/**
 * The status the operator writes, as the schema defines it; fields set to null are removed by the
 * merge patch.
 */
type PublishedStatus = Omit<MeshMigrationStatus, "plan" | "currentBatch"> & {
  plan?: MeshMigrationStatus["plan"] | null;
  currentBatch?: string | null;
};

/** Optional fields absent from the new status become null, so the merge patch removes them. */
function withNulls(status: PublishedStatus): Record<string, unknown> {
  const keys = ["currentBatch", "plan"] as const;
  const out: Record<string, unknown> = { ...status };
  for (const key of keys) if (out[key] === undefined) out[key] = null;
  return out;
}

/** Warnings not published before (by code and namespace): each gets one Event. */
function newWarnings(
  previous: readonly MigrationWarning[] | undefined,
  current: readonly MigrationWarning[],
): MigrationWarning[] {
  const key = (w: MigrationWarning) => `${w.code}/${w.namespace ?? ""}`;
  const seen = new Set((previous ?? []).map(key));
  return current.filter((w) => !seen.has(key(w)));
}

/** Status for spec.dryRun: the plan and the warnings, phase Planning, and conditions that say so. */
function dryRunStatus(
  status: MigrationPlan["status"],
  outline: MigrationOutline,
  warnings: readonly MigrationWarning[],
  previous: readonly Condition[] | undefined,
  generation: number,
  now: Date,
): PublishedStatus {
  const message =
    "spec.dryRun is true: the whole plan is in status.plan (and status.warnings); nothing in the cluster was " +
    "changed. Set spec.dryRun: false to carry it out.";
  const replaced = new Set(["Ready", "Progressing"]);
  const conditions = [
    ...mergeConditions(
      previous,
      [
        { type: "Ready", status: "False", reason: "DryRun", message },
        { type: "Progressing", status: "False", reason: "DryRun", message },
      ],
      generation,
      now,
    ),
    ...status.conditions.filter((c) => !replaced.has(c.type)),
  ];
  return { ...status, phase: "Planning", conditions, plan: outline, warnings: [...warnings] };
}
