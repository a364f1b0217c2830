// Every mesh driver by name, and the questions that span meshes: which meshes a pod is on,
// how a namespace or a pod template moves from one mesh to another.

import { consulDriver } from "./consul.ts";
import {
  type MarkerChange,
  type Markers,
  MESH_NAMES,
  type MeshDriver,
  type MeshName,
  type MeshRef,
  type PodFacts,
  type TemplateOptIn,
} from "./driver.ts";
import { type ForeignMesh, foreignMeshesBeside, recognises } from "./foreign-meshes.ts";
import { istioDriver } from "./istio.ts";
import { istioAmbientDriver } from "./istio-ambient.ts";
import { linkerdDriver } from "./linkerd.ts";
import { hasChanges, mergeChanges, noChange, onlyPresentRemovals, removeMarkers } from "./markers.ts";
import { noneDriver } from "./none.ts";

/** Adding a mesh: one driver file and one line here. */
export const MESH_DRIVERS: Record<MeshName, MeshDriver> = {
  consul: consulDriver,
  istio: istioDriver,
  "istio-ambient": istioAmbientDriver,
  linkerd: linkerdDriver,
  none: noneDriver,
};

export function driverFor(name: MeshName): MeshDriver {
  return MESH_DRIVERS[name];
}

/** The namespaces the meshes' control planes run in. */
export function controlPlaneNamespaces(
  drivers: readonly MeshDriver[] = Object.values(MESH_DRIVERS),
): string[] {
  return [...new Set(drivers.flatMap((d) => (d.controlPlaneNamespace ? [d.controlPlaneNamespace] : [])))];
}

/**
 * What the API needs to know of the meshes, as data: their names, which take a revision, and the
 * control-plane namespaces no migration may move. The API layer imports nothing of the meshes';
 * `npm run crds` writes this into src/api/mesh-catalog.ts (a unit test fails when it is stale).
 */
export function meshCatalog(drivers: readonly MeshDriver[] = Object.values(MESH_DRIVERS)) {
  return {
    names: drivers.map((d) => d.name),
    revisioned: drivers.filter((d) => d.defaultRevision !== undefined).map((d) => d.name),
    controlPlaneNamespaces: controlPlaneNamespaces(drivers),
  };
}

/** The drivers of real meshes, in MESH_NAMES order. */
function meshDrivers(): MeshDriver[] {
  return MESH_NAMES.filter((name) => name !== "none").map((name) => MESH_DRIVERS[name]);
}

/** Every mesh the pod is a member of, read from pod facts; two or more means double-meshed. */
export function meshesOfPod(pod: PodFacts): MeshName[] {
  return meshDrivers()
    .filter((driver) => driver.isMember(pod))
    .map((driver) => driver.name);
}

/** The meshes we do not drive (src/meshes/foreign-meshes.ts): the table less every mesh with a driver here. */
const FOREIGN = foreignMeshesBeside(Object.values(MESH_DRIVERS));

/** Every mesh we do not drive that runs the pod; a driver's mesh is never here. */
export function foreignMeshesOfPod(pod: PodFacts): ForeignMesh[] {
  return FOREIGN.filter((mesh) => recognises(mesh, pod));
}

/** On no mesh at all, ours or another's: the pods that are really unmeshed. */
export function podOnNoMesh(pod: PodFacts): boolean {
  return meshesOfPod(pod).length === 0 && foreignMeshesOfPod(pod).length === 0;
}

/**
 * Two meshes in one pod, a mesh we do not drive included. This covers the case neither mesh
 * prevents: a linkerd-proxy pod that istio-cni captured for ambient (linkerd and istio-ambient are
 * both members then).
 */
export function isDoubleMeshed(pod: PodFacts): boolean {
  return meshesOfPod(pod).length + foreignMeshesOfPod(pod).length >= 2;
}

