// What a rollback puts back: the namespace's recorded original mesh markers and the pod
// templates' recorded keys, each only where its value is still the one the operator left (a key
// a user changed meanwhile stays as the user left it).
import type { MarkerChange, Markers, MeshRef } from "../../meshes/driver.ts";
import { applyChange, noChange } from "../../meshes/markers.ts";
import { allNamespaceMarkerKeys, namespaceSwitch, rewriteTemplateOptIns } from "../../meshes/registry.ts";
import type { TemplateOriginal } from "../bookkeeping.ts";

const NONE: MeshRef = { mesh: "none" };

type MarkerKind = "labels" | "annotations";

/**
 * The change that puts every mesh key back to its recorded original, for keys whose current value
 * is one the operator could have left there (after the forward relabel, or its drain stage).
 */
export function restoreChange(
  source: MeshRef,
  target: MeshRef,
  original: Markers,
  current: Markers,
): MarkerChange {
  const ours = [
    applyChange(original, namespaceSwitch(source, target, original)),
    applyChange(original, namespaceSwitch(source, NONE, original)),
  ];
  const keys = allNamespaceMarkerKeys();
  const change = noChange();
  for (const kind of ["labels", "annotations"] as MarkerKind[]) {
    for (const key of keys[kind]) {
      const now = current[kind][key];
      const before = original[kind][key];
      if (now === before) continue;
      const leftByUs = ours.some((state) => state[kind][key] === now);
      if (!leftByUs) continue; // a user changed it meanwhile: theirs to keep
      if (before === undefined) change.remove[kind].push(key);
      else change.set[kind][key] = before;
    }
  }
  return change;
}

/** Undo of the operator's pod-template rewrite, for keys still as it left them. */
export function templateRestore(
  source: MeshRef,
  target: MeshRef,
  record: TemplateOriginal,
  current: Markers,
): MarkerChange {
  const original: Markers = { labels: { ...current.labels }, annotations: { ...current.annotations } };
  for (const kind of ["labels", "annotations"] as MarkerKind[]) {
    for (const [key, value] of Object.entries(record[kind])) {
      if (value === null) delete original[kind][key];
      else original[kind][key] = value;
    }
  }
  const leftByUs = applyChange(original, rewriteTemplateOptIns(source, target, original).changes);
  const change = noChange();
  for (const kind of ["labels", "annotations"] as MarkerKind[]) {
    for (const [key, value] of Object.entries(record[kind])) {
      const now = current[kind][key];
      if (now === (value ?? undefined) || now !== leftByUs[kind][key]) continue;
      if (value === null) change.remove[kind].push(key);
      else change.set[kind][key] = value;
    }
  }
  return change;
}

/** While draining the target first: only the target's markers that are ours to remove come off. */
export function drainChange(target: MeshRef, restore: MarkerChange, current: Markers): MarkerChange {
  const ours = namespaceSwitch(target, NONE, current).remove;
  return {
    set: { labels: {}, annotations: {} },
    remove: {
      labels: restore.remove.labels.filter((k) => ours.labels.includes(k)),
      annotations: restore.remove.annotations.filter((k) => ours.annotations.includes(k)),
    },
  };
}
