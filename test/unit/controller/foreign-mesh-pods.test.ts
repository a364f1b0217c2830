// A namespace that runs pods of a mesh we do not drive halts before any change: the namespace
// plan, the migration's conditions and Events, and the whole plan (dryRun, `plan`) all say so,
// from the one planner.
import { describe, expect, it } from "vitest";
import { type MeshMigrationSpecInput, parseSpec } from "../../../src/api/schema.ts";
import type { PodObservation } from "../../../src/controller/facts.ts";
import { planMigration } from "../../../src/controller/migration/plan-migration.ts";
import type { MigrationPlanInput } from "../../../src/controller/migration/types.ts";
import { planNamespaceForward } from "../../../src/controller/namespace/forward.ts";
import { planWholeMigration } from "../../../src/controller/whole-plan.ts";
import type { MeshRef } from "../../../src/meshes/driver.ts";
import { deployment, forwardInput, namespace, ownedBy, pod, READY_CONTROL_PLANE } from "./builders.ts";

const NONE: MeshRef = { mesh: "none" };
const ISTIO: MeshRef = { mesh: "istio" };
const LINKERD: MeshRef = { mesh: "linkerd" };

/** A pod as Kuma's injector leaves it (kuma/inject.01.golden.yaml): native kuma-sidecar and its marker. */
function kumaPod(name: string, owner: string, extra: Partial<PodObservation> = {}): PodObservation {
  const plain = pod(name, owner, "none");
  return {
    ...plain,
    metadata: { ...plain.metadata, annotations: { "kuma.io/sidecar-injected": "true" } },
    spec: {
      containers: [{ name: "app" }],
      initContainers: [{ name: "kuma-init" }, { name: "kuma-sidecar", restartPolicy: "Always" }],
    },
    ...extra,
  };
}

/** A pod as OSM's injector leaves it (osm/FACTS.md): envoy last, osm-init, the osm-proxy-uuid label. */
function osmPod(name: string, owner: string): PodObservation {
  const plain = pod(name, owner, "none");
  return {
    ...plain,
    metadata: { ...plain.metadata, labels: { "osm-proxy-uuid": `uuid-${name}` } },
    spec: { containers: [{ name: "app" }, { name: "envoy" }], initContainers: [{ name: "osm-init" }] },
  };
}

const kumaShop = {
  workloads: [deployment("web"), deployment("api")],
  pods: [kumaPod("web-2", "web"), kumaPod("web-1", "web"), pod("api-1", "api", "none")],
};

describe("a namespace running pods of a mesh we do not drive", () => {
  it("halts before any change when it moves from none, naming the pods, the mesh and what to do", () => {
    const plan = planNamespaceForward(forwardInput(NONE, LINKERD, kumaShop));
    expect(plan.actions).toEqual([]);
    expect(plan.phase).toBe("Blocked");
    expect(plan.problem).toMatchObject({ reason: "ForeignMeshPods", halts: true });
    const message = plan.problem?.message ?? "";
    expect(message).toContain("Namespace shop runs pods of a mesh the operator does not drive");
    expect(message).toContain("2 pod(s) meshed by Kuma (kuma-sidecar): web-1, web-2.");
    expect(message).toContain("the linkerd proxy beside their own (two meshes in one pod)");
    expect(message).toContain("nothing in the namespace was changed");
    expect(message).toContain("kuma.io/sidecar-injection: disabled");
    expect(message).toContain("leave namespace shop out of spec.batches");
    expect(message).not.toContain("api-1");
    expect(plan.message).toBe("pods of a mesh the operator does not drive: Kuma (2)");
  });

  it("never counts them as unmeshed", () => {
    const plan = planNamespaceForward(forwardInput(NONE, LINKERD, kumaShop));
    expect(plan.pods).toEqual({ target: 0, source: 0, unmeshed: 1, doubleMeshed: 0 });
    // Moving to none, they are not on the target either.
    const offboarding = planNamespaceForward(
      forwardInput(ISTIO, NONE, { ...kumaShop, ns: namespace("shop", { "istio-injection": "enabled" }) }),
    );
    expect(offboarding.pods).toEqual({ target: 1, source: 0, unmeshed: 1, doubleMeshed: 0 });
    expect(offboarding.problem?.message).toContain("could never be verified on none");
  });

  it("halts whatever the source", () => {
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns: namespace("shop", { "istio-injection": "enabled" }),
        workloads: [deployment("web"), deployment("cart")],
        pods: [kumaPod("web-1", "web"), pod("cart-1", "cart", "istio")],
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.problem?.reason).toBe("ForeignMeshPods");
    expect(plan.pods.source).toBe(1);
  });

  it("names the first few pods of each mesh, counts the rest, and says how to leave each mesh", () => {
    const many = Array.from({ length: 8 }, (_, i) => kumaPod(`web-${i}`, "web"));
    const plan = planNamespaceForward(
      forwardInput(NONE, LINKERD, {
        workloads: [deployment("web"), deployment("mail")],
        pods: [...many, osmPod("mail-1", "mail")],
      }),
    );
    const message = plan.problem?.message ?? "";
    expect(message).toContain(
      "8 pod(s) meshed by Kuma (kuma-sidecar): web-0, web-1, web-2, web-3, web-4 and 3 more",
    );
    expect(message).toContain("1 pod(s) meshed by Open Service Mesh");
    expect(message).toContain("mail-1");
    expect(message).toContain("out of Kuma (");
    expect(message).toContain("out of Open Service Mesh (run osm namespace remove");
    expect(plan.message).toBe("pods of a mesh the operator does not drive: Kuma (8), Open Service Mesh (1)");
  });

  it("counts pods no workload manages, and not pods that are finished or on their way out", () => {
    const jobPod = kumaPod("report-x1", "none", { owner: undefined, unmanaged: true });
    const blocked = planNamespaceForward(forwardInput(NONE, LINKERD, { pods: [jobPod] }));
    expect(blocked.problem?.message).toContain("report-x1");

    const done = kumaPod("report-x0", "none", { owner: undefined, unmanaged: true, phase: "Succeeded" });
    const leaving = kumaPod("web-1", "web", { terminating: true });
    const free = planNamespaceForward(forwardInput(NONE, LINKERD, { pods: [done, leaving] }));
    expect(free.problem).toBeUndefined();
    expect(free.actions.map((a) => a.type)).toEqual(["RecordOriginal"]);
  });

  it("goes on once they are gone", () => {
    const plan = planNamespaceForward(
      forwardInput(NONE, LINKERD, { workloads: [deployment("web")], pods: [pod("web-1", "web", "none")] }),
    );
    expect(plan.actions.map((a) => a.type)).toEqual(["RecordOriginal"]);
  });

  it("says nothing once the namespace is this migration's: the guard and the double-mesh check take over", () => {
    const ours = namespace("shop", {}, { ...ownedBy("move", { labels: {}, annotations: {} }) });
    const plan = planNamespaceForward(forwardInput(NONE, LINKERD, { ...kumaShop, ns: ours }));
    expect(plan.problem?.reason).not.toBe("ForeignMeshPods");
    expect(plan.actions.map((a) => a.type)).toEqual(["Relabel"]);
  });

  it("leaves a namespace another migration owns to that reason", () => {
    const theirs = namespace("shop", {}, { "meshmigration.io/owner": "other" });
    const plan = planNamespaceForward(forwardInput(NONE, LINKERD, { ...kumaShop, ns: theirs }));
    expect(plan.problem?.reason).toBe("NamespaceOwnedByAnotherMigration");
  });
});

