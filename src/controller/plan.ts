// The migration-level planner: a pure function from a MeshMigration's spec and
// the observed cluster to the next actions and the status to publish. Batches
// run in order; within the current batch at most maxConcurrentNamespaces move at
// once; a gate (stopAfterBatch) holds the migration; anything that halts stops
// every new step while running rollouts settle.
import { PROTECTED_NAMESPACES } from "../api/constants.ts";
import { type LabelSelector, matchesSelector } from "../api/label-selector.ts";
import type {
  BatchStatus,
  MeshMigrationStatus,
  MigrationWarning,
  NamespaceStatus,
  Phase,
} from "../api/schema.ts";
import type { MeshRef } from "../meshes/driver.ts";
import type { Action, StepEvent } from "./actions.ts";
import { OWNER_ANNOTATION } from "./bookkeeping.ts";
import { type Condition, type ConditionInput, mergeConditions, newlyRaised } from "./conditions.ts";
import { parseDurationMs } from "./duration.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "./facts.ts";
import { type NamespacePlan, type PodCounts, type Problem, planNamespaceForward } from "./namespace-plan.ts";
import { planNamespaceRollback } from "./namespace-rollback.ts";

export type MigrationPhase = Phase;

/** The parts of a MeshMigration spec the planner reads (defaults already applied). */
export interface MigrationSpecView {
  source: MeshRef;
  target: MeshRef;
  batches: Array<{
    name: string;
    namespaces?: string[] | undefined;
    namespaceSelector?: LabelSelector | undefined;
  }>;
  strategy: {
    maxConcurrentNamespaces: number;
    maxConcurrentRollouts: number;
    rolloutTimeout: string;
    workloadOverrides: "Rewrite" | "Fail";
    blockOnWarnings?: boolean | undefined;
  };
  stopAfterBatch?: string | undefined;
  paused: boolean;
  rollback?: boolean | undefined;
}

export interface MigrationPlanInput {
  name: string;
  generation: number;
  spec: MigrationSpecView;
  previousConditions?: readonly Condition[] | undefined;
  /** Each namespace's phase as last published, to report transitions (e.g. verified) once. */
  previousNamespacePhases?: ReadonlyMap<string, string> | undefined;
  /** Every namespace in the cluster, by name. */
  namespaces: ReadonlyMap<string, NamespaceFacts>;
  workloadsIn: (namespace: string) => WorkloadFacts[];
  podsIn: (namespace: string) => PodObservation[];
  targetControlPlane: ControlPlaneFacts;
  /** Cross-mesh traffic warnings from the preflight (src/preflight). */
  warnings?: readonly MigrationWarning[] | undefined;
  /** The source mesh's control plane: a rollback restarts pods back into it. */
  sourceControlPlane?: ControlPlaneFacts | undefined;
  now: Date;
}

export type { BatchStatus, NamespaceStatus };

/** The status the planner computes: the schema's status, with the fields it always sets required. */
export type MigrationStatusView = Required<
  Pick<
    MeshMigrationStatus,
    | "phase"
    | "observedGeneration"
    | "progress"
    | "migratedNamespaces"
    | "totalNamespaces"
    | "doubleMeshedPods"
    | "conditions"
    | "batches"
    | "namespaces"
  >
> &
  Pick<MeshMigrationStatus, "currentBatch">;

export interface MigrationPlan {
  actions: Action[];
  status: MigrationStatusView;
  /** Events for conditions that were just raised (the actions carry their own). */
  events: StepEvent[];
  requeueAfterMs?: number | undefined;
}

export interface ResolvedBatch {
  name: string;
  namespaces: string[];
  missing: Set<string>;
}

const PROTECTED = new Set<string>(PROTECTED_NAMESPACES);
/** While anything is in flight, look again at least this often even without events. */
const PROGRESS_RESYNC_MS = 30_000;

