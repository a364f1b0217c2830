// The whole migration planned ahead, for spec.dryRun and `mesh-migration-operator plan`: per
// namespace in batch order, the namespace patches, the pod-template rewrites, the restarts in
// the order they start, the pods nobody can restart, and what would stop the migration. The
// step-by-step planner (plan.ts) decides only the next actions; this outlines all of them from
// the cluster as it is now, with the same rules. Pure: facts in, a MigrationOutline out.
import {
  MAX_PLAN_LIST_ITEMS,
  type MigrationOutline,
  type MigrationWarning,
  type NamespaceOutline,
  type PlanBlocker,
  type PlannedNamespaceChange,
  type PlannedSkip,
  type PlannedTemplateRewrite,
} from "../api/schema.ts";
import type { MarkerChange, MeshRef } from "../meshes/driver.ts";
import { applyChange, hasChanges, isNoChange } from "../meshes/markers.ts";
import {
  driverFor,
  namespaceMeshes,
  namespaceOnMesh,
  namespaceSwitch,
  podOnMesh,
  rewriteTemplateOptIns,
  templateOptsOutOf,
} from "../meshes/registry.ts";
import { describeMeshRef, workloadName } from "../preflight/describe.ts";
import { hasBlockingWarnings } from "../preflight/preflight.ts";
import {
  decodeOriginal,
  encodeOriginal,
  meshMarkersOf,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
} from "./bookkeeping.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "./facts.ts";
import { mustDrainBeforeEnrolling } from "./namespace-plan.ts";
import { type MigrationSpecView, resolveBatches } from "./plan.ts";
import { needsCanaryRestart, restartWaves } from "./restarts.ts";

export interface OutlineSpec extends MigrationSpecView {
  strategy: MigrationSpecView["strategy"] & { blockOnWarnings?: boolean | undefined };
}

export interface OutlineInput {
  /** The MeshMigration's name, when known: namespaces it already owns are in progress, not foreign. */
  migration?: string | undefined;
  /** The parsed spec (parseSpec's output fits). */
  spec: OutlineSpec;
  /** Every namespace in the cluster, by name. */
  namespaces: ReadonlyMap<string, NamespaceFacts>;
  workloadsIn: (namespace: string) => readonly WorkloadFacts[];
  podsIn: (namespace: string) => readonly PodObservation[];
  targetControlPlane: ControlPlaneFacts;
  /** The preflight's findings (preflightWarnings), published with the plan. */
  warnings: readonly MigrationWarning[];
}

const NONE: MeshRef = { mesh: "none" };
const JOB_NAME_LABELS = ["batch.kubernetes.io/job-name", "job-name"];

/** A change as kubectl writes it: "key-" removes, "key=value" sets. */
function edits(change: MarkerChange): Pick<PlannedNamespaceChange, "labels" | "annotations"> {
  const of = (remove: string[], set: Record<string, string>) => [
    ...remove.map((key) => `${key}-`),
    ...Object.entries(set).map(([key, value]) => `${key}=${value}`),
  ];
  return {
    labels: of(change.remove.labels, change.set.labels),
    annotations: of(change.remove.annotations, change.set.annotations),
  };
}

/** Keeps a list within the status schema's bound, counting what was left out in a last entry. */
function capped<T>(items: readonly T[], more: (count: number) => T): T[] {
  if (items.length <= MAX_PLAN_LIST_ITEMS) return [...items];
  const kept = items.slice(0, MAX_PLAN_LIST_ITEMS - 1);
  return [...kept, more(items.length - kept.length)];
}

function unmanagedPodName(pod: PodObservation): string {
  const labels = pod.metadata.labels ?? {};
  const job = JOB_NAME_LABELS.map((key) => labels[key]).find((value) => value !== undefined);
  return job ? `${pod.metadata.name} (Job ${job})` : pod.metadata.name;
}

