// Holds the plan's promise on one generated cluster: publish the dry-run plan, then run the
// real reconciler and executor against the model cluster to the end, and compare every write
// the model accepted with the plan: the same namespace patches, template rewrites and restarts,
// in an order the plan allows, and nothing the plan did not list.
import type { MigrationOutline } from "../../src/api/schema.ts";
import { ModelCluster, type ModelWrite } from "./model-cluster.ts";
import { namespacePatch, plannedWrites, restart } from "./plan-writes.ts";
import { type Scenario, seeded } from "./scenarios.ts";

const MIGRATION = "sim";
const LOOP_LIMIT = 400;
/** Loops with nothing rolling and nothing written before a run counts as settled. */
const QUIET_LOOPS = 3;
const START = Date.parse("2026-12-01T00:00:00Z");

export interface PlanCheck {
  seed: number;
  surprises: string[];
  writes: number;
  phase: string | undefined;
  blocked: boolean;
  /** The reasons of the plan's blockers. */
  blockers: string[];
}

type StepWrite = { namespace: string; what: string; index: number };

/** A write as the plan would list it (plan-writes.ts), or undefined for the migration's own writes. */
function describeWrite(write: ModelWrite): { namespace: string; what: string } | undefined {
  if (write.kind === "Namespace")
    return { namespace: write.name, what: namespacePatch(write.labels, write.annotations) };
  if (write.kind === "MeshMigration" || write.kind === "MeshMigrationStatus") return undefined;
  const workload = `${write.kind.toLowerCase()}/${write.name}`;
  return {
    namespace: write.namespace,
    what: restart(workload, write.templateLabels, write.templateAnnotations),
  };
}

function build(scenario: Scenario): ModelCluster {
  const model = new ModelCluster(scenario.options);
  for (const ns of scenario.namespaces) model.addNamespace(ns.name, ns.labels, ns.annotations);
  for (const workload of scenario.workloads) model.addWorkload(workload);
  for (const pod of scenario.unmanagedPods) model.addUnmanagedPod(pod.namespace, pod.name, pod);
  model.addMigration(MIGRATION, { ...scenario.spec, dryRun: true, paused: scenario.pausedFor > 0 });
  return model;
}

export async function checkPlanKept(scenario: Scenario): Promise<PlanCheck> {
  const random = seeded(scenario.seed ^ 0x5eed);
  const model = build(scenario);
  let clock = START;
  const reconciler = model.reconciler(() => new Date(clock));
  const surprises: string[] = [];
  const statusOf = () =>
    model.caches.migrations.get(MIGRATION)?.status as { phase?: string; plan?: MigrationOutline } | undefined;

  // 1. The dry run: it writes the plan into status and nothing else.
  for (let i = 0; i < 5 && statusOf()?.plan === undefined; i++) await reconciler.reconcile(MIGRATION);
  const plan = statusOf()?.plan;
  if (!plan)
    return {
      seed: scenario.seed,
      surprises: ["no status.plan after the dry run"],
      writes: 0,
      phase: undefined,
      blocked: false,
      blockers: [],
    };
  const dryRunWrites = model.writes.map(describeWrite).filter((w) => w !== undefined);
  if (dryRunWrites.length > 0)
    surprises.push(`the dry run changed the cluster: ${dryRunWrites.map((w) => w.what).join("; ")}`);
  const firstRealWrite = model.writes.length;

  // 2. Carry it out: the operator loop against a cluster whose rollouts finish at random moments.
  model.setMigrationSpec(MIGRATION, (spec) => {
    spec.dryRun = false;
  });
  let quiet = 0;
  for (let loop = 0; loop < LOOP_LIMIT && quiet < QUIET_LOOPS; loop++) {
    if (loop === scenario.pausedFor && scenario.pausedFor > 0) {
      const pausedWrites = model.writes
        .slice(firstRealWrite)
        .map(describeWrite)
        .filter((w) => w !== undefined);
      if (pausedWrites.length > 0) surprises.push(`wrote while paused: ${pausedWrites[0]?.what}`);
      model.setMigrationSpec(MIGRATION, (spec) => {
        spec.paused = false;
      });
    }
    const before = model.writes.length;
    await reconciler.reconcile(MIGRATION);
    model.tick(random, 0.6);
    clock += 1000;
    const paused = loop < scenario.pausedFor;
    quiet = !paused && model.writes.length === before && !model.rolling ? quiet + 1 : 0;
  }
  const phase = statusOf()?.phase;
  if (quiet < QUIET_LOOPS) surprises.push(`did not settle within ${LOOP_LIMIT} loops (phase ${phase})`);

  // 3. Compare.
  const writes: StepWrite[] = model.writes
    .slice(firstRealWrite)
    .map((write, index) => {
      const described = describeWrite(write);
      return described ? { ...described, index } : undefined;
    })
    .filter((w) => w !== undefined);
  surprises.push(...compare(plan, writes, scenario, phase));
  return {
    seed: scenario.seed,
    surprises,
    writes: writes.length,
    phase,
    blocked: plan.blocked,
    blockers: plan.blockers.map((b) => b.reason),
  };
}

