// The cache keeps every field the planner reads: the mesh fixtures' real injected pods and
// workloads, as an apiserver serves them (managedFields, defaults, status), are planned whole and
// as the informers cache them (cache-shapes.ts), for every pair of meshes, forward and rolling back.
// Every field the facts and the planner read of a whole object is recorded (a Proxy over it) and
// must read the same on the shaped one; the facts, the plans and the whole plans must be equal.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { MeshMigrationSpec } from "../../../src/api/schema.ts";
import {
  encodeOriginal,
  encodeStamp,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  RESTART_STAMP_ANNOTATION,
} from "../../../src/controller/bookkeeping.ts";
import {
  podShape,
  webhookShape,
  withoutManagedFields,
  workloadShape,
} from "../../../src/controller/cache-shapes.ts";
import { type ClusterReadings, migrationFacts } from "../../../src/controller/cluster-facts.ts";
import { planMigration } from "../../../src/controller/migration/plan-migration.ts";
import { podObservation } from "../../../src/controller/observe.ts";
import { planWholeMigration } from "../../../src/controller/whole-plan.ts";
import type { MeshRef } from "../../../src/meshes/driver.ts";
import { applyChange } from "../../../src/meshes/markers.ts";
import { driverFor, isDoubleMeshed, meshesOfPod, podOnMesh } from "../../../src/meshes/registry.ts";
import { controlPlaneObjects } from "../../emulators/control-planes.ts";
import { type PodOwnerKind, servedPod, servedWorkload } from "../../support/served-objects.ts";
import { fixtureObjects, fixtureTemplates } from "../meshes/fixtures.ts";

const MIGRATION = "shapes";
const NOW = new Date("2026-12-01T12:00:00Z");

type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

interface Cluster {
  namespaces: k8s.V1Namespace[];
  pods: k8s.V1Pod[];
  workloads: Workload[];
  webhooks: k8s.V1MutatingWebhookConfiguration[];
}

const PAIRS: Array<[MeshRef, MeshRef]> = [
  [{ mesh: "istio" }, { mesh: "linkerd" }],
  [{ mesh: "linkerd" }, { mesh: "istio" }],
  [{ mesh: "istio" }, { mesh: "istio-ambient" }],
  [{ mesh: "istio-ambient" }, { mesh: "linkerd" }],
  [{ mesh: "linkerd" }, { mesh: "istio-ambient" }],
  [{ mesh: "none" }, { mesh: "linkerd" }],
  [{ mesh: "linkerd" }, { mesh: "none" }],
  [
    { mesh: "istio", revision: "default" },
    { mesh: "istio", revision: "canary" },
  ],
];

function enrolled(ref: MeshRef) {
  return applyChange({ labels: {}, annotations: {} }, driverFor(ref.mesh).enroll(ref));
}

function servedNamespace(name: string, labels: Record<string, string>, annotations: Record<string, string>) {
  const metadata = {
    name,
    uid: `uid-${name}`,
    resourceVersion: "7",
    labels: { ...labels, "kubernetes.io/metadata.name": name },
    annotations,
  };
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      ...metadata,
      managedFields: [
        {
          manager: "kubectl-client-side-apply",
          operation: "Update",
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:labels": Object.fromEntries(Object.keys(labels).map((k) => [`f:${k}`, {}])) },
          },
        },
      ],
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  } as unknown as k8s.V1Namespace;
}

/**
 * Two namespaces: one on the source, not started; one this migration owns, relabelled for the
 * target.
 */
function namespaces(source: MeshRef, target: MeshRef): k8s.V1Namespace[] {
  const sourceMarkers = enrolled(source);
  const targetMarkers = enrolled(target);
  return [
    servedNamespace("fresh", sourceMarkers.labels, sourceMarkers.annotations),
    servedNamespace("owned", targetMarkers.labels, {
      ...targetMarkers.annotations,
      [OWNER_ANNOTATION]: MIGRATION,
      [ORIGINAL_ANNOTATION]: encodeOriginal(sourceMarkers),
    }),
  ];
}