/** Each batch's namespaces, in order: listed names, then selector matches; each namespace in its first batch only. */
export function resolveBatches(
  spec: MigrationSpecView,
  namespaces: ReadonlyMap<string, NamespaceFacts>,
): ResolvedBatch[] {
  const claimed = new Set<string>();
  return spec.batches.map((batch) => {
    const names: string[] = [];
    const missing = new Set<string>();
    const add = (name: string) => {
      if (claimed.has(name) || PROTECTED.has(name)) return;
      claimed.add(name);
      names.push(name);
    };
    for (const name of batch.namespaces ?? []) {
      if (!namespaces.has(name)) missing.add(name);
      add(name);
    }
    if (batch.namespaceSelector) {
      const selector = batch.namespaceSelector;
      [...namespaces.values()]
        .filter((ns) => !ns.terminating && matchesSelector(ns.markers.labels, selector))
        .map((ns) => ns.name)
        .sort()
        .forEach(add);
    }
    return { name: batch.name, namespaces: names, missing };
  });
}

/** A namespace the batch rules keep from starting, and why. */
export interface BatchNamespaceProblem {
  namespace: string;
  reason: "NamespaceNotFound" | "NamespaceTerminating" | "NamespaceOwnedByAnotherMigration";
  message: string;
}

/**
 * What keeps a batch from starting, namespace by namespace: it does not exist, it is being
 * deleted, or another migration owns it. The planner holds the whole batch on any of them; the
 * whole plan reports each.
 */
export function batchNamespaceProblems(
  batch: ResolvedBatch,
  namespaces: ReadonlyMap<string, NamespaceFacts>,
  migration: string,
): BatchNamespaceProblem[] {
  return batch.namespaces.flatMap((name): BatchNamespaceProblem[] => {
    const ns = namespaces.get(name);
    if (!ns || batch.missing.has(name)) {
      return [
        {
          namespace: name,
          reason: "NamespaceNotFound",
          message: `Namespace ${name} does not exist. Create it, or remove it from spec.batches.`,
        },
      ];
    }
    const owner = ns.markers.annotations[OWNER_ANNOTATION];
    if (owner !== undefined && owner !== migration) {
      return [
        {
          namespace: name,
          reason: "NamespaceOwnedByAnotherMigration",
          message: `Namespace ${name} is being migrated by MeshMigration ${owner}; remove it from one of the two migrations.`,
        },
      ];
    }
    if (ns.terminating && owner === undefined) {
      return [
        {
          namespace: name,
          reason: "NamespaceTerminating",
          message: `Namespace ${name} is being deleted; remove it from spec.batches.`,
        },
      ];
    }
    return [];
  });
}

/** The batches this migration has changed a namespace of. */
export function startedBatches(
  batches: readonly ResolvedBatch[],
  namespaces: ReadonlyMap<string, NamespaceFacts>,
  migration: string,
): Set<string> {
  const ours = (name: string) => namespaces.get(name)?.markers.annotations[OWNER_ANNOTATION] === migration;
  return new Set(batches.filter((b) => b.namespaces.some(ours)).map((b) => b.name));
}

/** The batch rules' problems as the one reason the batch holds. */
function batchHold(batch: ResolvedBatch, problems: readonly BatchNamespaceProblem[]): Problem | undefined {
  const named = (reason: BatchNamespaceProblem["reason"]) =>
    problems.filter((p) => p.reason === reason).map((p) => p.namespace);
  const missing = named("NamespaceNotFound");
  const foreign = named("NamespaceOwnedByAnotherMigration");
  const terminating = named("NamespaceTerminating");
  if (missing.length > 0) {
    return {
      reason: "NamespaceNotFound",
      message:
        `Batch ${batch.name} names namespace(s) that do not exist: ${missing.join(", ")}. Nothing in the batch ` +
        "was changed. Create them, or remove them from spec.batches.",
      halts: false,
    };
  }
  if (foreign.length > 0) {
    return {
      reason: "NamespaceOwnedByAnotherMigration",
      message:
        `Batch ${batch.name}: namespace(s) ${foreign.join(", ")} are being migrated by another MeshMigration ` +
        "(see their meshmigration.io/owner annotation). Nothing in the batch was changed; remove them from one " +
        "of the two migrations.",
      halts: false,
    };
  }
  if (terminating.length > 0) {
    return {
      reason: "NamespaceTerminating",
      message:
        `Batch ${batch.name}: namespace(s) ${terminating.join(", ")} are being deleted. Nothing in the batch was ` +
        "changed; remove them from spec.batches.",
      halts: false,
    };
  }
  return undefined;
}

