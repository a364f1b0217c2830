// What the pod cache costs: heap growth per 1,000 cached pods, with the operator's pod transform
// (podShape) and without, side by side in one process. The pods are the mesh fixtures' pod
// templates as an apiserver serves them (defaults, a Running status, managedFields as the
// controller-manager and the kubelet leave them; test/support/served-objects.ts), sent as JSON
// text and parsed as the informer receives it, half by the list and half as watch events, into
// the real informer (ResilientInformer over client-node's ListWatch).
// Run: npm run bench:memory [-- --pods 4000]
import { parseArgs } from "node:util";
import { KubeConfig, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import { podShape, withoutManagedFields } from "../src/controller/cache-shapes.ts";
import { type CacheTransform, ResilientInformer, type WatchLike } from "../src/runtime/informer.ts";
import { type PodOwnerKind, servedPod } from "../test/support/served-objects.ts";
import { fixtureTemplates } from "../test/unit/meshes/fixtures.ts";

const { values } = parseArgs({ options: { pods: { type: "string", default: "4000" } } });
const PODS = Number(values.pods);
const TARGET_MB_PER_1000 = 3;
const gc = globalThis.gc;
if (!gc) {
  console.error("run with node --expose-gc (npm run bench:memory does)");
  process.exit(1);
}

/** The pods as the apiserver sends them: JSON text, parsed anew for each run. */
function podTexts(): { texts: string[]; bytes: number; managedFieldsBytes: number } {
  const templates = fixtureTemplates();
  const owners: PodOwnerKind[] = [
    "Deployment",
    "Deployment",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
  ];
  const texts: string[] = [];
  let managedFieldsBytes = 0;
  for (let i = 0; i < PODS; i++) {
    const { id, template } = templates[i % templates.length] as (typeof templates)[number];
    const pod = servedPod(template, {
      namespace: `ns-${i % 50}`,
      index: i,
      owner: owners[i % owners.length],
      ownerName: `${id.split(" ")[1]?.split("/")[1] ?? "app"}-${i % 200}`,
    });
    managedFieldsBytes += JSON.stringify(pod.metadata?.managedFields).length;
    texts.push(JSON.stringify(pod));
  }
  return { texts, bytes: texts.reduce((sum, t) => sum + t.length, 0), managedFieldsBytes };
}

/** A watch that sends the given pods as ADDED events once it is opened, then stays open. */
function watchSending(texts: readonly string[]): WatchLike {
  return {
    watch: async (_path, _params, callback) => {
      for (const text of texts) {
        const object = JSON.parse(text) as KubernetesObject;
        callback("ADDED", object, { type: "ADDED", object });
      }
      return new AbortController();
    },
  };
}

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Heap growth, in bytes, of an informer cache filled with every pod through `transform`. */
async function cacheGrowth(
  texts: readonly string[],
  transform: CacheTransform<V1Pod> | undefined,
): Promise<{ bytes: number; cached: number }> {
  const half = Math.floor(texts.length / 2);
  const before = heapUsed();
  const informer = new ResilientInformer<V1Pod>(new KubeConfig(), {
    path: "/api/v1/pods",
    name: "pods",
    assertReadOnly: false,
    ...(transform ? { transform } : {}),
    list: async () => ({
      metadata: { resourceVersion: "1" },
      items: texts.slice(0, half).map((text) => JSON.parse(text) as V1Pod),
    }),
    watch: watchSending(texts.slice(half)),
  });
  await informer.start();
  const after = heapUsed();
  const cached = informer.list().length;
  await informer.stop();
  return { bytes: after - before, cached };
}

const MB = 1_000_000;
const { texts, bytes, managedFieldsBytes } = podTexts();
console.log(
  `pod cache: ${PODS} pods from ${fixtureTemplates().length} fixture pod templates, ` +
    `${(bytes / PODS / 1000).toFixed(1)} KB of JSON each (${(managedFieldsBytes / PODS / 1000).toFixed(1)} KB of it managedFields)`,
);
const variants: Array<[string, CacheTransform<V1Pod> | undefined]> = [
  ["whole objects (no transform)", undefined],
  ["without managedFields only", withoutManagedFields],
  ["podShape (what the operator caches)", podShape],
];
// A warm-up run, so code and hidden classes are not counted against the first variant.
await cacheGrowth(texts.slice(0, 200), podShape);
const results = new Map<string, number>();
for (const [label, transform] of variants) {
  const { bytes: grown, cached } = await cacheGrowth(texts, transform);
  if (cached !== PODS) throw new Error(`${label}: ${cached} pods cached, expected ${PODS}`);
  const perThousand = grown / MB / (PODS / 1000);
  results.set(label, perThousand);
  console.log(
    `  ${label.padEnd(38)} +${(grown / MB).toFixed(1).padStart(6)} MB heap  ${perThousand.toFixed(2).padStart(6)} MB per 1,000 pods`,
  );
}
const whole = results.get("whole objects (no transform)") ?? 0;
const shaped = results.get("podShape (what the operator caches)") ?? 0;
console.log(
  `  ratio: the shaped cache takes ${(shaped / whole).toFixed(3)}x the heap of whole objects (${(whole / shaped).toFixed(1)} times less); ` +
    `target <= ${TARGET_MB_PER_1000} MB per 1,000 pods: ${shaped <= TARGET_MB_PER_1000 ? "met" : "NOT met"}`,
);