/**
 * Every fixture pod template and workload in each of the two namespaces, those of "owned" stamped
 * as restarted (half still rolling out); pods of every owner kind and phase, some terminating; the
 * control planes and the webhooks.
 */
function servedObjects(): Omit<Cluster, "namespaces"> {
  const out: Omit<Cluster, "namespaces"> = { pods: [], workloads: [], webhooks: [] };
  const templates = fixtureTemplates();
  const fixtureWorkloads = fixtureObjects(["Deployment", "StatefulSet", "DaemonSet"]);
  let index = 0;
  for (const namespace of ["fresh", "owned"]) {
    const workloads: Array<{ kind: string; name: string; object: unknown; template: unknown }> = [
      ...templates.map(({ template }, i) => ({
        kind: "Deployment",
        name: `t-${i}`,
        template,
        object: {
          kind: "Deployment",
          metadata: { name: `t-${i}`, labels: { app: `t-${i}` } },
          spec: { replicas: 2, selector: { matchLabels: { app: `t-${i}` } }, template },
        },
      })),
      ...fixtureWorkloads.map(({ object }, i) => {
        const name = `f-${i}-${String((object.metadata as { name?: string }).name)}`.slice(0, 50);
        return {
          kind: String(object.kind),
          name,
          template: (object.spec as { template?: unknown }).template,
          object: { ...object, metadata: { ...(object.metadata as object), name } },
        };
      }),
    ];
    for (const [i, w] of workloads.entries()) {
      const served = servedWorkload(w.object, { namespace, index: index++ });
      if (namespace === "owned") {
        const annotations = served.spec?.template.metadata?.annotations ?? {};
        annotations[RESTART_STAMP_ANNOTATION] = encodeStamp({
          migration: MIGRATION,
          direction: "forward",
          attempt: 1,
          startedAt: NOW.getTime() - 60_000,
        });
        if (served.spec?.template.metadata) served.spec.template.metadata.annotations = annotations;
        if (i % 2 === 1) (served.status as Record<string, unknown>).updatedReplicas = 0;
      }
      out.workloads.push(served);
      const owner = w.kind as PodOwnerKind;
      for (let p = 0; p < 1 + (i % 2); p++) {
        out.pods.push(
          servedPod(w.template, {
            namespace,
            index: index++,
            owner,
            ownerName: w.name,
            phase: (["Running", "Pending", "Running"] as const)[(i + p) % 3],
            terminating: (i + p) % 7 === 0,
          }),
        );
      }
    }
    // Pods no workload manages: a Job's, finished or not, and a bare pod.
    const some = templates[index % templates.length]?.template;
    for (const phase of ["Running", "Succeeded", "Failed"] as const) {
      out.pods.push(servedPod(some, { namespace, index: index++, owner: "Job", ownerName: "report", phase }));
    }
    out.pods.push(servedPod(some, { namespace, index: index++, owner: "bare", ownerName: "debug" }));
  }
  // The control planes (both meshes' and Linkerd's destination with its policy container), and the webhooks.
  for (const object of controlPlaneObjects(["default", "canary"])) {
    if (object.kind === "Deployment" || object.kind === "DaemonSet") {
      out.workloads.push(
        servedWorkload(object, { namespace: object.metadata?.namespace ?? "", index: index++ }),
      );
    }
  }
  out.workloads.push(
    servedWorkload(
      {
        kind: "Deployment",
        metadata: { name: "linkerd-destination", labels: { app: "destination" } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "destination" } },
          template: {
            metadata: { labels: { app: "destination" } },
            spec: {
              containers: [
                { name: "destination", image: "cr.l5d.io/linkerd/controller:edge" },
                {
                  name: "policy",
                  image: "cr.l5d.io/linkerd/policy-controller:edge",
                  args: ["--default-policy=all-authenticated"],
                },
              ],
            },
          },
        },
      },
      { namespace: "linkerd", index: index++ },
    ),
  );
  out.webhooks = fixtureObjects(["MutatingWebhookConfiguration"]).map(
    ({ object }) =>
      ({
        ...structuredClone(object),
        metadata: { ...(object.metadata as object), managedFields: [{ manager: "helm" }] },
      }) as k8s.V1MutatingWebhookConfiguration,
  );
  return out;
}