/** Whether the namespace leaves the source before enrolling in the target, as the planner does it. */
function drainsFirst(spec: OutlineSpec, managedPods: readonly PodObservation[]): boolean {
  const sourcePodsRemain =
    spec.source.mesh !== "none" && managedPods.some((pod) => podOnMesh(pod, spec.source));
  return mustDrainBeforeEnrolling(spec.source, spec.target) && sourcePodsRemain;
}

function namespaceChanges(
  input: OutlineInput,
  ns: NamespaceFacts,
  managedPods: readonly PodObservation[],
): PlannedNamespaceChange[] {
  const { source, target } = input.spec;
  const changes: PlannedNamespaceChange[] = [];
  const owner = ns.markers.annotations[OWNER_ANNOTATION];
  const recorded =
    owner !== undefined &&
    owner === input.migration &&
    decodeOriginal(ns.markers.annotations[ORIGINAL_ANNOTATION]) !== undefined;
  if (!recorded) {
    changes.push({
      step:
        "first, record the namespace's original mesh markers and its owner, for rollback (the owner label " +
        "also puts the namespace under the double-mesh guard)",
      labels: [`${OWNER_LABEL}=${input.migration ?? "<migration name>"}`],
      annotations: [
        `${OWNER_ANNOTATION}=${input.migration ?? "<migration name>"}`,
        `${ORIGINAL_ANNOTATION}=${encodeOriginal(meshMarkersOf(ns.markers))}`,
      ],
    });
  }
  const from = describeMeshRef(source);
  const to = describeMeshRef(target);
  if (drainsFirst(input.spec, managedPods)) {
    const leave = namespaceSwitch(source, NONE, ns.markers);
    const join = namespaceSwitch(source, target, applyChange(ns.markers, leave));
    changes.push(
      {
        step: `leave ${from} first: ${to} would capture pods that still run the ${from} proxy`,
        ...edits(leave),
      },
      { step: `once every ${from} pod has restarted out, join ${to} (no restart needed)`, ...edits(join) },
    );
    return changes;
  }
  const change = namespaceSwitch(source, target, ns.markers);
  if (!isNoChange(change, ns.markers)) {
    changes.push({
      step: `switch from ${from} to ${to} in one patch, so the namespace never enrolls both`,
      ...edits(change),
    });
  }
  return changes;
}

/**
 * Meshes other than the one the namespace is meant to enroll in now, once it does: a user's edit
 * the planner refuses to remove (it halts on ConflictingMeshMarkers), so a blocker here too.
 */
function strayMeshes(
  spec: OutlineSpec,
  ns: NamespaceFacts,
  managedPods: readonly PodObservation[],
): string[] {
  const stage = drainsFirst(spec, managedPods) ? NONE : spec.target;
  const enrolled = namespaceMeshes(ns.markers);
  const onStage = stage.mesh === "none" ? enrolled.length === 0 : namespaceOnMesh(ns.markers, stage);
  return onStage ? enrolled.filter((mesh) => mesh !== stage.mesh) : [];
}

interface WorkloadPlan {
  rewrites: PlannedTemplateRewrite[];
  restarts: string[];
  notRestarted: PlannedSkip[];
}

