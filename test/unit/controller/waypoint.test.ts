import { describe, expect, it } from "vitest";
import type { Action } from "../../../src/controller/actions.ts";
import { planNamespaceForward } from "../../../src/controller/namespace/forward.ts";
import { planNamespaceRollback } from "../../../src/controller/namespace/rollback.ts";
import type { NamespacePlanInput } from "../../../src/controller/namespace/types.ts";
import {
  type GatewayFacts,
  gatewayFacts,
  waypointManifest,
} from "../../../src/controller/namespace/waypoint-gateway.ts";
import { type NamespaceState, projectNamespace } from "../../../src/controller/projection.ts";
import type { MeshRef } from "../../../src/meshes/driver.ts";
import { deployment, forwardInput, namespace, ownedBy, pod } from "./builders.ts";

const ISTIO = { mesh: "istio" as const };
const AMBIENT = { mesh: "istio-ambient" as const };
const SIDECAR_LABELS = { "istio-injection": "enabled" };
const NOW = Date.parse("2026-11-22T10:00:00Z");

function gateway(name: string, overrides: Partial<GatewayFacts> = {}): GatewayFacts {
  return {
    namespace: "shop",
    name,
    uid: `uid-${name}`,
    resourceVersion: "40",
    gatewayClassName: "istio-waypoint",
    createdBy: undefined,
    createdAt: NOW - 1000,
    terminating: false,
    programmed: { status: "True", reason: "Programmed", message: "" },
    ...overrides,
  };
}

/** A sidecar namespace this migration has recorded, moving istio → istio-ambient with a waypoint. */
function intoAmbient(overrides: Partial<NamespacePlanInput> = {}): NamespacePlanInput {
  return forwardInput(ISTIO, AMBIENT, {
    ns: namespace("shop", SIDECAR_LABELS, ownedBy("move", { labels: SIDECAR_LABELS, annotations: {} })),
    workloads: [deployment("web")],
    pods: [pod("web-1", "web", "istio")],
    waypoint: { name: "waypoint", create: true },
    gateways: [],
    ...overrides,
  });
}

/** What each round writes, as "type" or "type:event reason". */
function writes(rounds: Action[][]): string[] {
  return rounds.flat().map((a) => `${a.type}:${a.event.reason}`);
}