function emptyCounts(): PodCounts {
  return { target: 0, source: 0, unmeshed: 0, doubleMeshed: 0 };
}

export function planMigration(input: MigrationPlanInput): MigrationPlan {
  const { spec, name } = input;
  const now = input.now.getTime();
  const batches = resolveBatches(spec, input.namespaces);
  const rolloutTimeoutMs = parseDurationMs(spec.strategy.rolloutTimeout);

  const planFor = (nsName: string, mayStart: boolean): NamespacePlan | undefined => {
    const ns = input.namespaces.get(nsName);
    if (!ns) return undefined;
    return planNamespaceForward({
      migration: name,
      source: spec.source,
      target: spec.target,
      workloadOverrides: spec.strategy.workloadOverrides,
      maxConcurrentRollouts: spec.strategy.maxConcurrentRollouts,
      rolloutTimeoutMs,
      ns,
      workloads: input.workloadsIn(nsName),
      pods: input.podsIn(nsName),
      targetControlPlane: input.targetControlPlane,
      now,
      mayStart,
    });
  };
  const ownedByUs = (nsName: string) =>
    input.namespaces.get(nsName)?.markers.annotations[OWNER_ANNOTATION] === name;

  const anyStarted = batches.some((b) => b.namespaces.some(ownedByUs));
  // Pass 1 decides what may start; a halting problem anywhere means nothing new starts anywhere.
  const walk = (mayStartAtAll: boolean) => {
    const plans = new Map<string, NamespacePlan | undefined>();
    const problems: Array<Problem & { namespace: string }> = [];
    let currentBatch: string | undefined;
    let holding = false;
    let batchBlocked: Problem | undefined;
    let completed = 0;

    for (const [index, batch] of batches.entries()) {
      const previous = batches[index - 1];
      const complete = () =>
        batch.missing.size === 0 && batch.namespaces.every((ns) => plans.get(ns)?.phase === "Migrated");
      const started = batch.namespaces.some(ownedByUs);

      if (currentBatch !== undefined || holding) {
        // A later batch: observe only (namespaces may already be ours after a spec edit).
        for (const ns of batch.namespaces) plans.set(ns, planFor(ns, false));
        continue;
      }
      if (previous && spec.stopAfterBatch === previous.name && !started) {
        holding = true;
        for (const ns of batch.namespaces) plans.set(ns, planFor(ns, false));
        continue;
      }

      // Preflight before the first change in a batch: every namespace exists and is free.
      const blocking = (input.warnings ?? []).filter((w) => w.severity === "Blocking");
      if (!started && !anyStarted && blocking.length > 0 && spec.strategy.blockOnWarnings !== false) {
        batchBlocked = {
          reason: "BlockingPreflightWarning",
          message:
            `The migration does not start while ${blocking.length} blocking warning(s) stand: ` +
            blocking.map((w) => `[${w.code}${w.namespace ? ` ${w.namespace}` : ""}] ${w.message}`).join(" ") +
            " Resolve them, or acknowledge them with spec.strategy.blockOnWarnings: false.",
          halts: false,
        };
      }
      if (!started && batchBlocked === undefined) {
        batchBlocked = batchHold(batch, batchNamespaceProblems(batch, input.namespaces, name));
      }

      // Namespaces this migration has started go on whatever the slots; until verified, each holds
      // a slot, and a migrated one frees it. Their plans are made once, first, to count the slots.
      const mayContinue = mayStartAtAll && batchBlocked === undefined;
      const startedPlans = new Map(
        batch.namespaces.filter(ownedByUs).map((ns) => [ns, planFor(ns, mayContinue)] as const),
      );
      let inFlight = [...startedPlans.values()].filter((plan) => plan?.phase !== "Migrated").length;
      for (const ns of batch.namespaces) {
        const owned = startedPlans.has(ns);
        const plan = owned
          ? startedPlans.get(ns)
          : planFor(ns, mayContinue && inFlight < spec.strategy.maxConcurrentNamespaces);
        plans.set(ns, plan);
        if (plan && plan.phase !== "Migrated" && !owned && plan.actions.length > 0) inFlight++;
        if (plan?.problem) problems.push({ ...plan.problem, namespace: ns });
      }
      if (complete()) {
        completed++;
        continue;
      }
      currentBatch = batch.name;
    }
    return { plans, problems, currentBatch, holding, batchBlocked, completed };
  };

  // Rollback: every namespace this migration touched, the in-flight ones first, then in reverse
  // batch order, at most maxConcurrentNamespaces at once.
  const walkRollback = (mayStartAtAll: boolean) => {
    const plans = new Map<string, NamespacePlan | undefined>();
    const problems: Array<Problem & { namespace: string }> = [];
    const inBatches = batches.flatMap((b) => b.namespaces);
    const strays = [...input.namespaces.keys()].filter((ns) => ownedByUs(ns) && !inBatches.includes(ns));
    // In flight: touched by this migration and not migrated, read from the namespace and its pods
    // (the forward planner, which only reads), never from the status written earlier.
    const wasInFlight = (ns: string) => ownedByUs(ns) && planFor(ns, false)?.phase !== "Migrated";
    const reverse = [...strays, ...inBatches].reverse();
    const order = [...reverse.filter(wasInFlight), ...reverse.filter((ns) => !wasInFlight(ns))];
    const rollbackFor = (nsName: string, mayStart: boolean) => {
      const ns = input.namespaces.get(nsName);
      if (!ns) return undefined;
      return planNamespaceRollback({
        migration: name,
        source: spec.source,
        target: spec.target,
        maxConcurrentRollouts: spec.strategy.maxConcurrentRollouts,
        rolloutTimeoutMs,
        ns,
        workloads: input.workloadsIn(nsName),
        pods: input.podsIn(nsName),
        sourceControlPlane: input.sourceControlPlane ?? { ready: true, problems: [] },
        now,
        mayStart,
      });
    };
    let active = 0;
    for (const ns of order) {
      // A namespace already rolled back plans no action either way and takes no slot.
      const plan = rollbackFor(ns, mayStartAtAll && active < spec.strategy.maxConcurrentNamespaces);
      if (plan && plan.phase !== "RolledBack") active++;
      plans.set(
        ns,
        plan ?? {
          phase: "RolledBack",
          actions: [],
          workloads: { total: 0, restarted: 0, ready: 0 },
          pods: emptyCounts(),
          doubleMeshedPods: [],
          unmanagedPods: [],
          message: "namespace does not exist: nothing to undo",
        },
      );
      if (plan?.problem) problems.push({ ...plan.problem, namespace: ns });
    }
    const strayBatch: ResolvedBatch = { name: "(removed from spec)", namespaces: strays, missing: new Set() };
    return {
      plans,
      problems,
      currentBatch: undefined as string | undefined,
      holding: false,
      batchBlocked: undefined as Problem | undefined,
      completed: 0,
      extraBatches: strays.length > 0 ? [strayBatch] : [],
    };
  };
  const rollingBack = spec.rollback === true;
  const run = (mayStartAtAll: boolean) =>
    rollingBack
      ? walkRollback(mayStartAtAll)
      : { ...walk(mayStartAtAll), extraBatches: [] as ResolvedBatch[] };

  let result = run(!spec.paused);
  const doubleMeshed = batches
    .flatMap((b) => b.namespaces)
    .flatMap((ns) => (result.plans.get(ns)?.doubleMeshedPods ?? []).map((pod) => `${ns}/${pod}`));
  const halting = result.problems.find((p) => p.halts);
  if (!spec.paused && (halting || doubleMeshed.length > 0)) result = run(false);

  // Status.
  const namespaceStatuses: NamespaceStatus[] = [];
  const batchStatuses: BatchStatus[] = [];
  let migratedCount = 0;
  let total = 0;
  const doneIn = rollingBack ? "RolledBack" : "Migrated";
  for (const batch of [...batches, ...result.extraBatches]) {
    let migrated = 0;
    const listed = [...batch.namespaces];
    for (const ns of listed) {
      total++;
      const plan = result.plans.get(ns);
      if (plan?.phase === doneIn) migrated++;
      namespaceStatuses.push(
        plan
          ? {
              name: ns,
              batch: batch.name,
              phase: plan.phase,
              workloads: plan.workloads,
              pods: plan.pods,
              doubleMeshedPods: plan.doubleMeshedPods.length > 0 ? plan.doubleMeshedPods : undefined,
              unmanagedPods: plan.unmanagedPods.length > 0 ? plan.unmanagedPods : undefined,
              message: plan.problem ? plan.problem.message : plan.message,
            }
          : {
              name: ns,
              batch: batch.name,
              phase: "Blocked",
              workloads: { total: 0, restarted: 0, ready: 0 },
              pods: emptyCounts(),
              message: `namespace ${ns} does not exist`,
            },
      );
    }
    migratedCount += migrated;
    const isCurrent = batch.name === result.currentBatch;
    batchStatuses.push({
      name: batch.name,
      phase:
        migrated === listed.length && batch.missing.size === 0
          ? doneIn
          : rollingBack
            ? "RollingBack"
            : isCurrent && result.batchBlocked
              ? "Blocked"
              : isCurrent
                ? "InProgress"
                : "Pending",
      namespaces: listed,
      migrated,
    });
  }
  const allDone = result.currentBatch === undefined && !result.holding;
  const blockingProblem: Problem | undefined =
    result.batchBlocked ?? result.problems.find((p) => p.halts) ?? result.problems[0];
  const halted = !spec.paused && (result.problems.some((p) => p.halts) || doubleMeshed.length > 0);

  // Paused with nothing left to do is still done: a pause never makes a finished migration unready.
  const settled = rollingBack ? migratedCount === total : allDone || result.holding;
  let phase: MigrationPhase;
  if (spec.paused && !settled) phase = "Paused";
  else if (halted) phase = "Failed";
  else if (rollingBack) phase = migratedCount === total ? "RolledBack" : "RollingBack";
  else if (allDone) phase = "Succeeded";
  else if (result.holding) phase = "Holding";
  else if (migratedCount === 0 && !batches.flatMap((b) => b.namespaces).some(ownedByUs)) phase = "Pending";
  else phase = "Progressing";

  const nextBatch = batches.find(
    (b) =>
      b.name !== spec.stopAfterBatch && batchStatuses.find((s) => s.name === b.name)?.phase !== "Migrated",
  );
  const conditionInputs: ConditionInput[] = [
    readyCondition(phase, spec, nextBatch?.name, blockingProblem),
    {
      type: "Progressing",
      status: (phase === "Progressing" || phase === "RollingBack") && !blockingProblem ? "True" : "False",
      reason:
        phase === "RollingBack" && !blockingProblem
          ? "RollingBack"
          : phase === "Progressing" && !blockingProblem
            ? "NamespacesMoving"
            : phase === "Progressing" || phase === "Pending"
              ? (blockingProblem?.reason ?? "Waiting")
              : phase,
      message:
        phase === "RollingBack" && !blockingProblem
          ? `${migratedCount}/${total} namespaces rolled back to ${spec.source.mesh}`
          : phase === "Progressing" && !blockingProblem
            ? `Batch ${result.currentBatch}: ${migratedCount}/${total} namespaces migrated`
            : (blockingProblem?.message ?? `Migration is ${phase}`),
    },
    {
      type: "Degraded",
      status: blockingProblem || doubleMeshed.length > 0 ? "True" : "False",
      reason: doubleMeshed.length > 0 ? "DoubleMeshDetected" : (blockingProblem?.reason ?? "AsExpected"),
      message:
        doubleMeshed.length > 0
          ? doubleMeshMessage(doubleMeshed)
          : (blockingProblem?.message ?? "No problem found"),
    },
    {
      type: "DoubleMeshDetected",
      status: doubleMeshed.length > 0 ? "True" : "False",
      reason: doubleMeshed.length > 0 ? "PodsInTwoMeshes" : "NoDoubleMeshedPods",
      message: doubleMeshed.length > 0 ? doubleMeshMessage(doubleMeshed) : "No pod is meshed twice",
    },
    {
      type: "Paused",
      status: spec.paused ? "True" : "False",
      reason: spec.paused ? "PausedBySpec" : "NotPaused",
      message: spec.paused
        ? "spec.paused is true: no new namespace step or restart starts; rollouts already running settle. " +
          "Set spec.paused: false to resume."
        : "Not paused",
    },
    { type: "InvalidSpec", status: "False", reason: "SpecValid", message: "The spec is valid" },
  ];
  const conditions = mergeConditions(input.previousConditions, conditionInputs, input.generation, input.now);
  const events: StepEvent[] = newlyRaised(input.previousConditions, conditionInputs)
    .filter((c) => c.type === "Degraded" || c.type === "Paused" || c.type === "Ready")
    .map((c) => ({
      type: c.type === "Degraded" ? "Warning" : "Normal",
      reason: c.type === "Degraded" ? c.reason : c.type === "Paused" ? "Paused" : phase,
      message: c.message,
    }));

  for (const ns of namespaceStatuses) {
    const before = input.previousNamespacePhases?.get(ns.name);
    if (ns.phase === doneIn && before !== undefined && before !== doneIn) {
      events.push({
        type: "Normal",
        reason: rollingBack ? "NamespaceRolledBack" : "NamespaceVerified",
        message: `Namespace ${ns.name} (batch ${ns.batch}): ${ns.message ?? "verified"}`,
      });
    }
  }
  const actions = [...result.plans.values()].flatMap((plan) => plan?.actions ?? []);
  const rechecks = [...result.plans.values()]
    .map((plan) => plan?.recheckAfterMs)
    .filter((ms): ms is number => ms !== undefined);
  const moving =
    phase === "Progressing" ||
    phase === "RollingBack" ||
    phase === "Paused" ||
    phase === "Failed" ||
    phase === "Pending";
  const requeueAfterMs = Math.min(...rechecks, moving ? PROGRESS_RESYNC_MS : Number.POSITIVE_INFINITY);

  return {
    actions,
    events,
    requeueAfterMs: Number.isFinite(requeueAfterMs) ? requeueAfterMs : undefined,
    status: {
      phase,
      observedGeneration: input.generation,
      currentBatch: result.currentBatch ?? (result.holding ? spec.stopAfterBatch : batches.at(-1)?.name),
      progress: `${migratedCount}/${total}`,
      migratedNamespaces: migratedCount,
      totalNamespaces: total,
      doubleMeshedPods: doubleMeshed.length,
      conditions,
      batches: batchStatuses,
      namespaces: namespaceStatuses,
    },
  };
}