function planWorkloads(
  input: OutlineInput,
  workloads: readonly WorkloadFacts[],
  managedPods: readonly PodObservation[],
): WorkloadPlan {
  const { source, target } = input.spec;
  const rewriting = input.spec.strategy.workloadOverrides === "Rewrite";
  const sourceDriver = source.mesh === "none" ? undefined : driverFor(source.mesh);
  const targetDriver = target.mesh === "none" ? undefined : driverFor(target.mesh);
  const to = describeMeshRef(target);
  const plan: WorkloadPlan = { rewrites: [], restarts: [], notRestarted: [] };

  const ordered = [...workloads].sort((a, b) => workloadName(a).localeCompare(workloadName(b)));
  for (const workload of ordered) {
    const name = workloadName(workload);
    const rewrite = rewriteTemplateOptIns(source, target, workload.template).changes;
    const rewritten = rewriting && hasChanges(rewrite);
    if (hasChanges(rewrite)) plan.rewrites.push({ workload: name, ...edits(rewrite) });
    const template = rewritten ? applyChange(workload.template, rewrite) : workload.template;
    const onTarget =
      target.mesh === "none" || (!workload.templateHostNetwork && !templateOptsOutOf(template, target.mesh));
    const pods = managedPods.filter(
      (pod) => pod.owner?.kind === workload.kind && pod.owner.name === workload.name && !pod.terminating,
    );
    const needsRestart = (pod: PodObservation) =>
      (sourceDriver?.leaveRequiresRestart === true && podOnMesh(pod, source)) ||
      (onTarget && targetDriver?.joinRequiresRestart === true && !podOnMesh(pod, target));
    if (rewritten || pods.some(needsRestart)) {
      plan.restarts.push(name);
      continue;
    }
    plan.notRestarted.push({
      workload: name,
      reason:
        pods.length === 0
          ? "no pods (scaled to zero): its next pods are created on the target by the namespace's markers"
          : workload.templateHostNetwork
            ? `hostNetwork: ${to} does not mesh host-network pods`
            : !onTarget
              ? `its pod template opts out of ${to}`
              : pods.every((pod) => podOnMesh(pod, target))
                ? `already on ${to}`
                : `no restart needed: the move to ${to} applies to running pods`,
    });
  }
  return plan;
}

function outlineNamespace(
  input: OutlineInput,
  name: string,
  blockers: PlanBlocker[],
): NamespaceOutline & { restartCount: number; unmanagedCount: number } {
  const ns = input.namespaces.get(name);
  if (!ns) {
    blockers.push({
      reason: "NamespaceNotFound",
      namespace: name,
      message: `Namespace ${name} does not exist. Create it, or remove it from spec.batches.`,
    });
    return {
      name,
      exists: false,
      meshes: [],
      changes: [],
      templateRewrites: [],
      restartWaves: [],
      notRestarted: [],
      unmanagedPods: [],
      note: "does not exist",
      restartCount: 0,
      unmanagedCount: 0,
    };
  }

  const owner = ns.markers.annotations[OWNER_ANNOTATION];
  let note: string | undefined;
  if (owner !== undefined && owner !== input.migration) {
    blockers.push({
      reason: "NamespaceOwnedByAnotherMigration",
      namespace: name,
      message:
        `Namespace ${name} is being migrated by MeshMigration ${owner}; remove it from one of the two migrations.` +
        (input.migration === undefined
          ? " (If that is this migration, give the manifest its metadata.name.)"
          : ""),
    });
  } else if (owner !== undefined) {
    note = "already being migrated by this MeshMigration: the plan shows what is left";
  }
  if (ns.terminating) {
    blockers.push({
      reason: "NamespaceTerminating",
      namespace: name,
      message: `Namespace ${name} is being deleted; remove it from spec.batches.`,
    });
  }

  const live = input.podsIn(name).filter((pod) => pod.phase !== "Succeeded" && pod.phase !== "Failed");
  const managed = live.filter((pod) => pod.owner !== undefined);
  const unmanaged = live.filter((pod) => pod.unmanaged).map(unmanagedPodName);
  const workloads = planWorkloads(input, input.workloadsIn(name), managed);

  const strays = strayMeshes(input.spec, ns, managed);
  if (strays.length > 0) {
    blockers.push({
      reason: "ConflictingMeshMarkers",
      namespace: name,
      message:
        `Namespace ${name} already enrolls in ${describeMeshRef(input.spec.target)} but also carries the markers ` +
        `of ${strays.join(", ")}, so new pods could join two meshes. Remove the stray markers.`,
    });
  }

  if (input.spec.strategy.workloadOverrides === "Fail" && workloads.rewrites.length > 0) {
    const names = workloads.rewrites.map((rewrite) => rewrite.workload).join(", ");
    blockers.push({
      reason: "WorkloadOverridesFound",
      namespace: name,
      message:
        `Pod templates in namespace ${name} pin themselves to ${describeMeshRef(input.spec.source)}: ${names}. ` +
        "Remove those opt-ins, or set spec.strategy.workloadOverrides: Rewrite to let the operator rewrite them " +
        "(the originals are recorded on each workload).",
    });
  }

  return {
    name,
    exists: true,
    meshes: namespaceMeshes(ns.markers),
    changes: namespaceChanges(input, ns, managed),
    templateRewrites: workloads.rewrites,
    restartWaves: restartWaves(
      workloads.restarts,
      input.spec.strategy.maxConcurrentRollouts,
      needsCanaryRestart(input.spec.target),
    ),
    notRestarted: workloads.notRestarted,
    unmanagedPods: capped(unmanaged, (count) => `... and ${count} more`),
    note,
    restartCount: workloads.restarts.length,
    unmanagedCount: unmanaged.length,
  };
}

