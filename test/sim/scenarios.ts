// Random clusters and MeshMigration specs for the simulation suite, from a seed: meshes and
// revisions, namespaces labelled for the source (now and then with a stray marker), workloads
// with opt-ins and opt-outs, host-network and scaled-to-zero workloads, bare and Job pods,
// missing namespaces, selectors, gates, pauses and concurrency limits.
import type { MeshRef } from "../../src/meshes/driver.ts";
import { applyChange } from "../../src/meshes/markers.ts";
import { driverFor } from "../../src/meshes/registry.ts";
import type { ModelOptions, WorkloadKind, WorkloadSpec } from "./model-cluster.ts";

export type Random = () => number;

/** mulberry32: a small seeded generator, so a failing seed replays exactly. */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function chance(random: Random, p: number): boolean {
  return random() < p;
}

function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export interface Scenario {
  seed: number;
  options: ModelOptions;
  namespaces: Array<{ name: string; labels: Record<string, string>; annotations: Record<string, string> }>;
  workloads: WorkloadSpec[];
  unmanagedPods: Array<{ namespace: string; name: string; jobName?: string }>;
  spec: {
    source: MeshRef;
    target: MeshRef;
    batches: Array<{
      name: string;
      namespaces?: string[];
      namespaceSelector?: { matchLabels: Record<string, string> };
    }>;
    strategy: {
      maxConcurrentNamespaces: number;
      maxConcurrentRollouts: number;
      workloadOverrides: "Rewrite" | "Fail";
    };
    stopAfterBatch?: string;
  };
  /** Start paused and resume after this many loops. */
  pausedFor: number;
}

const MESHES: readonly MeshRef[] = [
  { mesh: "istio" },
  { mesh: "istio", revision: "canary" },
  { mesh: "linkerd" },
  { mesh: "istio-ambient" },
  { mesh: "none" },
];

const same = (a: MeshRef, b: MeshRef) => a.mesh === b.mesh && a.revision === b.revision;

function installFor(random: Random, source: MeshRef, target: MeshRef): ModelOptions {
  const uses = (mesh: string) => source.mesh === mesh || target.mesh === mesh;
  const revisions = new Set<string>();
  for (const ref of [source, target]) {
    if (ref.mesh === "istio" || ref.mesh === "istio-ambient") revisions.add(ref.revision ?? "default");
  }
  // Now and then the target's control plane is missing: a blocker the plan must name.
  const targetMissing = chance(random, 0.04) && target.mesh !== "none";
  return {
    istioRevisions: [...revisions].filter(
      (revision) =>
        !(targetMissing && target.mesh === "istio" && revision === (target.revision ?? "default")),
    ),
    linkerd: uses("linkerd") && !(targetMissing && target.mesh === "linkerd"),
    ambient: uses("istio-ambient") && !(targetMissing && target.mesh === "istio-ambient"),
  };
}

/** The namespace markers that enroll a namespace in ref. */
function enrolled(ref: MeshRef): { labels: Record<string, string>; annotations: Record<string, string> } {
  return applyChange({ labels: {}, annotations: {} }, driverFor(ref.mesh).enroll(ref));
}

function templateFor(random: Random, source: MeshRef, target: MeshRef) {
  const markers = { labels: {} as Record<string, string>, annotations: {} as Record<string, string> };
  const add = (marker: { kind: "label" | "annotation"; key: string; value: string } | undefined) => {
    if (!marker) return;
    (marker.kind === "label" ? markers.labels : markers.annotations)[marker.key] = marker.value;
  };
  if (source.mesh !== "none" && chance(random, 0.15)) add(driverFor(source.mesh).optInMarker?.(source));
  else if (source.mesh !== "none" && chance(random, 0.05)) add(driverFor(source.mesh).optOutMarker?.(source));
  if (target.mesh !== "none" && chance(random, 0.08)) add(driverFor(target.mesh).optOutMarker?.(target));
  return markers;
}

export function generateScenario(seed: number): Scenario {
  const random = seeded(seed);
  const source = pick(random, MESHES);
  const target = pick(
    random,
    MESHES.filter((m) => !same(m, source)),
  );
  const options = installFor(random, source, target);
  const namespaceCount = int(random, 1, 5);
  const namespaces: Scenario["namespaces"] = [];
  const workloads: WorkloadSpec[] = [];
  const unmanagedPods: Scenario["unmanagedPods"] = [];
  for (let n = 0; n < namespaceCount; n++) {
    const name = `ns-${n}`;
    const markers =
      source.mesh === "none" || chance(random, 0.05) ? enrolled({ mesh: "none" }) : enrolled(source);
    const labels = { ...markers.labels, team: pick(random, ["pay", "web"]) };
    const annotations = { ...markers.annotations };
    // A stray marker of a third mesh, now and then: the planner removes it or halts on it.
    if (chance(random, 0.05)) {
      const third = pick(
        random,
        MESHES.filter((m) => m.mesh !== "none" && m.mesh !== source.mesh && m.mesh !== target.mesh),
      );
      if (third) {
        Object.assign(labels, enrolled(third).labels);
        Object.assign(annotations, enrolled(third).annotations);
      }
    }
    namespaces.push({ name, labels, annotations });
    for (let w = 0; w < int(random, 0, 3); w++) {
      const kind: WorkloadKind = pick(random, ["Deployment", "Deployment", "StatefulSet", "DaemonSet"]);
      const template = templateFor(random, source, target);
      workloads.push({
        kind,
        namespace: name,
        name: `${kind.toLowerCase().slice(0, 3)}-${w}`,
        replicas: kind === "DaemonSet" ? 1 : int(random, 0, 2),
        templateLabels: template.labels,
        templateAnnotations: template.annotations,
        hostNetwork: chance(random, 0.04),
      });
    }
    if (chance(random, 0.1)) {
      unmanagedPods.push({
        namespace: name,
        name: `job-${n}-x`,
        ...(chance(random, 0.5) ? { jobName: `job-${n}` } : {}),
      });
    }
  }

  // Batches: named namespaces in order, sometimes a selector, sometimes a missing namespace.
  const batchCount = int(random, 1, Math.min(3, namespaceCount));
  const batches: Scenario["spec"]["batches"] = [];
  let next = 0;
  for (let b = 0; b < batchCount; b++) {
    const last = b === batchCount - 1;
    const size = last
      ? namespaceCount - next
      : int(random, 1, Math.max(1, namespaceCount - next - (batchCount - b - 1)));
    const names = namespaces.slice(next, next + size).map((ns) => ns.name);
    next += size;
    const batch: Scenario["spec"]["batches"][number] = { name: `b${b}` };
    if (last && chance(random, 0.15))
      batch.namespaceSelector = { matchLabels: { team: pick(random, ["pay", "web"]) } };
    else batch.namespaces = names;
    if (chance(random, 0.04)) batch.namespaces = [...(batch.namespaces ?? []), `missing-${b}`];
    batches.push(batch);
  }
  const spec: Scenario["spec"] = {
    source,
    target,
    batches,
    strategy: {
      maxConcurrentNamespaces: int(random, 1, 3),
      maxConcurrentRollouts: int(random, 1, 3),
      workloadOverrides: chance(random, 0.15) ? "Fail" : "Rewrite",
    },
  };
  if (batches.length > 1 && chance(random, 0.2))
    spec.stopAfterBatch = pick(random, batches.slice(0, -1)).name;
  return {
    seed,
    options,
    namespaces,
    workloads,
    unmanagedPods,
    spec,
    pausedFor: chance(random, 0.15) ? int(random, 1, 4) : 0,
  };
}