/**
 * Whether the pod is on exactly this mesh ref. For "none": on none of our meshes (a pod of a mesh we
 * do not drive is none of ours to move or restart; podOnNoMesh tells it apart). With a revision, the pod
 * must say which revision injected it; a pod that does not say matches no specific revision, so it
 * never counts as migrated to (or away from) one.
 */
export function podOnMesh(pod: PodFacts, ref: MeshRef): boolean {
  if (ref.mesh === "none") return meshesOfPod(pod).length === 0;
  const driver = driverFor(ref.mesh);
  if (!driver.isMember(pod)) return false;
  if (ref.revision === undefined || driver.podRevision === undefined) return true;
  return driver.podRevision(pod) === ref.revision;
}

/**
 * Source and target as pods are compared against them. Between two revisions of one mesh a side
 * that names no revision stands for the mesh's default revision: read as "any revision", every
 * pod of the other revision would count as on both sides, and never move (or always).
 */
export function withComparableRevisions<T extends { source: MeshRef; target: MeshRef }>(spec: T): T {
  const { source, target } = spec;
  if (source.mesh !== target.mesh || (source.revision === undefined) === (target.revision === undefined)) {
    return spec;
  }
  const fallback = driverFor(source.mesh).defaultRevision;
  if (fallback === undefined) return spec;
  return {
    ...spec,
    source: { ...source, revision: source.revision ?? fallback },
    target: { ...target, revision: target.revision ?? fallback },
  };
}

/** Every mesh whose markers enroll new pods created in this namespace. */
export function namespaceMeshes(ns: Markers): MeshName[] {
  return meshDrivers()
    .filter((driver) => driver.namespaceEnrolled(ns))
    .map((driver) => driver.name);
}

/** Whether the namespace enrolls pods in this mesh ref. For "none": in no mesh. */
export function namespaceOnMesh(ns: Markers, ref: MeshRef): boolean {
  if (ref.mesh === "none") return namespaceMeshes(ns).length === 0;
  return driverFor(ref.mesh).namespaceEnrolled(ns, ref);
}

/** The namespace keys to record before changing a namespace: the union over all drivers. */
export function allNamespaceMarkerKeys(): { labels: string[]; annotations: string[] } {
  const drivers = Object.values(MESH_DRIVERS);
  return {
    labels: [...new Set(drivers.flatMap((driver) => driver.namespaceLabelKeys))],
    annotations: [...new Set(drivers.flatMap((driver) => driver.namespaceAnnotationKeys))],
  };
}

/** Whether a mesh runs this pod (or a workload with this pod template) itself: not a migration's to move. */
export function meshRunsOwnPod(podLabels: Readonly<Record<string, string>>): boolean {
  return Object.values(MESH_DRIVERS).some((driver) => driver.runsOwnPod?.(podLabels) === true);
}

/** Every pod-template key any driver reads as an opt-in or opt-out. */
export function allTemplateMarkerKeys(): { labels: string[]; annotations: string[] } {
  const drivers = Object.values(MESH_DRIVERS);
  return {
    labels: [...new Set(drivers.flatMap((driver) => driver.templateMarkerKeys.labels))],
    annotations: [...new Set(drivers.flatMap((driver) => driver.templateMarkerKeys.annotations))],
  };
}

/**
 * The one namespace change that moves a namespace from source to target: the source's markers
 * out and the target's in, so the namespace never carries two meshes' markers at once. Any third
 * mesh still enrolling the namespace is unenrolled too (e.g. an ambient label left next to
 * istio-injection would capture the target's linkerd-proxy pods). Removals are limited to keys
 * the namespace carries.
 */
export function namespaceSwitch(source: MeshRef, target: MeshRef, current: Markers): MarkerChange {
  const others = meshDrivers()
    .filter((driver) => driver.name !== source.mesh && driver.name !== target.mesh)
    .filter((driver) => driver.namespaceEnrolled(current))
    .map((driver) => driver.unenroll({ mesh: driver.name }, current));
  const change = mergeChanges(
    driverFor(source.mesh).unenroll(source, current),
    ...others,
    driverFor(target.mesh).enroll(target),
  );
  return onlyPresentRemovals(change, current);
}