describe("the migration holding such a namespace", () => {
  const input: MigrationPlanInput = {
    name: "move",
    generation: 1,
    spec: {
      source: NONE,
      target: LINKERD,
      batches: [{ name: "all", namespaces: ["shop"] }],
      strategy: {
        maxConcurrentNamespaces: 1,
        maxConcurrentRollouts: 5,
        rolloutTimeout: "10m",
        workloadOverrides: "Rewrite",
      },
      paused: false,
    },
    namespaces: new Map([["shop", namespace("shop")]]),
    workloadsIn: () => kumaShop.workloads,
    podsIn: () => kumaShop.pods,
    targetControlPlane: READY_CONTROL_PLANE,
    now: new Date("2026-12-01T10:00:00Z"),
  };

  it("is Failed with a Degraded condition and a Warning Event naming the pods, and changes nothing", () => {
    const plan = planMigration(input);
    expect(plan.actions).toEqual([]);
    expect(plan.status.phase).toBe("Failed");
    const degraded = plan.status.conditions.find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "ForeignMeshPods" });
    expect(degraded?.message).toContain("web-1, web-2");
    const event = plan.events.find((e) => e.reason === "ForeignMeshPods");
    expect(event).toMatchObject({ type: "Warning" });
    expect(event?.message).toContain("meshed by Kuma");
    expect(event?.message).toContain("spec.batches");
    const [shop] = plan.status.namespaces;
    expect(shop).toMatchObject({ phase: "Blocked", pods: { unmeshed: 1 } });
    expect(shop?.message).toContain("web-1, web-2");
  });

  it("is the same blocker in the whole plan dryRun and `plan` publish, before any change", () => {
    const spec: MeshMigrationSpecInput = {
      source: { mesh: "none" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: ["shop"] }],
    };
    const parsed = parseSpec(spec);
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    const outline = planWholeMigration({
      migration: "move",
      spec: parsed.spec,
      namespaces: input.namespaces,
      workloadsIn: input.workloadsIn,
      podsIn: input.podsIn,
      targetControlPlane: READY_CONTROL_PLANE,
      warnings: [],
      now: input.now,
    });
    expect(outline.blocked).toBe(true);
    expect(outline.blockers).toEqual([
      expect.objectContaining({ reason: "ForeignMeshPods", namespace: "shop" }),
    ]);
    expect(outline.blockers[0]?.message).toContain("2 pod(s) meshed by Kuma");
    expect(outline.batches[0]?.namespaces[0]?.changes).toEqual([]);
    expect(outline.summary).toContain("The migration would stop before changing anything.");
  });
});
