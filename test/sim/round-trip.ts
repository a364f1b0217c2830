// Migrate, then roll back, then delete the MeshMigration: the identity, on a generated cluster.
// The migration runs forward for a random number of loops (to the end, or stopped anywhere),
// a user edits unrelated labels and annotations in between, then the rollback runs to the end
// and the MeshMigration is deleted. Every namespace must carry exactly what it carried before
// (plus the user's edits), every pod template too (the restart stamp aside), and every workload's
// pods must be on the meshes they were on.
import { RESTART_STAMP_ANNOTATION } from "../../src/controller/bookkeeping.ts";
import {
  isDoubleMeshed,
  meshesOfPod,
  namespaceOnMesh,
  podOnMesh,
  withComparableRevisions,
} from "../../src/meshes/registry.ts";
import { ModelCluster } from "./model-cluster.ts";
import { type Random, type Scenario, seeded } from "./scenarios.ts";

const MIGRATION = "round-trip";
const LOOP_LIMIT = 400;
const START = Date.parse("2026-12-01T00:00:00Z");
const USER_LABEL = "team.example.com/edited";

export interface RoundTrip {
  seed: number;
  namespaces: number;
  /** Rolled back, or deleted mid-migration. */
  ended: "rolled back" | "deleted";
  differences: string[];
}

type Snapshot = Map<string, string>;