describe("waypoint before the namespace joins ambient", () => {
  it("creates the waypoint first, marked as this migration's, when spec.target.waypoint.create is true", () => {
    const plan = planNamespaceForward(intoAmbient());
    expect(plan.phase).toBe("Pending");
    expect(plan.actions).toEqual([
      expect.objectContaining({ type: "CreateWaypoint", namespace: "shop", name: "waypoint", owner: "move" }),
    ]);
  });

  it("makes the Gateway as istioctl waypoint generate does, with the owner on it", () => {
    expect(waypointManifest("shop", "waypoint", "move")).toEqual({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: {
        name: "waypoint",
        namespace: "shop",
        labels: { "istio.io/waypoint-for": "service", "meshmigration.io/owner": "move" },
        annotations: { "meshmigration.io/owner": "move" },
      },
      spec: {
        gatewayClassName: "istio-waypoint",
        listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
      },
    });
  });

  it("without create, holds the namespace until the named waypoint exists, saying how to make it", () => {
    const plan = planNamespaceForward(intoAmbient({ waypoint: { name: "waypoint" } }));
    expect(plan.phase).toBe("Blocked");
    expect(plan.actions).toEqual([]);
    expect(plan.problem).toMatchObject({ reason: "WaypointMissing", halts: false });
    expect(plan.problem?.message).toContain("istioctl waypoint apply -n shop --name waypoint");
  });

  it("refuses a Gateway of another class as the waypoint, and never changes it", () => {
    const plan = planNamespaceForward(
      intoAmbient({ gateways: [gateway("waypoint", { gatewayClassName: "istio" })] }),
    );
    expect(plan.phase).toBe("Blocked");
    expect(plan.actions).toEqual([]);
    expect(plan.problem?.reason).toBe("WaypointWrongClass");
  });

  it("waits until the waypoint is Programmed, saying so, and looks again by the deadline", () => {
    const waiting = gateway("waypoint", {
      createdBy: "move",
      createdAt: NOW - 60_000,
      programmed: { status: "False", reason: "Pending", message: "no deployment yet" },
    });
    const plan = planNamespaceForward(intoAmbient({ gateways: [waiting] }));
    expect(plan.phase).toBe("Pending");
    expect(plan.actions).toEqual([]);
    expect(plan.message).toContain("waiting for waypoint waypoint to be Programmed");
    expect(plan.message).toContain("False (Pending: no deployment yet)");
    expect(plan.recheckAfterMs).toBe(600_000 - 60_000);
  });

  it("halts (Degraded) once the waypoint is not Programmed within rolloutTimeout, saying what to check", () => {
    const stuck = gateway("waypoint", { createdBy: "move", createdAt: NOW - 600_000, programmed: undefined });
    const plan = planNamespaceForward(intoAmbient({ gateways: [stuck] }));
    expect(plan.phase).toBe("Failed");
    expect(plan.actions).toEqual([]);
    expect(plan.problem).toMatchObject({ reason: "WaypointNotProgrammed", halts: true });
    expect(plan.problem?.message).toContain("kubectl describe gateway waypoint -n shop");
    expect(plan.problem?.message).toContain("spec.strategy.rolloutTimeout");
  });

  it("labels istio.io/use-waypoint in a patch of its own, before the ambient label", () => {
    const plan = planNamespaceForward(
      intoAmbient({ gateways: [gateway("waypoint", { createdBy: "move" })] }),
    );
    expect(plan.actions).toEqual([
      expect.objectContaining({
        type: "UseWaypoint",
        change: {
          set: { labels: { "istio.io/use-waypoint": "waypoint" }, annotations: {} },
          remove: { labels: [], annotations: [] },
        },
      }),
    ]);
  });

  it("uses a waypoint the user made as it is (nothing created)", () => {
    const plan = planNamespaceForward(intoAmbient({ gateways: [gateway("waypoint")] }));
    expect(plan.actions.map((a) => a.type)).toEqual(["UseWaypoint"]);
  });

  it("goes record → create → Programmed → use-waypoint → ambient label → restart, one write each", () => {
    const start = intoAmbient({
      ns: namespace("shop", { ...SIDECAR_LABELS, team: "a" }),
    });
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceForward({ ...start, ...state }),
    );
    expect(writes(projected.rounds)).toEqual([
      "RecordOriginal:OriginalRecorded",
      "CreateWaypoint:WaypointCreated",
      "UseWaypoint:WaypointLabelled",
      "Relabel:NamespaceRelabelled",
      "RestartWorkload:WorkloadRestarted",
    ]);
    expect(projected.final.phase).toBe("Migrated");
    expect(projected.state.ns.markers.labels).toEqual({
      team: "a",
      "istio.io/use-waypoint": "waypoint",
      "istio.io/dataplane-mode": "ambient",
      "meshmigration.io/owner": "move",
    });
  });

  it("stays silent once the namespace is in ambient, even if the waypoint stops being Programmed", () => {
    const joined = intoAmbient({
      ns: namespace(
        "shop",
        { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" },
        ownedBy("move", { labels: SIDECAR_LABELS, annotations: {} }),
      ),
      pods: [pod("web-1", "web", "ambient")],
      gateways: [gateway("waypoint", { createdBy: "move", programmed: undefined, createdAt: NOW - 10e6 })],
    });
    const plan = planNamespaceForward(joined);
    expect(plan.actions.filter((a) => a.type !== "RestartWorkload")).toEqual([]);
    expect(plan.problem?.reason).not.toBe("WaypointNotProgrammed");
  });

  it("changes nothing for a move into ambient without spec.target.waypoint", () => {
    const plan = planNamespaceForward(intoAmbient({ waypoint: undefined }));
    expect(plan.actions.map((a) => a.type)).toEqual(["Relabel"]);
  });
});

function stateOf(input: Pick<NamespacePlanInput, "ns" | "workloads" | "pods" | "gateways">): NamespaceState {
  return { ns: input.ns, workloads: input.workloads, pods: input.pods, gateways: input.gateways };
}

/** A namespace this migration moved into ambient with a waypoint, recorded with these original labels. */
function migratedIntoAmbient(
  originalLabels: Record<string, string>,
  gateways: GatewayFacts[],
  useWaypoint = "waypoint",
) {
  return {
    migration: "move",
    source: ISTIO,
    target: AMBIENT,
    maxConcurrentRollouts: 5,
    rolloutTimeoutMs: 600_000,
    now: NOW,
    mayStart: true,
    sourceControlPlane: { ready: true, problems: [] },
    waypoint: { name: "waypoint", create: true },
    ns: namespace(
      "shop",
      {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": useWaypoint,
        "meshmigration.io/owner": "move",
        team: "a",
      },
      ownedBy("move", { labels: originalLabels, annotations: {} }),
    ),
    workloads: [deployment("web")],
    pods: [pod("web-1", "web", "ambient")],
    gateways,
  };
}

