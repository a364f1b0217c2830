// Where the migration draws a trust boundary. Istio (sidecar or ambient) and Linkerd have
// separate trust roots, so a caller on one side reaches a server on the other in plaintext.
// While namespaces move, the servers at risk are the ones on a mesh's side of that boundary:
// the namespaces that stay in the mesh callers are leaving, and the moving namespaces until
// their own turn; or the namespaces moving into a mesh whose callers stay outside it.
import type { MeshName, MeshRef } from "../meshes/driver.ts";
import { driverFor, findTemplateOptIns, MESH_DRIVERS, namespaceMeshes } from "../meshes/registry.ts";
import type { PreflightInput } from "./input.ts";

/** A mesh's trust domain (its driver's trustDomain id): Istio's sidecar and ambient modes share one. */
export type Side = string;

/** Each trust domain's name, for messages ("Istio", "Linkerd"). */
export const SIDE_NAMES: Readonly<Record<Side, string>> = Object.fromEntries(
  Object.values(MESH_DRIVERS).flatMap((d) => (d.trustDomain ? [[d.trustDomain.id, d.trustDomain.name]] : [])),
);

export function sideOf(mesh: MeshName): Side | undefined {
  return driverFor(mesh).trustDomain?.id;
}

/** Which way the migration crosses a side's boundary, if it does. */
export function crossing(side: Side, source: MeshRef, target: MeshRef): "leaving" | "entering" | undefined {
  const from = sideOf(source.mesh);
  const to = sideOf(target.mesh);
  if (from === side && to !== side) return "leaving";
  if (to === side && from !== side) return "entering";
  return undefined;
}

/** A namespace whose servers sit on a side while callers from across the boundary reach them. */
export interface ExposedNamespace {
  name: string;
  /** Its batch, when the migration moves it. */
  batch: string | undefined;
  /** Why it is exposed, for messages: "stays in Istio", "moves in batch canary"... */
  role: string;
}

export function movingNamespaces(input: PreflightInput): Array<{ name: string; batch: string }> {
  return input.batches.flatMap((batch) =>
    batch.namespaces
      .filter((name) => input.namespaces.has(name))
      .map((name) => ({ name, batch: batch.name })),
  );
}

/**
 * Whether the namespace's pods are on `side`: its markers enroll it, or one of its pod templates
 * opts in (Consul has no namespace marker; an Istio opt-in meshes pods of an unlabelled namespace).
 */
function enrolledOn(side: Side, input: PreflightInput, name: string): boolean {
  const ns = input.namespaces.get(name);
  // A namespace being deleted calls no one for long: it is not a side of the boundary.
  if (ns === undefined || ns.terminating === true) return false;
  if (namespaceMeshes(ns.markers).some((mesh) => sideOf(mesh) === side)) return true;
  return input
    .workloadsIn(name)
    .some((workload) =>
      findTemplateOptIns(workload.template).some((optIn) => optIn.optsIn && sideOf(optIn.mesh) === side),
    );
}

/**
 * The namespaces on `side` of the boundary while the migration runs, each with its role.
 * Leaving a side: the namespaces that stay enrolled in it, and the moving ones still enrolled
 * (until their workloads restart, callers that left before them arrive in plaintext).
 * Entering a side: the moving namespaces (callers that stay outside keep calling them).
 */
export function exposedNamespaces(side: Side, input: PreflightInput): ExposedNamespace[] {
  const direction = crossing(side, input.source, input.target);
  if (direction === undefined) return [];
  const mesh = SIDE_NAMES[side];
  const moving = movingNamespaces(input);
  if (direction === "entering") {
    return moving.map(({ name, batch }) => ({
      name,
      batch,
      role: `moves into ${mesh} in batch ${batch} while its callers outside ${mesh} keep calling it`,
    }));
  }
  const movingNames = new Set(moving.map((ns) => ns.name));
  const staying = [...input.namespaces.keys()]
    .filter((name) => !movingNames.has(name) && enrolledOn(side, input, name))
    .sort()
    .map((name) => ({ name, batch: undefined, role: `stays in ${mesh}` }));
  const notYetMoved = moving
    .filter(({ name }) => enrolledOn(side, input, name))
    .map(({ name, batch }) => ({
      name,
      batch,
      role: `leaves ${mesh} in batch ${batch}; until its own workloads restart, callers that left before it are refused`,
    }));
  return [...staying, ...notYetMoved];
}

/** "a, b, c and 4 more": keeps messages short when a policy touches many objects. */
export function listNames(names: readonly string[], max = 10): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
