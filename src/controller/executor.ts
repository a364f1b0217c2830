// Carries out a plan's actions: each one a JSON merge patch of only the keys the
// operator owns, with the resourceVersion the plan was computed from, so a plan
// made from a stale cache fails with a conflict instead of acting twice.
import type * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../api/constants.ts";
import type { MarkerChange } from "../meshes/driver.ts";
import { mergePatchOptions } from "../runtime/patch.ts";
import {
  type Action,
  type DeleteWaypointAction,
  type RestartWorkloadAction,
  recordOriginalChange,
  restartChanges,
} from "./actions.ts";
import { GATEWAY_API, waypointManifest } from "./namespace/waypoint-gateway.ts";

/** The object changed since the plan read it; the reconcile runs again on fresh state. */
export class StaleReadError extends Error {
  override name = "StaleReadError";
  /** A conflict, as the apiserver said: expected, retried, never a failure to report. */
  readonly code = 409;
}

export const MERGE_PATCH = mergePatchOptions();

/** A merge-patch map: values to set, null to remove (removals never clobber a value we set). */
export function mergeMap(
  set: Record<string, string>,
  remove: readonly string[],
): Record<string, string | null> {
  const map: Record<string, string | null> = {};
  for (const key of remove) map[key] = null;
  Object.assign(map, set);
  return map;
}

function markerPatch(change: MarkerChange): {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
} {
  const labels = mergeMap(change.set.labels, change.remove.labels);
  const annotations = mergeMap(change.set.annotations, change.remove.annotations);
  return {
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

export interface ExecutorClients {
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  /** Gateways (waypoints) are custom objects to the client. */
  custom: k8s.CustomObjectsApi;
}

async function conflictSafe<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if ((error as { code?: number }).code === 409) {
      throw new StaleReadError(`${what}: the object changed since it was read; reconciling again`);
    }
    throw error;
  }
}

export async function executeAction(clients: ExecutorClients, action: Action): Promise<void> {
  switch (action.type) {
    case "RecordOriginal":
      await conflictSafe(`record original of namespace ${action.namespace}`, () =>
        clients.core.patchNamespace(
          {
            name: action.namespace,
            fieldManager: FIELD_MANAGER,
            body: {
              metadata: {
                resourceVersion: action.resourceVersion,
                ...markerPatch(recordOriginalChange(action)),
              },
            },
          },
          MERGE_PATCH,
        ),
      );
      return;
    case "Relabel":
    case "UseWaypoint":
      await conflictSafe(`relabel namespace ${action.namespace}`, () =>
        clients.core.patchNamespace(
          {
            name: action.namespace,
            fieldManager: FIELD_MANAGER,
            body: { metadata: { resourceVersion: action.resourceVersion, ...markerPatch(action.change) } },
          },
          MERGE_PATCH,
        ),
      );
      return;
    case "RestartWorkload":
      await restartWorkload(clients, action);
      return;
    case "CreateWaypoint":
      // A create, not an apply: an apply would adopt a Gateway someone made meanwhile as ours.
      await conflictSafe(`create waypoint ${action.namespace}/${action.name}`, () =>
        clients.custom.createNamespacedCustomObject({
          ...GATEWAY_API,
          namespace: action.namespace,
          fieldManager: FIELD_MANAGER,
          body: waypointManifest(action.namespace, action.name, action.owner),
        }),
      );
      return;
    case "DeleteWaypoint":
      await deleteWaypoint(clients, action);
      return;
  }
}

/** Deletes exactly the Gateway that was read as ours; one already gone is done. */
async function deleteWaypoint(clients: ExecutorClients, action: DeleteWaypointAction): Promise<void> {
  try {
    await conflictSafe(`delete waypoint ${action.namespace}/${action.name}`, () =>
      clients.custom.deleteNamespacedCustomObject({
        ...GATEWAY_API,
        namespace: action.namespace,
        name: action.name,
        body: { preconditions: { uid: action.uid, resourceVersion: action.resourceVersion } },
      }),
    );
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
  }
}

async function restartWorkload(clients: ExecutorClients, action: RestartWorkloadAction): Promise<void> {
  const changes = restartChanges(action);
  const body = {
    metadata: { resourceVersion: action.resourceVersion, ...markerPatch(changes.workload) },
    spec: { template: { metadata: markerPatch(changes.template) } },
  };
  const request = { name: action.name, namespace: action.namespace, fieldManager: FIELD_MANAGER, body };
  const what = `restart ${action.kind} ${action.namespace}/${action.name}`;
  switch (action.kind) {
    case "Deployment":
      await conflictSafe(what, () => clients.apps.patchNamespacedDeployment(request, MERGE_PATCH));
      return;
    case "StatefulSet":
      await conflictSafe(what, () => clients.apps.patchNamespacedStatefulSet(request, MERGE_PATCH));
      return;
    case "DaemonSet":
      await conflictSafe(what, () => clients.apps.patchNamespacedDaemonSet(request, MERGE_PATCH));
      return;
  }
}
