// The whole-migration outline: namespace patches, template rewrites, restart waves, unmanaged
// pods and blockers, planned from the cluster as it is.
import { describe, expect, it } from "vitest";
import {
  MAX_PLAN_LIST_ITEMS,
  type MeshMigrationSpecInput,
  MeshMigrationStatusSchema,
  MigrationOutlineSchema,
  type MigrationWarning,
  parseSpec,
} from "../../../src/api/schema.ts";
import type { NamespaceFacts, PodObservation, WorkloadFacts } from "../../../src/controller/facts.ts";
import { planWholeMigration, type WholePlanInput } from "../../../src/controller/whole-plan.ts";
import { deployment, namespace, pod, READY_CONTROL_PLANE } from "./builders.ts";

type Cluster = {
  namespaces: NamespaceFacts[];
  workloads?: WorkloadFacts[];
  pods?: PodObservation[];
};

function outline(
  spec: MeshMigrationSpecInput,
  cluster: Cluster,
  overrides: Partial<WholePlanInput> = {},
): ReturnType<typeof planWholeMigration> {
  const parsed = parseSpec(spec);
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const workloads = cluster.workloads ?? [];
  const pods = cluster.pods ?? [];
  return planWholeMigration({
    migration: "move",
    spec: parsed.spec,
    namespaces: new Map(cluster.namespaces.map((ns) => [ns.name, ns])),
    workloadsIn: (ns) => workloads.filter((w) => w.namespace === ns),
    podsIn: (ns) => pods.filter((p) => p.metadata.namespace === ns),
    targetControlPlane: READY_CONTROL_PLANE,
    warnings: [],
    now: new Date("2026-12-01T00:00:00Z"),
    ...overrides,
  });
}

const ISTIO_TO_LINKERD: MeshMigrationSpecInput = {
  source: { mesh: "istio" },
  target: { mesh: "linkerd" },
  batches: [{ name: "canary", namespaces: ["shop"] }],
};

function shopNamespace(labels: Record<string, string> = { "istio-injection": "enabled" }) {
  return namespace("shop", { ...labels, team: "payments" });
}

function onlyNamespace(result: ReturnType<typeof planWholeMigration>) {
  const ns = result.batches[0]?.namespaces[0];
  if (!ns) throw new Error("no namespace in the outline");
  return ns;
}