function doubleMeshMessage(pods: string[]): string {
  const shown = pods.slice(0, 10).join(", ");
  return (
    `${pods.length} pod(s) run two meshes' proxies at once: ${shown}${pods.length > 10 ? ", ..." : ""}. ` +
    "The migration is halted: nothing new starts. Remove the stray opt-in or namespace marker that let the second " +
    "mesh in, restart those pods, and the migration resumes by itself."
  );
}

function readyCondition(
  phase: MigrationPhase,
  spec: MigrationSpecView,
  nextBatch: string | undefined,
  problem: Problem | undefined,
): ConditionInput {
  if (phase === "Succeeded") {
    return {
      type: "Ready",
      status: "True",
      reason: "Succeeded",
      message: `Every namespace is verified on ${spec.target.mesh}`,
    };
  }
  if (phase === "RolledBack") {
    return {
      type: "Ready",
      status: "True",
      reason: "RolledBack",
      message:
        `Every namespace this migration touched is back to its recorded original markers and its pods are on ` +
        `${spec.source.mesh}. Set spec.rollback: false to migrate forward again.`,
    };
  }
  if (phase === "Holding") {
    return {
      type: "Ready",
      status: "True",
      reason: "HoldingAtBatch",
      message:
        `Batch ${spec.stopAfterBatch} and those before it are verified; holding as spec.stopAfterBatch asks. ` +
        `To advance to ${nextBatch ?? "the next batch"}, set spec.stopAfterBatch to a later batch or remove it.`,
    };
  }
  return {
    type: "Ready",
    status: "False",
    reason: problem?.reason ?? phase,
    message: problem?.message ?? `Migration is ${phase}`,
  };
}