/** Where the plan says the migration stops: the first batch a blocker holds (0 for a blocker of the whole migration). */
function stopIndex(plan: MigrationOutline): number {
  // A blocker of the whole migration, or a blocking preflight warning: nothing starts.
  if (plan.blockers.some((b) => b.namespace === undefined) || (plan.blocked && plan.blockers.length === 0))
    return 0;
  const blocked = new Set(plan.blockers.map((b) => b.namespace));
  const index = plan.batches.findIndex((b) => b.namespaces.some((ns) => blocked.has(ns.name)));
  return index < 0 ? plan.batches.length : index;
}

function compare(
  plan: MigrationOutline,
  writes: readonly StepWrite[],
  scenario: Scenario,
  phase: string | undefined,
): string[] {
  const surprises: string[] = [];
  const stop = stopIndex(plan);
  const heldFrom = plan.batches.findIndex((b) => b.held);
  const end = Math.min(stop, heldFrom < 0 ? plan.batches.length : heldFrom);
  const batchOf = new Map<string, number>();
  plan.batches.forEach((batch, index) => {
    for (const ns of batch.namespaces) batchOf.set(ns.name, index);
  });

  for (const write of writes) {
    if (!batchOf.has(write.namespace))
      surprises.push(`wrote to ${write.namespace}, which the plan does not list: ${write.what}`);
  }
  plan.batches.forEach((batch, index) => {
    for (const ns of batch.namespaces) {
      const planned = plannedWrites(ns);
      const actual = writes.filter((w) => w.namespace === ns.name).map((w) => w.what);
      const where = `batch ${batch.name} namespace ${ns.name}`;
      if (index < end) {
        if (actual.join("\n") !== planned.join("\n")) {
          surprises.push(`${where}: planned [${planned.join("; ")}] but wrote [${actual.join("; ")}]`);
        }
      } else if (index === stop && stop < (heldFrom < 0 ? Number.POSITIVE_INFINITY : heldFrom)) {
        // The batch the migration stops in: each namespace got a prefix of its plan.
        if (planned.slice(0, actual.length).join("\n") !== actual.join("\n")) {
          surprises.push(
            `${where} (where it stops): planned [${planned.join("; ")}] but wrote [${actual.join("; ")}]`,
          );
        }
      } else if (actual.length > 0) {
        surprises.push(
          `${where} is ${batch.held ? "held by the gate" : "after a blocker"} but was written: ${actual[0]}`,
        );
      }
    }
  });

  // Batches in order: every write of a batch before the first write of the next.
  for (let index = 1; index < plan.batches.length; index++) {
    const earlier = writes.filter((w) => (batchOf.get(w.namespace) ?? -1) < index);
    const first = writes.find((w) => batchOf.get(w.namespace) === index);
    const lastEarlier = earlier.at(-1);
    if (first && lastEarlier && lastEarlier.index > first.index) {
      surprises.push(`batch ${plan.batches[index]?.name} started before the batch before it was done`);
    }
  }
  // At most maxConcurrentNamespaces namespaces in flight (between their first and last write).
  const spans = [...new Set(writes.map((w) => w.namespace))].map((ns) => {
    const own = writes.filter((w) => w.namespace === ns);
    return { ns, from: own[0]?.index ?? 0, to: own.at(-1)?.index ?? 0 };
  });
  for (const span of spans) {
    const open = spans.filter((other) => other.from <= span.from && other.to >= span.from).length;
    if (open > scenario.spec.strategy.maxConcurrentNamespaces) {
      surprises.push(
        `${open} namespaces in flight at once, above maxConcurrentNamespaces ${scenario.spec.strategy.maxConcurrentNamespaces}`,
      );
      break;
    }
  }
  // Where the plan goes through, the migration ends where the plan says.
  const expected =
    end === plan.batches.length ? "Succeeded" : heldFrom >= 0 && heldFrom <= stop ? "Holding" : undefined;
  if (expected && phase !== expected) surprises.push(`ended ${phase}, the plan promised ${expected}`);
  if (plan.blocked && phase === "Succeeded")
    surprises.push("the plan named a blocker, yet the migration succeeded");
  return surprises;
}
