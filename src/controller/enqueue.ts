// Which MeshMigrations a changed object concerns. Level-triggered: the event only
// says "look again at these migrations"; what changed is never passed on.
import type { KubernetesObject } from "@kubernetes/client-node";
import { controlPlaneNamespaces } from "../meshes/registry.ts";
import type { WorkQueue } from "../runtime/workqueue.ts";
import { OWNER_ANNOTATION } from "./bookkeeping.ts";

/** Namespaces whose objects make up mesh control planes: a change there may unblock any migration. */
const CONTROL_PLANE_NAMESPACES = new Set(controlPlaneNamespaces());

export interface EnqueueContext {
  allMigrations: () => string[];
  namespaceOwner: (namespace: string) => string | undefined;
}

export type WatchedKind = "MeshMigration" | "Namespace" | "Workload" | "Pod" | "Webhook" | "MeshPolicy";

export function migrationsConcerned(
  kind: WatchedKind,
  obj: KubernetesObject,
  context: EnqueueContext,
): string[] {
  switch (kind) {
    case "MeshMigration":
      return obj.metadata?.name ? [obj.metadata.name] : [];
    case "Namespace": {
      // An unowned namespace may be one a migration waits for (created, labelled for a selector).
      const owner = obj.metadata?.annotations?.[OWNER_ANNOTATION];
      return owner ? [owner] : context.allMigrations();
    }
    case "Webhook":
    case "MeshPolicy":
      // Control-plane and policy objects can unblock, or warn about, any migration.
      return context.allMigrations();
    case "Workload":
    case "Pod": {
      const namespace = obj.metadata?.namespace ?? "";
      if (CONTROL_PLANE_NAMESPACES.has(namespace)) return context.allMigrations();
      const owner = context.namespaceOwner(namespace);
      return owner ? [owner] : [];
    }
  }
}

/**
 * How long a Pod or workload change waits before the migrations it concerns are reconciled. A
 * rollout is a burst of such events (each pod created, scheduled, ready, terminating, gone; the
 * workload's status after each), and nearly all of them change only counts: one reconcile per
 * burst, at most this long after its first event, as client-go's AddAfter coalesces. Spec edits,
 * namespace, webhook and policy changes are reconciled at once.
 */
export const BURST_DELAY_MS = 500;

/** Queues the migrations a changed object concerns: at once, or coalesced (Pods and workloads). */
export function enqueueChange(
  queue: Pick<WorkQueue<string>, "add" | "addAfter">,
  kind: WatchedKind,
  obj: KubernetesObject,
  context: EnqueueContext,
): void {
  const coalesce = kind === "Pod" || kind === "Workload";
  for (const name of migrationsConcerned(kind, obj, context)) {
    if (coalesce) queue.addAfter(name, BURST_DELAY_MS);
    else queue.add(name);
  }
}