describe("rollback of a move into ambient with a waypoint", () => {
  it("brings the pods back on sidecars first, then removes the label, then deletes only its own waypoint", () => {
    const start = migratedIntoAmbient(SIDECAR_LABELS, [gateway("waypoint", { createdBy: "move" })]);
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceRollback({ ...start, ...state }),
    );
    expect(writes(projected.rounds)).toEqual([
      "Relabel:NamespaceRestored",
      "RestartWorkload:WorkloadRestarted",
      "UseWaypoint:WaypointLabelRestored",
      "DeleteWaypoint:WaypointDeleted",
    ]);
    expect(projected.final.phase).toBe("RolledBack");
    expect(projected.state.gateways).toEqual([]);
    expect(projected.state.ns.markers.labels).toEqual({
      "istio-injection": "enabled",
      "meshmigration.io/owner": "move",
      team: "a",
    });
  });

  it("deletes exactly the Gateway it read, by uid and resourceVersion", () => {
    const ours = gateway("waypoint", { createdBy: "move", uid: "u-1", resourceVersion: "77" });
    const start = migratedIntoAmbient(SIDECAR_LABELS, [ours]);
    const plan = planNamespaceRollback({
      ...start,
      ns: namespace(
        "shop",
        { ...SIDECAR_LABELS, "meshmigration.io/owner": "move" },
        start.ns.markers.annotations,
      ),
      pods: [pod("web-1", "web", "istio")],
    });
    expect(plan.phase).toBe("RollingBack");
    expect(plan.actions).toEqual([
      expect.objectContaining({
        type: "DeleteWaypoint",
        name: "waypoint",
        uid: "u-1",
        resourceVersion: "77",
      }),
    ]);
  });

  it("puts back the use-waypoint value the user had before, and keeps the user's waypoint", () => {
    const original = { ...SIDECAR_LABELS, "istio.io/use-waypoint": "team-waypoint" };
    const start = migratedIntoAmbient(original, [
      gateway("team-waypoint"),
      gateway("waypoint", { createdBy: "move" }),
    ]);
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceRollback({ ...start, ...state }),
    );
    expect(projected.state.ns.markers.labels["istio.io/use-waypoint"]).toBe("team-waypoint");
    expect(projected.state.gateways?.map((g) => g.name)).toEqual(["team-waypoint"]);
  });

  it("never deletes a waypoint the user made, nor one another migration made", () => {
    const start = migratedIntoAmbient(SIDECAR_LABELS, [
      gateway("waypoint"),
      gateway("other", { createdBy: "old" }),
    ]);
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceRollback({ ...start, ...state }),
    );
    expect(writes(projected.rounds)).not.toContain("DeleteWaypoint:WaypointDeleted");
    expect(projected.state.gateways?.map((g) => g.name)).toEqual(["waypoint", "other"]);
    // The label the operator set goes: the namespace had none before.
    expect(projected.state.ns.markers.labels["istio.io/use-waypoint"]).toBeUndefined();
  });

  it("leaves a use-waypoint label the user changed meanwhile as the user left it", () => {
    const start = migratedIntoAmbient(SIDECAR_LABELS, [], "users-choice");
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceRollback({ ...start, ...state }),
    );
    expect(projected.state.ns.markers.labels["istio.io/use-waypoint"]).toBe("users-choice");
  });
});

describe("leaving ambient (ambient → sidecar, ambient → Linkerd)", () => {
  /** A namespace in ambient with a waypoint, which this migration moves to another mesh. */
  function outOfAmbient(gateways: GatewayFacts[], target: MeshRef = ISTIO): NamespacePlanInput {
    const ambientLabels = { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" };
    return forwardInput(AMBIENT, target, {
      ns: namespace("shop", ambientLabels),
      workloads: [deployment("web")],
      pods: [pod("web-1", "web", "ambient")],
      gateways,
    });
  }

  it("keeps the waypoint until the pods have left ambient, then removes the operator's label and Gateway", () => {
    const start = outOfAmbient([gateway("waypoint", { createdBy: "earlier-move" })]);
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceForward({ ...start, ...state }),
    );
    expect(writes(projected.rounds)).toEqual([
      "RecordOriginal:OriginalRecorded",
      "Relabel:NamespaceRelabelled",
      "RestartWorkload:WorkloadRestarted",
      "UseWaypoint:WaypointLabelRestored",
      "DeleteWaypoint:WaypointDeleted",
    ]);
    expect(projected.final.phase).toBe("Migrated");
    expect(projected.state.gateways).toEqual([]);
    expect(projected.state.ns.markers.labels["istio.io/use-waypoint"]).toBeUndefined();
  });

  it("does the same on the way to Linkerd", () => {
    const start = outOfAmbient([gateway("waypoint", { createdBy: "earlier-move" })], { mesh: "linkerd" });
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceForward({ ...start, ...state }),
    );
    expect(writes(projected.rounds).slice(-2)).toEqual([
      "UseWaypoint:WaypointLabelRestored",
      "DeleteWaypoint:WaypointDeleted",
    ]);
    expect(projected.final.phase).toBe("Migrated");
  });

  it("does not delete a waypoint again while it terminates", () => {
    const start = outOfAmbient([gateway("waypoint", { createdBy: "earlier-move", terminating: true })]);
    const plan = planNamespaceForward({
      ...start,
      ns: namespace(
        "shop",
        { "istio-injection": "enabled" },
        ownedBy("move", { labels: {}, annotations: {} }),
      ),
      pods: [pod("web-1", "web", "istio")],
    });
    expect(plan.actions).toEqual([]);
    expect(plan.phase).toBe("Migrated");
  });

  it("keeps a waypoint and label the user made", () => {
    const start = outOfAmbient([gateway("waypoint")]);
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceForward({ ...start, ...state }),
    );
    expect(writes(projected.rounds).filter((w) => w.includes("Waypoint"))).toEqual([]);
    expect(projected.state.ns.markers.labels["istio.io/use-waypoint"]).toBe("waypoint");
    expect(projected.state.gateways?.map((g) => g.name)).toEqual(["waypoint"]);
  });
});