function shaped(c: Cluster): Cluster {
  return {
    namespaces: c.namespaces.map(withoutManagedFields),
    pods: c.pods.map(podShape),
    workloads: c.workloads.map(workloadShape),
    webhooks: c.webhooks.map(webhookShape),
  };
}

function readings(c: Cluster): ClusterReadings {
  const ofKind = <T extends Workload>(kind: string, ns: string) =>
    c.workloads.filter((w) => w.kind === kind && w.metadata?.namespace === ns) as T[];
  const find = <T extends Workload>(kind: string, ns: string, name: string) =>
    ofKind<T>(kind, ns).find((w) => w.metadata?.name === name);
  return {
    namespaces: c.namespaces,
    deploymentsIn: (ns) => ofKind<k8s.V1Deployment>("Deployment", ns),
    statefulSetsIn: (ns) => ofKind<k8s.V1StatefulSet>("StatefulSet", ns),
    daemonSetsIn: (ns) => ofKind<k8s.V1DaemonSet>("DaemonSet", ns),
    podsIn: (ns) => c.pods.filter((p) => p.metadata?.namespace === ns),
    deployment: (ns, name) => find<k8s.V1Deployment>("Deployment", ns, name),
    daemonSet: (ns, name) => find<k8s.V1DaemonSet>("DaemonSet", ns, name),
    webhooks: c.webhooks,
    policies: {},
  };
}

function specOf(source: MeshRef, target: MeshRef, rollback: boolean): MeshMigrationSpec {
  return {
    source,
    target,
    batches: [{ name: "all", namespaces: ["fresh", "owned"] }],
    strategy: {
      maxConcurrentNamespaces: 2,
      maxConcurrentRollouts: 3,
      rolloutTimeout: "10m",
      workloadOverrides: "Rewrite",
      blockOnWarnings: false,
    },
    paused: false,
    rollback,
    dryRun: false,
  } as MeshMigrationSpec;
}

/** What the operator's reconcile computes from the readings (the facts and the plan), and the whole plan. */
function plan(spec: MeshMigrationSpec, from: ClusterReadings, whole: boolean) {
  const facts = migrationFacts(spec, from);
  const input = {
    name: MIGRATION,
    generation: 3,
    spec,
    namespaces: facts.namespaces,
    workloadsIn: facts.workloadsIn,
    podsIn: facts.podsIn,
    targetControlPlane: facts.targetControlPlane,
    sourceControlPlane: facts.sourceControlPlane,
    warnings: facts.warnings,
    now: NOW,
  };
  return {
    warnings: facts.warnings,
    controlPlanes: [facts.targetControlPlane, facts.sourceControlPlane],
    workloads: [...facts.namespaces.keys()].map((ns) => facts.workloadsIn(ns)),
    plan: planMigration(input),
    // The whole plan copies pods with structuredClone, which a Proxy cannot take: planned from the
    // objects themselves only.
    outline: whole ? planWholeMigration({ ...input, migration: MIGRATION }) : undefined,
  };
}

type Reads = Map<object, Set<string>>;

