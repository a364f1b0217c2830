// What the operator writes on the objects it changes, so that any step can be
// undone and a restarted operator knows where it was: the namespace's owner and
// original mesh markers, a workload's original template opt-ins, and the stamp
// on a pod template that says which migration step restarted it.
import { ANNOTATIONS } from "../api/constants.ts";
import type { Markers } from "../meshes/driver.ts";
import { allNamespaceMarkerKeys } from "../meshes/registry.ts";

export const OWNER_ANNOTATION = ANNOTATIONS.owner;
/** The owner as a label too, so the double-mesh guard's binding can select owned namespaces. */
export const OWNER_LABEL = ANNOTATIONS.owner;
export const ORIGINAL_ANNOTATION = ANNOTATIONS.original;
export const TEMPLATE_ORIGINAL_ANNOTATION = ANNOTATIONS.templateOriginal;
export const RESTART_STAMP_ANNOTATION = ANNOTATIONS.restartedFor;

/** The mesh-related labels and annotations a namespace carries, exactly (absent keys stay absent). */
export function meshMarkersOf(markers: Markers): Markers {
  const keys = allNamespaceMarkerKeys();
  const pick = (from: Record<string, string>, wanted: string[]) =>
    Object.fromEntries(wanted.filter((key) => key in from).map((key) => [key, from[key] as string]));
  return {
    labels: pick(markers.labels, keys.labels),
    annotations: pick(markers.annotations, keys.annotations),
  };
}

export function encodeOriginal(original: Markers): string {
  return JSON.stringify({ labels: sortKeys(original.labels), annotations: sortKeys(original.annotations) });
}

/** The recorded original, or undefined when absent or unreadable (never guessed). */
export function decodeOriginal(value: string | undefined): Markers | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<Markers>;
    if (!isStringMap(parsed.labels) || !isStringMap(parsed.annotations)) return undefined;
    return { labels: parsed.labels, annotations: parsed.annotations };
  } catch {
    return undefined;
  }
}

/** Original values of pod-template keys we rewrote; null means the key was absent. */
export interface TemplateOriginal {
  labels: Record<string, string | null>;
  annotations: Record<string, string | null>;
}

export function encodeTemplateOriginal(original: TemplateOriginal): string {
  return JSON.stringify({ labels: sortKeys(original.labels), annotations: sortKeys(original.annotations) });
}

export function decodeTemplateOriginal(value: string | undefined): TemplateOriginal | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<TemplateOriginal>;
    if (typeof parsed.labels !== "object" || typeof parsed.annotations !== "object") return undefined;
    return { labels: parsed.labels ?? {}, annotations: parsed.annotations ?? {} };
  } catch {
    return undefined;
  }
}

export type Direction = "forward" | "rollback";

/**
 * The restart stamp: `<migration>:<direction>:<attempt>:<started-at ISO time>`. A template carrying
 * the stamp of the current step has been restarted for it already, so a restarted operator never
 * restarts a workload twice; the time bounds the rollout.
 */
export interface RestartStamp {
  migration: string;
  direction: Direction;
  attempt: number;
  startedAt: number;
}

export function encodeStamp(stamp: RestartStamp): string {
  return `${stamp.migration}:${stamp.direction}:${stamp.attempt}:${new Date(stamp.startedAt).toISOString()}`;
}

export function decodeStamp(value: string | undefined): RestartStamp | undefined {
  if (!value) return undefined;
  const match = /^([a-z0-9.-]+):(forward|rollback):(\d+):(.+)$/.exec(value);
  if (!match) return undefined;
  const startedAt = Date.parse(match[4] as string);
  if (Number.isNaN(startedAt)) return undefined;
  return {
    migration: match[1] as string,
    direction: match[2] as Direction,
    attempt: Number(match[3]),
    startedAt,
  };
}

function sortKeys<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.values(value).every((entry) => typeof entry === "string")
  );
}
