// Plain helpers over Markers and MarkerChange: read a key safely, build, merge and apply changes.
import type { MarkerChange, Markers } from "./driver.ts";

export type MarkerKind = "label" | "annotation";

/** Metadata as it arrives from the API or YAML: maps may be missing or null. */
export interface MetadataLike {
  labels?: Record<string, string> | null | undefined;
  annotations?: Record<string, string> | null | undefined;
}

export function emptyMarkers(): Markers {
  return { labels: {}, annotations: {} };
}

export function noChange(): MarkerChange {
  return { set: emptyMarkers(), remove: { labels: [], annotations: [] } };
}

/** Copies an object's labels and annotations into Markers (never undefined). */
export function markersOf(meta: MetadataLike | null | undefined): Markers {
  return { labels: { ...(meta?.labels ?? {}) }, annotations: { ...(meta?.annotations ?? {}) } };
}

function mapOf(markers: Markers, kind: MarkerKind): Record<string, string> {
  return kind === "label" ? markers.labels : markers.annotations;
}

/** A key's value, or undefined; own keys only, so "constructor" and friends never leak in. */
export function markerValue(markers: Markers, kind: MarkerKind, key: string): string | undefined {
  const map = mapOf(markers, kind);
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

export function hasMarker(markers: Markers, kind: MarkerKind, key: string): boolean {
  return markerValue(markers, kind, key) !== undefined;
}

/** A change that sets one key. */
export function setMarker(kind: MarkerKind, key: string, value: string): MarkerChange {
  const change = noChange();
  mapOf(change.set, kind)[key] = value;
  return change;
}

/** A change that removes the given keys, limited to those present in current when it is given. */
export function removeMarkers(
  keys: { labels?: readonly string[]; annotations?: readonly string[] },
  current?: Markers,
): MarkerChange {
  const keep = (kind: MarkerKind) => (key: string) => current === undefined || hasMarker(current, kind, key);
  return {
    set: emptyMarkers(),
    remove: {
      labels: (keys.labels ?? []).filter(keep("label")),
      annotations: (keys.annotations ?? []).filter(keep("annotation")),
    },
  };
}

function mergeKind(
  set: Record<string, string>,
  removed: Set<string>,
  next: { set: Record<string, string>; remove: readonly string[] },
): void {
  for (const key of next.remove) {
    delete set[key];
    removed.add(key);
  }
  for (const [key, value] of Object.entries(next.set)) {
    removed.delete(key);
    set[key] = value;
  }
}

/**
 * Combines changes as if applied in order. Within one change removals come first, so a key that
 * is both removed and set ends up set; a key set earlier and removed later ends up removed.
 */
export function mergeChanges(...changes: MarkerChange[]): MarkerChange {
  const set = emptyMarkers();
  const removedLabels = new Set<string>();
  const removedAnnotations = new Set<string>();
  for (const change of changes) {
    mergeKind(set.labels, removedLabels, { set: change.set.labels, remove: change.remove.labels });
    mergeKind(set.annotations, removedAnnotations, {
      set: change.set.annotations,
      remove: change.remove.annotations,
    });
  }
  return { set, remove: { labels: [...removedLabels], annotations: [...removedAnnotations] } };
}

/** Drops removals of keys that current does not carry (a JSON Patch "remove" of a missing key fails). */
export function onlyPresentRemovals(change: MarkerChange, current: Markers): MarkerChange {
  return {
    set: { labels: { ...change.set.labels }, annotations: { ...change.set.annotations } },
    remove: {
      labels: change.remove.labels.filter((key) => hasMarker(current, "label", key)),
      annotations: change.remove.annotations.filter((key) => hasMarker(current, "annotation", key)),
    },
  };
}

/** The markers after the change: removals first, then sets. Does not modify its inputs. */
export function applyChange(markers: Markers, change: MarkerChange): Markers {
  const result = markersOf(markers);
  for (const key of change.remove.labels) delete result.labels[key];
  for (const key of change.remove.annotations) delete result.annotations[key];
  Object.assign(result.labels, change.set.labels);
  Object.assign(result.annotations, change.set.annotations);
  return result;
}

/** Whether the change would leave markers as they are. */
export function isNoChange(change: MarkerChange, current: Markers): boolean {
  const after = applyChange(current, change);
  const same = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length &&
    Object.entries(a).every(([key, value]) => Object.hasOwn(b, key) && b[key] === value);
  return same(after.labels, current.labels) && same(after.annotations, current.annotations);
}

/** Whether the change sets or removes anything at all. */
export function hasChanges(change: MarkerChange): boolean {
  return (
    Object.keys(change.set.labels).length +
      Object.keys(change.set.annotations).length +
      change.remove.labels.length +
      change.remove.annotations.length >
    0
  );
}