/** A template opt-in (or opt-out) together with the mesh it belongs to. */
export interface FoundOptIn extends TemplateOptIn {
  mesh: MeshName;
}

/** Every mesh's opt-ins and opt-outs on a pod template's metadata. */
export function findTemplateOptIns(template: Markers): FoundOptIn[] {
  return meshDrivers().flatMap((driver) =>
    driver.templateOptIns(template).map((optIn) => ({ ...optIn, mesh: driver.name })),
  );
}

/** Whether the pod template opts out of this mesh (an opt-out beats an opt-in, as in every injector). */
export function templateOptsOutOf(template: Markers, mesh: MeshName): boolean {
  return findTemplateOptIns(template).some((optIn) => optIn.mesh === mesh && !optIn.optsIn);
}

/** Whether an opt-in speaks about this mesh ref (an opt-in without a revision speaks to every revision). */
function concerns(optIn: FoundOptIn, ref: MeshRef): boolean {
  if (optIn.mesh !== ref.mesh) return false;
  return optIn.revision === undefined || ref.revision === undefined || optIn.revision === ref.revision;
}

function markerSet(marker: TemplateOptIn): MarkerChange {
  const change = noChange();
  (marker.kind === "label" ? change.set.labels : change.set.annotations)[marker.key] = marker.value;
  return change;
}

/** A mesh without a namespace marker (Consul): its pods join only through their template's opt-in. */
function enrollsByTemplateOnly(ref: MeshRef): boolean {
  return ref.mesh !== "none" && !hasChanges(driverFor(ref.mesh).enroll(ref));
}

/**
 * How to rewrite a pod template's metadata when its namespace moves from source to target.
 * - Opt-ins to the source are removed and replaced by the target's opt-in (nothing for "none").
 * - Opt-outs from the source are a deliberate choice: kept, and the target's opt-out is added.
 * - A template that already states a stance on the target (in or out) keeps it: nothing is added.
 * - A target without a namespace marker gets its opt-in on every template that states nothing.
 * - Opt-ins and opt-outs of a third mesh are reported in `found` and left alone.
 * Opt-ins that name both source and target (e.g. `sidecar.istio.io/inject` between two Istio
 * revisions) stay as they are.
 */
export function rewriteTemplateOptIns(
  source: MeshRef,
  target: MeshRef,
  template: Markers,
): { changes: MarkerChange; found: FoundOptIn[] } {
  const found = findTemplateOptIns(template);
  const aboutSource = found.filter((optIn) => concerns(optIn, source));
  const sourceOnlyOptIns = aboutSource.filter((optIn) => optIn.optsIn && !concerns(optIn, target));
  const removal = removeMarkers({
    labels: sourceOnlyOptIns.filter((optIn) => optIn.kind === "label").map((optIn) => optIn.key),
    annotations: sourceOnlyOptIns.filter((optIn) => optIn.kind === "annotation").map((optIn) => optIn.key),
  });

  const targetDriver = driverFor(target.mesh);
  const targetStated = found.some((optIn) => concerns(optIn, target));
  // An opt-out wins over an opt-in of the same mesh, as in every mesh's injector.
  const stance = aboutSource.some((optIn) => !optIn.optsIn)
    ? "out"
    : aboutSource.some((optIn) => optIn.optsIn) || enrollsByTemplateOnly(target)
      ? "in"
      : undefined;
  const replacement =
    targetStated || stance === undefined
      ? undefined
      : stance === "out"
        ? targetDriver.optOutMarker?.(target)
        : targetDriver.optInMarker?.(target);

  // Removal first, then the replacement, so a key reused by the target (istio.io/rev) ends up set.
  const changes = replacement === undefined ? removal : mergeChanges(removal, markerSet(replacement));
  return { changes, found };
}