describe("reading a Gateway from the cache", () => {
  it("reads its class, owner, age and Programmed condition", () => {
    const facts = gatewayFacts({
      metadata: {
        name: "waypoint",
        namespace: "shop",
        uid: "u",
        resourceVersion: "9",
        creationTimestamp: "2026-11-22T09:59:00Z",
        annotations: { "meshmigration.io/owner": "move" },
      },
      spec: { gatewayClassName: "istio-waypoint" },
      status: {
        conditions: [
          { type: "Accepted", status: "True" },
          { type: "Programmed", status: "False", reason: "Pending" },
        ],
      },
    });
    expect(facts).toEqual({
      namespace: "shop",
      name: "waypoint",
      uid: "u",
      resourceVersion: "9",
      gatewayClassName: "istio-waypoint",
      createdBy: "move",
      createdAt: NOW - 60_000,
      terminating: false,
      programmed: { status: "False", reason: "Pending", message: "" },
    });
  });

  it("ignores what is not a Gateway with a name", () => {
    expect(gatewayFacts({ spec: {} })).toBeUndefined();
  });
});

describe("rollback of a move out of ambient", () => {
  /** Moved ambient → istio by this migration, its operator-made waypoint already removed. */
  function movedOut(gateways: GatewayFacts[], extraLabels: Record<string, string> = {}) {
    const original = { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" };
    return {
      migration: "move",
      source: AMBIENT,
      target: ISTIO,
      maxConcurrentRollouts: 5,
      rolloutTimeoutMs: 600_000,
      now: NOW,
      mayStart: true,
      sourceControlPlane: { ready: true, problems: [] },
      ns: namespace(
        "shop",
        { ...SIDECAR_LABELS, "meshmigration.io/owner": "move", ...extraLabels },
        ownedBy("move", { labels: original, annotations: {} }),
      ),
      workloads: [deployment("web")],
      pods: [pod("web-1", "web", "istio")],
      gateways,
    };
  }

  it("gives the namespace its waypoint back, Programmed and labelled, before it rejoins ambient", () => {
    const start = movedOut([]);
    const projected = projectNamespace(stateOf(start), (state) =>
      planNamespaceRollback({ ...start, ...state }),
    );
    expect(writes(projected.rounds)).toEqual([
      "CreateWaypoint:WaypointCreated",
      "UseWaypoint:WaypointLabelled",
      "Relabel:NamespaceRestored",
      "RestartWorkload:WorkloadRestarted",
    ]);
    expect(projected.final.phase).toBe("RolledBack");
    expect(projected.state.ns.markers.labels).toMatchObject({
      "istio.io/dataplane-mode": "ambient",
      "istio.io/use-waypoint": "waypoint",
    });
  });

  it("uses the waypoint that is still there, creating nothing", () => {
    const start = movedOut([gateway("waypoint")]);
    const plan = planNamespaceRollback(start);
    expect(plan.actions.map((a) => a.type)).toEqual(["UseWaypoint"]);
  });

  it("creates no waypoint the namespace used from another namespace", () => {
    const start = movedOut([], { "istio.io/use-waypoint-namespace": "shared" });
    const plan = planNamespaceRollback(start);
    expect(plan.actions.map((a) => a.type)).toEqual(["Relabel"]);
  });
});