/** `root` behind a Proxy that records, in `reads`, every property read of it and below ("get a.b.0", "keys a.b", "has a.b"). */
function recording<T extends object>(root: T, reads: Reads): T {
  const seen = new Set<string>();
  reads.set(root, seen);
  const wrap = (target: object, path: string): object =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver);
        if (typeof prop === "symbol" || (!Object.hasOwn(t, prop) && value !== undefined)) return value;
        const at = path ? `${path}.${prop}` : prop;
        seen.add(`get ${at}`);
        return value !== null && typeof value === "object" ? wrap(value, at) : value;
      },
      has(t, prop) {
        if (typeof prop !== "symbol") seen.add(`has ${path ? `${path}.${prop}` : prop}`);
        return Reflect.has(t, prop);
      },
      ownKeys(t) {
        seen.add(`keys ${path}`);
        return Reflect.ownKeys(t);
      },
    });
  return wrap(root, "") as T;
}

function at(root: unknown, path: string): unknown {
  let value = root;
  for (const key of path === "" ? [] : path.split(".")) {
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** How a read found the value: primitives as they are, objects by their kind (their fields are reads of their own). */
function asRead(value: unknown): unknown {
  if (Array.isArray(value)) return "array";
  if (value !== null && typeof value === "object") return "object";
  return value;
}

/** Reads of `original` that `shaped` answers differently. */
function lostReads(original: object, shapedObject: object, reads: ReadonlySet<string>): string[] {
  const lost: string[] = [];
  for (const read of reads) {
    const [op, path = ""] = read.split(" ");
    const [a, b] = [at(original, path), at(shapedObject, path)];
    const same =
      op === "get"
        ? asRead(a) === asRead(b)
        : op === "keys"
          ? JSON.stringify(Object.keys(a ?? {}).sort()) === JSON.stringify(Object.keys(b ?? {}).sort())
          : (() => {
              const parent = at(original, path.split(".").slice(0, -1).join("."));
              const shapedParent = at(shapedObject, path.split(".").slice(0, -1).join("."));
              const key = path.split(".").at(-1) ?? "";
              return key in Object(parent) === key in Object(shapedParent);
            })();
    if (!same)
      lost.push(`${read}: ${JSON.stringify(a)?.slice(0, 60)} became ${JSON.stringify(b)?.slice(0, 60)}`);
  }
  return lost;
}

describe("cache shapes", () => {
  it("keep every field the facts and the planner read, on the fixtures' pods and workloads, for every mesh pair", () => {
    let objects = 0;
    let checked = 0;
    const byKind = new Map<string, Set<string>>();
    const built = servedObjects();
    const builtShapes = shaped({ ...built, namespaces: [] });
    for (const [source, target] of PAIRS) {
      const whole: Cluster = { ...built, namespaces: namespaces(source, target) };
      const cut: Cluster = { ...builtShapes, namespaces: whole.namespaces.map(withoutManagedFields) };
      for (const rollback of [false, true]) {
        const spec = specOf(source, target, rollback);
        const reads: Reads = new Map();
        const tracked: Cluster = {
          namespaces: whole.namespaces.map((o) => recording(o, reads)),
          pods: whole.pods.map((o) => recording(o, reads)),
          workloads: whole.workloads.map((o) => recording(o, reads)),
          webhooks: whole.webhooks.map((o) => recording(o, reads)),
        };
        const fromTracked = plan(spec, readings(tracked), false);
        // The whole plan (spec.dryRun) forward only: it is the slow one, and rolls back the same way.
        const fromWhole = plan(spec, readings(whole), !rollback);
        const fromShaped = plan(spec, readings(cut), !rollback);
        expect(JSON.stringify(fromTracked.plan)).toBe(JSON.stringify(fromWhole.plan));
        expect(fromShaped).toEqual(fromWhole);

        const originals = [...whole.namespaces, ...whole.pods, ...whole.workloads, ...whole.webhooks];
        const shapes = [...cut.namespaces, ...cut.pods, ...cut.workloads, ...cut.webhooks];
        const recorded = [...reads.values()];
        const lost = originals.flatMap((original, i) => {
          const paths = recorded[i] ?? new Set<string>();
          checked += paths.size;
          const kind = String(original.kind);
          const all = byKind.get(kind) ?? new Set<string>();
          for (const p of paths) all.add(p.replace(/\.\d+(?=\.|$)/g, ".*"));
          byKind.set(kind, all);
          return lostReads(original, shapes[i] as object, paths).map(
            (l) => `${kind} ${original.metadata?.namespace ?? ""}/${original.metadata?.name}: ${l}`,
          );
        });
        expect(lost, `${source.mesh} -> ${target.mesh}${rollback ? " (rollback)" : ""}`).toEqual([]);
        objects += originals.length;
      }
    }
    // The planner did read pods' proxy containers and workloads' rollout status: the check checked something.
    expect(byKind.get("Pod")).toContain("get spec.initContainers.*.restartPolicy");
    expect(byKind.get("Deployment")).toContain("get status.availableReplicas");
    console.log(
      `${objects} objects planned whole and shaped over ${PAIRS.length * 2} specs: ${checked} reads checked, none lost ` +
        `(fields read: ${[...byKind].map(([kind, paths]) => `${kind} ${paths.size}`).join(", ")})`,
    );
  }, 60_000);

  it("give the same mesh membership, owner and phase for every fixture pod", () => {
    const refs: MeshRef[] = [
      { mesh: "istio" },
      { mesh: "istio", revision: "canary" },
      { mesh: "istio-ambient" },
      { mesh: "linkerd" },
      { mesh: "none" },
    ];
    const facts = (pod: k8s.V1Pod) => {
      const observed = podObservation(pod);
      return {
        meshes: meshesOfPod(observed),
        doubleMeshed: isDoubleMeshed(observed),
        on: refs.map((ref) => podOnMesh(observed, ref)),
        revision: driverFor("istio").podRevision?.(observed),
        owner: observed.owner,
        unmanaged: observed.unmanaged,
        terminating: observed.terminating,
        phase: observed.phase,
        metadata: observed.metadata,
        hostNetwork: observed.spec?.hostNetwork,
      };
    };
    const owners: PodOwnerKind[] = ["Deployment", "StatefulSet", "DaemonSet", "Job", "bare"];
    let pods = 0;
    for (const [i, { id, template }] of fixtureTemplates().entries()) {
      const pod = servedPod(template, {
        namespace: "shop",
        index: i,
        owner: owners[i % owners.length],
        terminating: i % 4 === 0,
      });
      const cut = podShape(pod);
      expect(facts(cut), id).toEqual(facts(pod));
      expect(podShape(cut), `${id}: shaping is idempotent`).toEqual(cut);
      expect(JSON.stringify(cut).length).toBeLessThan(JSON.stringify(pod).length / 5);
      pods++;
    }
    expect(pods).toBeGreaterThan(50);
  });

  it("drop managedFields from any object, and webhooks' CA bundles, and nothing else", () => {
    const namespace = servedNamespace("shop", { team: "a" }, { note: "x" });
    const stripped = withoutManagedFields(namespace);
    expect(stripped.metadata?.managedFields).toBeUndefined();
    expect({
      ...stripped,
      metadata: { ...stripped.metadata, managedFields: namespace.metadata?.managedFields },
    }).toEqual(namespace);
    expect(withoutManagedFields(stripped)).toBe(stripped);

    const webhook = {
      metadata: { name: "istio-sidecar-injector", managedFields: [{ manager: "pilot-discovery" }] },
      webhooks: [
        {
          name: "rev.namespace.sidecar-injector.istio.io",
          failurePolicy: "Fail",
          clientConfig: {
            caBundle: "LS0tLS1CRUdJTi".repeat(100),
            service: { name: "istiod", namespace: "istio-system" },
          },
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
        },
      ],
    } as k8s.V1MutatingWebhookConfiguration;
    expect(webhookShape(webhook)).toEqual({
      metadata: { name: "istio-sidecar-injector" },
      webhooks: [
        {
          name: "rev.namespace.sidecar-injector.istio.io",
          failurePolicy: "Fail",
          clientConfig: { service: { name: "istiod", namespace: "istio-system" } },
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
        },
      ],
    });
  });
});