/** Everything the round trip must give back, as comparable strings keyed by object. */
function snapshot(model: ModelCluster, namespaces: readonly string[]): Snapshot {
  const out: Snapshot = new Map();
  const sorted = (map: Record<string, string> | undefined, skip: readonly string[] = []) =>
    JSON.stringify(
      Object.entries(map ?? {})
        .filter(([key]) => !skip.includes(key))
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  for (const name of namespaces) {
    const ns = model.caches.namespaces.get(name);
    out.set(`namespace ${name} labels`, sorted(ns?.metadata?.labels));
    out.set(`namespace ${name} annotations`, sorted(ns?.metadata?.annotations));
    const workloads = [
      ...model.caches.deployments.list(name),
      ...model.caches.statefulSets.list(name),
      ...model.caches.daemonSets.list(name),
    ];
    for (const w of workloads) {
      const key = `${w.kind ?? "workload"} ${name}/${w.metadata?.name}`;
      out.set(`${key} annotations`, sorted(w.metadata?.annotations));
      out.set(`${key} template labels`, sorted(w.spec?.template?.metadata?.labels));
      out.set(
        `${key} template annotations`,
        sorted(w.spec?.template?.metadata?.annotations, [RESTART_STAMP_ANNOTATION]),
      );
    }
    const meshesByOwner = new Map<string, string[]>();
    for (const pod of model.caches.pods.list(name)) {
      const workload = pod.metadata?.labels?.app ?? pod.metadata?.name ?? "";
      meshesByOwner.set(workload, [
        ...(meshesByOwner.get(workload) ?? []),
        meshesOfPod(pod).join("+") || "none",
      ]);
    }
    for (const [owner, meshes] of meshesByOwner)
      out.set(`pods of ${name}/${owner}`, JSON.stringify(meshes.sort()));
  }
  return out;
}

/** A user's edit that the migration must keep: an unrelated label on a namespace and a workload's template. */
function userEdit(
  model: ModelCluster,
  random: Random,
  namespaces: readonly string[],
  expected: Snapshot,
): void {
  const name = namespaces[Math.floor(random() * namespaces.length)];
  if (!name) return;
  model.editNamespace(name, (ns) => {
    ns.metadata = { ...ns.metadata, labels: { ...(ns.metadata?.labels ?? {}), [USER_LABEL]: "yes" } };
  });
  const labels = JSON.parse(expected.get(`namespace ${name} labels`) ?? "[]") as Array<[string, string]>;
  labels.push([USER_LABEL, "yes"]);
  expected.set(`namespace ${name} labels`, JSON.stringify(labels.sort(([a], [b]) => a.localeCompare(b))));
}

export async function roundTrip(scenario: Scenario): Promise<RoundTrip> {
  const random = seeded(scenario.seed ^ 0x70_7d);
  const model = new ModelCluster(scenario.options);
  for (const ns of scenario.namespaces) model.addNamespace(ns.name, ns.labels, ns.annotations);
  for (const workload of scenario.workloads) model.addWorkload(workload);
  for (const pod of scenario.unmanagedPods) model.addUnmanagedPod(pod.namespace, pod.name, pod);
  const names = scenario.namespaces.map((ns) => ns.name);
  const expected = snapshot(model, names);
  model.addMigration(MIGRATION, { ...scenario.spec, stopAfterBatch: undefined });

  let clock = START;
  const reconciler = model.reconciler(() => new Date(clock));
  const differences: string[] = [];
  const phase = () => model.caches.migrations.get(MIGRATION)?.status?.phase;
  const loop = async () => {
    await reconciler.reconcile(MIGRATION);
    model.tick(random, 0.6);
    clock += 1000;
    const doubled = model.caches.pods.list().filter((p) => isDoubleMeshed(p));
    if (doubled.length > 0)
      differences.push(`double-meshed: ${doubled.map((p) => p.metadata?.name).join(", ")}`);
  };

  // Forward, stopped after a random number of loops (often at the end), with a user edit on the way;
  // then rolled back, or (a third of the time, stopped early) the MeshMigration deleted instead.
  const forwardLoops = random() < 0.4 ? Math.floor(random() * 12) : LOOP_LIMIT;
  const deleteMidway = forwardLoops < LOOP_LIMIT && random() < 0.5;
  const editAt = Math.floor(random() * 8);
  for (let i = 0; i < forwardLoops && phase() !== "Succeeded"; i++) {
    if (i === editAt) userEdit(model, random, names, expected);
    await loop();
  }
  if (deleteMidway) return deleted(scenario, model, names, expected, loop, differences);
  model.setMigrationSpec(MIGRATION, (spec) => {
    spec.rollback = true;
  });
  for (let i = 0; i < LOOP_LIMIT && (phase() !== "RolledBack" || model.rolling); i++) await loop();
  if (phase() !== "RolledBack") {
    const degraded = model.caches.migrations
      .get(MIGRATION)
      ?.status?.conditions?.find((c) => c.type === "Degraded");
    differences.push(`rollback ended ${phase()}: ${degraded?.reason}: ${degraded?.message}`);
  }
  model.deleteMigration(MIGRATION);
  for (let i = 0; i < 5 && model.caches.migrations.get(MIGRATION); i++) await reconciler.reconcile(MIGRATION);
  model.settle();
  if (model.caches.migrations.get(MIGRATION)) differences.push("the MeshMigration was not released");

  const after = snapshot(model, names);
  for (const [key, before] of expected) {
    if (after.get(key) !== before) differences.push(`${key}: was ${before}, now ${after.get(key)}`);
  }
  for (const key of after.keys()) if (!expected.has(key)) differences.push(`${key}: new`);
  return { seed: scenario.seed, namespaces: names.length, ended: "rolled back", differences };
}

/**
 * Deleted mid-migration: the MeshMigration goes once every namespace it had not finished is back
 * on its original; each namespace is then exactly as before (plus the user's edits) or migrated
 * (on the target, no bookkeeping left), and no pod is on two meshes or left on the source in a
 * migrated namespace.
 */
async function deleted(
  scenario: Scenario,
  model: ModelCluster,
  names: readonly string[],
  expected: Snapshot,
  loop: () => Promise<void>,
  differences: string[],
): Promise<RoundTrip> {
  model.deleteMigration(MIGRATION);
  for (let i = 0; i < LOOP_LIMIT && (model.caches.migrations.get(MIGRATION) || model.rolling); i++)
    await loop();
  if (model.caches.migrations.get(MIGRATION)) {
    const ready = model.caches.migrations
      .get(MIGRATION)
      ?.status?.conditions?.find((c) => c.type === "Degraded");
    differences.push(`the deleted MeshMigration was never released: ${ready?.reason}: ${ready?.message}`);
  }
  const after = snapshot(model, names);
  for (const name of names) {
    const keys = [...expected.keys()].filter((key) => key.includes(` ${name}`) || key.includes(`${name}/`));
    if (keys.every((key) => after.get(key) === expected.get(key))) continue;
    const ns = model.caches.namespaces.get(name);
    const markers = { labels: ns?.metadata?.labels ?? {}, annotations: ns?.metadata?.annotations ?? {} };
    const bookkeeping = [...Object.keys(markers.labels), ...Object.keys(markers.annotations)].filter(
      (key) => key.startsWith("meshmigration.io/") && key !== RESTART_STAMP_ANNOTATION,
    );
    const { source, target } = withComparableRevisions(scenario.spec);
    // Pods no workload manages (Job and bare pods) are reported, never restarted: theirs to recreate.
    const managed = model.caches.pods
      .list(name)
      .filter((p) => (p.metadata?.ownerReferences ?? []).some((o) => o.kind !== "Job"));
    const onSource = managed.filter((p) => source.mesh !== "none" && podOnMesh(p, source));
    const migrated = namespaceOnMesh(markers, target) && bookkeeping.length === 0 && onSource.length === 0;
    if (!migrated) {
      differences.push(
        `namespace ${name} is neither as it was nor migrated: ${JSON.stringify(markers)}; ` +
          keys
            .filter((key) => after.get(key) !== expected.get(key))
            .map((key) => `${key}: ${after.get(key)}`)
            .join("; "),
      );
    }
  }
  return { seed: scenario.seed, namespaces: names.length, ended: "deleted", differences };
}