describe("planWholeMigration", () => {
  it("records, then switches the namespace in one patch and restarts one workload first, then in waves", () => {
    const result = outline(
      { ...ISTIO_TO_LINKERD, strategy: { maxConcurrentRollouts: 2 } },
      {
        namespaces: [shopNamespace()],
        workloads: ["cart", "api", "web"].map((name) => deployment(name)),
        pods: [pod("api-1", "api", "istio"), pod("cart-1", "cart", "istio"), pod("web-1", "web", "istio")],
      },
    );
    const ns = onlyNamespace(result);
    expect(ns.exists).toBe(true);
    expect(ns.meshes).toEqual(["istio"]);
    expect(ns.changes).toHaveLength(2);
    expect(ns.changes[0]?.annotations).toEqual([
      "meshmigration.io/owner=move",
      'meshmigration.io/original={"labels":{"istio-injection":"enabled"},"annotations":{}}',
    ]);
    expect(ns.changes[1]).toMatchObject({
      labels: ["istio-injection-"],
      annotations: ["linkerd.io/inject=enabled"],
    });
    // The first restart goes alone: the injector proves itself on one workload before the rest move.
    expect(ns.restartWaves).toEqual([["deployment/api"], ["deployment/cart", "deployment/web"]]);
    expect(result.blocked).toBe(false);
    expect(result.summary).toContain("3 workload restarts");
  });

  it("rewrites source opt-ins on pod templates, or blocks on them when workloadOverrides is Fail", () => {
    const pinned = deployment("web", {
      template: { labels: { app: "web", "sidecar.istio.io/inject": "true" }, annotations: {} },
    });
    const cluster = {
      namespaces: [shopNamespace()],
      workloads: [pinned],
      pods: [pod("web-1", "web", "istio")],
    };
    const rewriting = onlyNamespace(outline(ISTIO_TO_LINKERD, cluster));
    expect(rewriting.templateRewrites).toEqual([
      {
        workload: "deployment/web",
        labels: ["sidecar.istio.io/inject-"],
        annotations: ["linkerd.io/inject=enabled"],
      },
    ]);
    expect(rewriting.restartWaves).toEqual([["deployment/web"]]);

    const failing = outline({ ...ISTIO_TO_LINKERD, strategy: { workloadOverrides: "Fail" } }, cluster);
    expect(failing.blocked).toBe(true);
    expect(failing.blockers).toEqual([
      expect.objectContaining({ reason: "WorkloadOverridesFound", namespace: "shop" }),
    ]);
    expect(failing.blockers[0]?.message).toContain("deployment/web");
  });

  it("leaves Linkerd first when moving to ambient, relabelling twice", () => {
    const result = outline(
      {
        source: { mesh: "linkerd" },
        target: { mesh: "istio-ambient" },
        batches: [{ name: "b", namespaces: ["shop"] }],
      },
      {
        namespaces: [namespace("shop", {}, { "linkerd.io/inject": "enabled" })],
        workloads: [deployment("web")],
        pods: [pod("web-1", "web", "linkerd")],
      },
    );
    const ns = onlyNamespace(result);
    expect(ns.changes.slice(1)).toEqual([
      expect.objectContaining({ labels: [], annotations: ["linkerd.io/inject-"] }),
      expect.objectContaining({ labels: ["istio.io/dataplane-mode=ambient"], annotations: [] }),
    ]);
    expect(ns.changes[1]?.step).toContain("leave linkerd first");
    expect(ns.restartWaves).toEqual([["deployment/web"]]);
  });

  it("restarts nothing when ambient takes running pods, and says why for each workload", () => {
    const result = outline(
      {
        source: { mesh: "none" },
        target: { mesh: "istio-ambient" },
        batches: [{ name: "b", namespaces: ["shop"] }],
      },
      {
        namespaces: [namespace("shop")],
        workloads: [
          deployment("web"),
          deployment("idle", { desiredPods: 0 }),
          deployment("agent", { templateHostNetwork: true }),
        ],
        pods: [pod("web-1", "web", "none"), pod("agent-1", "agent", "none")],
      },
    );
    const ns = onlyNamespace(result);
    expect(ns.changes[1]?.labels).toEqual(["istio.io/dataplane-mode=ambient"]);
    expect(ns.restartWaves).toEqual([]);
    expect(ns.notRestarted).toEqual([
      { workload: "deployment/agent", reason: expect.stringContaining("hostNetwork") },
      { workload: "deployment/idle", reason: expect.stringContaining("no pods") },
      { workload: "deployment/web", reason: expect.stringContaining("applies to running pods") },
    ]);
  });

  it("does not restart workloads already on the target, nor relabel a namespace already switched", () => {
    const result = outline(ISTIO_TO_LINKERD, {
      namespaces: [
        namespace(
          "shop",
          {},
          {
            "linkerd.io/inject": "enabled",
            "meshmigration.io/owner": "move",
            "meshmigration.io/original": JSON.stringify({
              labels: { "istio-injection": "enabled" },
              annotations: {},
            }),
          },
        ),
      ],
      workloads: [deployment("web"), deployment("api")],
      pods: [pod("web-1", "web", "linkerd"), pod("api-1", "api", "istio")],
    });
    const ns = onlyNamespace(result);
    expect(ns.changes).toEqual([]);
    expect(ns.note).toContain("already being migrated by this MeshMigration");
    expect(ns.restartWaves).toEqual([["deployment/api"]]);
    expect(ns.notRestarted).toEqual([{ workload: "deployment/web", reason: "already on linkerd" }]);
    expect(result.blockers).toEqual([]);
  });

  it("lists the pods nobody can restart: bare pods and Job pods", () => {
    const result = outline(ISTIO_TO_LINKERD, {
      namespaces: [shopNamespace()],
      pods: [
        pod("debug", "none", "istio", { owner: undefined, unmanaged: true }),
        pod("backup-x7", "none", "istio", {
          owner: undefined,
          unmanaged: true,
          metadata: {
            name: "backup-x7",
            namespace: "shop",
            labels: { "batch.kubernetes.io/job-name": "backup" },
          },
        }),
        pod("done", "none", "istio", { owner: undefined, unmanaged: true, phase: "Succeeded" }),
      ],
    });
    expect(onlyNamespace(result).unmanagedPods).toEqual(["debug", "backup-x7 (Job backup)"]);
    expect(result.summary).toContain("2 pods to recreate by hand");
  });

  it("keeps long pod lists within the status schema's bound", () => {
    const pods = Array.from({ length: 150 }, (_, i) =>
      pod(`bare-${i}`, "none", "istio", { owner: undefined, unmanaged: true }),
    );
    const ns = onlyNamespace(outline(ISTIO_TO_LINKERD, { namespaces: [shopNamespace()], pods }));
    expect(ns.unmanagedPods).toHaveLength(MAX_PLAN_LIST_ITEMS);
    expect(ns.unmanagedPods.at(-1)).toBe("... and 51 more");
  });

  it("reports missing, foreign and terminating namespaces and an unready target as blockers", () => {
    const result = outline(
      { ...ISTIO_TO_LINKERD, batches: [{ name: "canary", namespaces: ["shop", "ghost", "taken", "going"] }] },
      {
        namespaces: [
          shopNamespace(),
          namespace("taken", { "istio-injection": "enabled" }, { "meshmigration.io/owner": "other" }),
          { ...namespace("going", { "istio-injection": "enabled" }), terminating: true },
        ],
      },
      {
        targetControlPlane: {
          ready: false,
          problems: ["Deployment linkerd/linkerd-identity not found: install it"],
        },
      },
    );
    expect(result.blocked).toBe(true);
    expect(result.blockers.map((b) => [b.reason, b.namespace])).toEqual([
      ["TargetControlPlaneNotReady", undefined],
      ["NamespaceNotFound", "ghost"],
      ["NamespaceOwnedByAnotherMigration", "taken"],
      ["NamespaceTerminating", "going"],
    ]);
    expect(result.blockers[0]?.message).toContain("linkerd-identity");
    expect(result.batches[0]?.namespaces.find((ns) => ns.name === "ghost")).toMatchObject({ exists: false });
  });

  it("plans no change for a namespace it reports as blocked, and counts only batches it shows", () => {
    const result = outline(
      {
        ...ISTIO_TO_LINKERD,
        batches: [
          { name: "canary", namespaces: ["taken"] },
          { name: "nobody", namespaceSelector: { matchLabels: { team: "nobody" } } },
          { name: "wave", namespaces: ["shop"] },
        ],
      },
      {
        namespaces: [
          shopNamespace(),
          namespace("taken", { "istio-injection": "enabled" }, { "meshmigration.io/owner": "other" }),
        ],
      },
    );
    const taken = result.batches[0]?.namespaces.find((ns) => ns.name === "taken");
    expect(result.blockers.map((b) => b.reason)).toContain("NamespaceOwnedByAnotherMigration");
    expect(taken?.changes).toEqual([]);
    expect(taken?.restartWaves).toEqual([]);
    // The summary's "3 batches" are the outline's three, the empty one included.
    expect(result.summary).toContain("in 3 batches");
    expect(result.batches.map((b) => [b.name, b.namespaces.length])).toEqual([
      ["canary", 1],
      ["nobody", 0],
      ["wave", 1],
    ]);
  });

  it("reports a namespace that already enrolls the target and another mesh as a blocker", () => {
    const result = outline(ISTIO_TO_LINKERD, {
      namespaces: [
        namespace("shop", { "istio.io/dataplane-mode": "ambient" }, { "linkerd.io/inject": "enabled" }),
      ],
    });
    expect(result.blockers).toEqual([
      expect.objectContaining({ reason: "ConflictingMeshMarkers", namespace: "shop" }),
    ]);
    expect(result.blockers[0]?.message).toContain("istio-ambient");
  });

  it("keeps batch order, resolves selectors and marks batches after stopAfterBatch as held", () => {
    const result = outline(
      {
        ...ISTIO_TO_LINKERD,
        batches: [
          { name: "canary", namespaces: ["shop"] },
          { name: "payments", namespaceSelector: { matchLabels: { team: "payments" } } },
          { name: "rest", namespaces: ["web"] },
        ],
        stopAfterBatch: "payments",
      },
      {
        namespaces: [
          shopNamespace(),
          namespace("ledger", { team: "payments", "istio-injection": "enabled" }),
          namespace("billing", { team: "payments", "istio-injection": "enabled" }),
          namespace("web", { "istio-injection": "enabled" }),
        ],
      },
    );
    expect(result.batches.map((b) => [b.name, b.held, b.namespaces.map((ns) => ns.name)])).toEqual([
      ["canary", false, ["shop"]],
      ["payments", false, ["billing", "ledger"]],
      ["rest", true, ["web"]],
    ]);
  });

  it("holds only batches after the gate that have not started, as the planner does", () => {
    const owned = namespace(
      "web",
      { "istio-injection": "enabled" },
      {
        "meshmigration.io/owner": "move",
        "meshmigration.io/original": JSON.stringify({
          labels: { "istio-injection": "enabled" },
          annotations: {},
        }),
      },
    );
    const result = outline(
      {
        ...ISTIO_TO_LINKERD,
        batches: [
          { name: "canary", namespaces: ["shop"] },
          { name: "started", namespaces: ["web"] },
          { name: "later", namespaces: ["api"] },
        ],
        stopAfterBatch: "canary",
      },
      { namespaces: [shopNamespace(), owned, namespace("api", { "istio-injection": "enabled" })] },
    );
    expect(result.batches.map((b) => [b.name, b.held])).toEqual([
      ["canary", false],
      ["started", false],
      ["later", true],
    ]);
  });

  it("plans the rollback when spec.rollback is true: restore the original, then restart back", () => {
    const result = outline(
      { ...ISTIO_TO_LINKERD, rollback: true },
      {
        namespaces: [
          namespace(
            "shop",
            { "meshmigration.io/owner": "move" },
            {
              "linkerd.io/inject": "enabled",
              "meshmigration.io/owner": "move",
              "meshmigration.io/original": JSON.stringify({
                labels: { "istio-injection": "enabled" },
                annotations: {},
              }),
            },
          ),
        ],
        workloads: [deployment("web"), deployment("api")],
        pods: [pod("web-1", "web", "linkerd"), pod("api-1", "api", "istio")],
      },
    );
    const ns = onlyNamespace(result);
    expect(ns.changes).toEqual([
      {
        step: expect.stringContaining("restore the recorded original mesh markers"),
        labels: ["istio-injection=enabled"],
        annotations: ["linkerd.io/inject-"],
      },
    ]);
    expect(ns.restartWaves).toEqual([["deployment/web"]]);
    expect(ns.notRestarted).toEqual([{ workload: "deployment/api", reason: "already on istio" }]);
    expect(result.summary).toContain("this is the rollback plan");
  });

  it("is blocked by a blocking warning unless blockOnWarnings is false", () => {
    const warnings: MigrationWarning[] = [
      { code: "IstioStrictMTLS", severity: "Blocking", namespace: "billing", message: "STRICT" },
      { code: "HostNetworkWorkload", severity: "Warning", namespace: "shop", message: "hostNetwork" },
    ];
    const cluster = { namespaces: [shopNamespace()] };
    const blocked = outline(ISTIO_TO_LINKERD, cluster, { warnings });
    expect(blocked.blocked).toBe(true);
    expect(blocked.warnings).toEqual(warnings);
    expect(blocked.summary).toContain("2 warnings (1 blocking)");
    const accepted = outline({ ...ISTIO_TO_LINKERD, strategy: { blockOnWarnings: false } }, cluster, {
      warnings,
    });
    expect(accepted.blocked).toBe(false);
  });

  it("produces what the status schema accepts as status.plan", () => {
    const result = outline(ISTIO_TO_LINKERD, {
      namespaces: [shopNamespace()],
      workloads: [deployment("web")],
      pods: [
        pod("web-1", "web", "istio"),
        pod("debug", "none", "istio", { owner: undefined, unmanaged: true }),
      ],
    });
    expect(MigrationOutlineSchema.parse(result)).toEqual(result);
    expect(MeshMigrationStatusSchema.parse({ phase: "Pending", plan: result }).plan).toEqual(result);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });
});