function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}

export function outlineMigration(input: OutlineInput): MigrationOutline {
  const { spec } = input;
  const blockers: PlanBlocker[] = [];
  if (!input.targetControlPlane.ready) {
    blockers.push({
      reason: "TargetControlPlaneNotReady",
      message:
        `The ${describeMeshRef(spec.target)} control plane is not ready, so nothing would be restarted: ` +
        `${input.targetControlPlane.problems.join("; ")}.`,
    });
  }

  const resolved = resolveBatches(spec, input.namespaces);
  const gate =
    spec.stopAfterBatch === undefined ? -1 : resolved.findIndex((b) => b.name === spec.stopAfterBatch);
  let namespaceCount = 0;
  let restartCount = 0;
  let unmanagedCount = 0;
  const batches = resolved.map((batch, index) => ({
    name: batch.name,
    held: gate >= 0 && index > gate,
    namespaces: batch.namespaces.map((name) => {
      const {
        restartCount: restarts,
        unmanagedCount: unmanaged,
        ...outline
      } = outlineNamespace(input, name, blockers);
      namespaceCount++;
      restartCount += restarts;
      unmanagedCount += unmanaged;
      return outline;
    }),
  }));

  const warnings = capped(input.warnings, (count) => ({
    code: "MoreWarnings",
    severity: "Warning" as const,
    message: `${count} more warnings are not shown.`,
  }));
  const blockingWarnings = input.warnings.filter((warning) => warning.severity === "Blocking").length;
  const blocked =
    blockers.length > 0 || (spec.strategy.blockOnWarnings !== false && hasBlockingWarnings(input.warnings));
  const modes = [
    spec.rollback === true
      ? "spec.rollback is true: this is the forward plan; a rollback instead restores every touched namespace."
      : undefined,
    spec.paused ? "spec.paused is true: nothing starts until it is false." : undefined,
  ].filter((mode) => mode !== undefined);
  const summary =
    `${describeMeshRef(spec.source)} → ${describeMeshRef(spec.target)}: ${plural(namespaceCount, "namespace")} in ` +
    `${plural(batches.length, "batch", "batches")}, ` +
    `${plural(restartCount, "workload restart")}, ${plural(unmanagedCount, "pod")} to recreate by hand; ` +
    `${plural(blockers.length, "blocker")}, ${plural(input.warnings.length, "warning")} (${blockingWarnings} blocking). ` +
    (blocked ? "The migration would stop before changing anything." : "Nothing stops the migration.") +
    modes.map((mode) => ` ${mode}`).join("");

  return {
    source: describeMeshRef(spec.source),
    target: describeMeshRef(spec.target),
    blocked,
    summary,
    batches,
    blockers: capped(blockers, (count) => ({
      reason: "MoreBlockers",
      message: `${count} more blockers are not shown.`,
    })),
    warnings,
  };
}
