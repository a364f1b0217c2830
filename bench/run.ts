// Benchmarks, reported as ratios against a baseline run in the same process, so
// the numbers mean something on any machine:
//  - planning a migration over a large cluster vs. merely classifying every pod's mesh
//    (the least any plan must do), time and heap;
//  - the work queue's add/get/done cycle vs. a plain array queue.
// Run: npm run bench [-- --namespaces 300 --pods 20]
import { parseArgs } from "node:util";
import type { NamespaceFacts, PodObservation, WorkloadFacts } from "../src/controller/facts.ts";
import { planMigration } from "../src/controller/migration/plan-migration.ts";
import { meshesOfPod } from "../src/meshes/registry.ts";
import { WorkQueue } from "../src/runtime/workqueue.ts";

const { values } = parseArgs({
  options: {
    namespaces: { type: "string", default: "300" },
    pods: { type: "string", default: "20" },
    rounds: { type: "string", default: "5" },
  },
});
const NAMESPACES = Number(values.namespaces);
const PODS_PER_WORKLOAD = Number(values.pods);
const ROUNDS = Number(values.rounds);

function syntheticCluster() {
  const namespaces = new Map<string, NamespaceFacts>();
  const workloads = new Map<string, WorkloadFacts[]>();
  const pods = new Map<string, PodObservation[]>();
  for (let n = 0; n < NAMESPACES; n++) {
    const name = `ns-${n}`;
    namespaces.set(name, {
      name,
      resourceVersion: "1",
      markers: { labels: { "istio-injection": "enabled", team: `t${n % 10}` }, annotations: {} },
      terminating: false,
    });
    const ws: WorkloadFacts[] = [];
    const ps: PodObservation[] = [];
    for (let w = 0; w < 5; w++) {
      ws.push({
        kind: "Deployment",
        namespace: name,
        name: `app-${w}`,
        resourceVersion: "1",
        annotations: {},
        template: { labels: { app: `app-${w}` }, annotations: {} },
        templateHostNetwork: false,
        rolledOut: true,
        desiredPods: PODS_PER_WORKLOAD,
        readyPods: PODS_PER_WORKLOAD,
      });
      for (let p = 0; p < PODS_PER_WORKLOAD; p++) {
        ps.push({
          metadata: {
            name: `app-${w}-${p}`,
            namespace: name,
            labels: {},
            annotations: { "istio.io/rev": "default" },
          },
          spec: {
            containers: [{ name: "app" }],
            initContainers: [{ name: "istio-init" }, { name: "istio-proxy", restartPolicy: "Always" }],
          },
          owner: { kind: "Deployment", name: `app-${w}` },
          unmanaged: false,
          terminating: false,
          phase: "Running",
        });
      }
    }
    workloads.set(name, ws);
    pods.set(name, ps);
  }
  return { namespaces, workloads, pods };
}

function measure(label: string, fn: () => void): { ms: number; heapMb: number } {
  fn(); // warm-up
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = heapBefore;
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    fn();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const ms = (performance.now() - start) / ROUNDS;
  const heapMb = (peak - heapBefore) / 1024 / 1024;
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms/round  +${heapMb.toFixed(1)} MiB heap`);
  return { ms, heapMb };
}

const cluster = syntheticCluster();
const totalPods = NAMESPACES * 5 * PODS_PER_WORKLOAD;
console.log(`planner: ${NAMESPACES} namespaces, ${totalPods} pods, ${ROUNDS} rounds`);
const baseline = measure("baseline: classify every pod's mesh", () => {
  for (const ps of cluster.pods.values()) for (const p of ps) meshesOfPod(p);
});
const plan = measure("planMigration (every namespace in one batch)", () => {
  planMigration({
    name: "bench",
    generation: 1,
    spec: {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "all", namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists" }] } },
      ],
      strategy: {
        maxConcurrentNamespaces: 10,
        maxConcurrentRollouts: 5,
        rolloutTimeout: "10m",
        workloadOverrides: "Rewrite",
      },
      paused: false,
    },
    namespaces: cluster.namespaces,
    workloadsIn: (ns) => cluster.workloads.get(ns) ?? [],
    podsIn: (ns) => cluster.pods.get(ns) ?? [],
    targetControlPlane: { ready: true, problems: [] },
    now: new Date(),
  });
});
console.log(`  ratio: planning costs ${(plan.ms / baseline.ms).toFixed(1)}x the baseline's time\n`);

const KEYS = 20_000;
console.log(`work queue: ${KEYS} keys added twice (dedupe), taken and done`);
const arrayQueue = measure("baseline: plain array push/shift", () => {
  const q: string[] = [];
  for (let i = 0; i < KEYS; i++) q.push(`k${i}`);
  for (let i = 0; i < KEYS; i++) q.push(`k${i}`);
  while (q.length > 0) q.shift();
});
let workQueueMs = 0;
{
  const run = async () => {
    const q = new WorkQueue<string>({ name: "bench", rateLimit: { qps: 1e9, burst: 1e9 } });
    for (let i = 0; i < KEYS; i++) q.add(`k${i}`);
    for (let i = 0; i < KEYS; i++) q.add(`k${i}`);
    for (let i = 0; i < KEYS; i++) {
      const key = await q.get();
      if (key !== undefined) q.done(key);
    }
    q.shutDown();
  };
  await run();
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await run();
  workQueueMs = (performance.now() - start) / ROUNDS;
  console.log(`  ${"WorkQueue add/get/done".padEnd(44)} ${workQueueMs.toFixed(2).padStart(9)} ms/round`);
}
console.log(`  ratio: the work queue costs ${(workQueueMs / arrayQueue.ms).toFixed(1)}x a plain array`);
