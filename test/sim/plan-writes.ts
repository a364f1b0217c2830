// One spelling for a write, whether it was seen (the model's log, a watch on a real cluster) or
// planned (status.plan): a namespace patch as its kubectl-style edits, a restart as the workload
// and its pod-template edits. Comparing two lists of these compares what was done with the plan.
import type { NamespaceOutline } from "../../src/api/schema.ts";
import { RESTART_STAMP_ANNOTATION } from "../../src/controller/bookkeeping.ts";

export type MapPatch = Record<string, string | null>;

/** kubectl-style edits of a merge-patch map ("key-" removes, "key=value" sets), sorted. */
export function edits(map: MapPatch, skip: readonly string[] = []): string[] {
  return Object.entries(map)
    .filter(([key]) => !skip.includes(key))
    .map(([key, value]) => (value === null ? `${key}-` : `${key}=${value}`))
    .sort();
}

export function namespacePatch(labels: MapPatch, annotations: MapPatch): string {
  return `patch ${edits(labels)} | ${edits(annotations)}`;
}

/** A restart: the workload (kind/name) and its pod-template edits, the restart stamp left out. */
export function restart(workload: string, templateLabels: MapPatch, templateAnnotations: MapPatch): string {
  const rewrite = [
    ...edits(templateLabels),
    ...edits(templateAnnotations, [RESTART_STAMP_ANNOTATION]),
  ].sort();
  return `restart ${workload} ${rewrite}`;
}

/** The namespace's writes as the plan lists them: patches, restarts, then patches that wait for the restarts. */
export function plannedWrites(ns: NamespaceOutline): string[] {
  const patch = (change: NamespaceOutline["changes"][number]) =>
    `patch ${[...change.labels].sort()} | ${[...change.annotations].sort()}`;
  const afterRestarts = (change: NamespaceOutline["changes"][number]) => change.step.startsWith("once every");
  const rewrites = new Map(
    ns.templateRewrites.map((r) => [r.workload, [...r.labels, ...r.annotations].sort()]),
  );
  return [
    ...ns.changes.filter((c) => !afterRestarts(c)).map(patch),
    ...ns.restartWaves.flat().map((workload) => `restart ${workload} ${rewrites.get(workload) ?? []}`),
    ...ns.changes.filter(afterRestarts).map(patch),
  ];
}
