// Deleting a MeshMigration: its finalizer lets the operator remove its
// bookkeeping first. Every namespace stays in the mesh it is in at that moment;
// only the owner label and annotation, the recorded original and the workloads'
// template-original records go (so the double-mesh guard's binding no longer
// selects those namespaces). Restart stamps on pod templates stay: removing them
// would restart the workloads.
import type * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER, FINALIZER } from "../api/constants.ts";
import {
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  TEMPLATE_ORIGINAL_ANNOTATION,
} from "./bookkeeping.ts";
import { MERGE_PATCH } from "./executor.ts";

export interface ReleaseTarget {
  namespaces: string[];
  workloads: Array<{ kind: "Deployment" | "StatefulSet" | "DaemonSet"; namespace: string; name: string }>;
}

/** Which objects still carry this migration's bookkeeping. Pure. */
export function bookkeepingOf(
  migration: string,
  namespaces: ReadonlyArray<{
    name: string;
    annotations: Record<string, string>;
    labels: Record<string, string>;
  }>,
  workloadsIn: (namespace: string) => ReadonlyArray<{
    kind: "Deployment" | "StatefulSet" | "DaemonSet";
    name: string;
    annotations: Record<string, string>;
  }>,
): ReleaseTarget {
  const owned = namespaces.filter(
    (ns) => ns.annotations[OWNER_ANNOTATION] === migration || ns.labels[OWNER_LABEL] === migration,
  );
  return {
    namespaces: owned.map((ns) => ns.name),
    workloads: owned.flatMap((ns) =>
      workloadsIn(ns.name)
        .filter((w) => w.annotations[TEMPLATE_ORIGINAL_ANNOTATION] !== undefined)
        .map((w) => ({ kind: w.kind, namespace: ns.name, name: w.name })),
    ),
  };
}

export async function releaseBookkeeping(
  clients: { core: k8s.CoreV1Api; apps: k8s.AppsV1Api },
  target: ReleaseTarget,
): Promise<void> {
  for (const name of target.namespaces) {
    await clients.core.patchNamespace(
      {
        name,
        fieldManager: FIELD_MANAGER,
        body: {
          metadata: {
            labels: { [OWNER_LABEL]: null },
            annotations: { [OWNER_ANNOTATION]: null, [ORIGINAL_ANNOTATION]: null },
          },
        },
      },
      MERGE_PATCH,
    );
  }
  for (const w of target.workloads) {
    const request = {
      name: w.name,
      namespace: w.namespace,
      fieldManager: FIELD_MANAGER,
      body: { metadata: { annotations: { [TEMPLATE_ORIGINAL_ANNOTATION]: null } } },
    };
    if (w.kind === "Deployment") await clients.apps.patchNamespacedDeployment(request, MERGE_PATCH);
    else if (w.kind === "StatefulSet") await clients.apps.patchNamespacedStatefulSet(request, MERGE_PATCH);
    else await clients.apps.patchNamespacedDaemonSet(request, MERGE_PATCH);
  }
}

/** The finalizers list with ours added or removed; undefined when nothing changes. */
export function finalizersWith(
  current: readonly string[] | undefined,
  present: boolean,
): string[] | undefined {
  const list = [...(current ?? [])];
  const has = list.includes(FINALIZER);
  if (has === present) return undefined;
  return present ? [...list, FINALIZER] : list.filter((f) => f !== FINALIZER);
}
