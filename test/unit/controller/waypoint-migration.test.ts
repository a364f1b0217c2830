// The waypoint steps as the reconciler reaches them: the Gateways read from the cluster (as the
// cache keeps them) through migrationFacts, and spec.target.waypoint through the migration planner.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseSpec } from "../../../src/api/schema.ts";
import { type ClusterReadings, migrationFacts } from "../../../src/controller/cluster-facts.ts";
import { planMigration } from "../../../src/controller/migration/plan-migration.ts";
import type { MigrationPlanInput } from "../../../src/controller/migration/types.ts";
import { deployment, namespace, pod, READY_CONTROL_PLANE } from "./builders.ts";

const SPEC: MigrationPlanInput["spec"] = {
  source: { mesh: "istio" },
  target: { mesh: "istio-ambient", waypoint: { name: "waypoint", create: true } },
  batches: [{ name: "all", namespaces: ["shop"] }],
  strategy: {
    maxConcurrentNamespaces: 1,
    maxConcurrentRollouts: 5,
    rolloutTimeout: "10m",
    workloadOverrides: "Rewrite",
  },
  paused: false,
};

const OWNED = {
  "meshmigration.io/owner": "move",
  "meshmigration.io/original": JSON.stringify({ labels: { "istio-injection": "enabled" }, annotations: {} }),
};

function plan(gatewaysIn: MigrationPlanInput["gatewaysIn"]) {
  return planMigration({
    name: "move",
    generation: 1,
    spec: SPEC,
    namespaces: new Map([["shop", namespace("shop", { "istio-injection": "enabled" }, OWNED)]]),
    workloadsIn: () => [deployment("web")],
    podsIn: () => [pod("web-1", "web", "istio")],
    gatewaysIn,
    targetControlPlane: READY_CONTROL_PLANE,
    now: new Date("2026-11-22T10:00:00Z"),
  });
}

describe("waypoints through the migration planner", () => {
  it("creates the waypoint of a recorded namespace before anything else changes", () => {
    expect(plan(() => []).actions.map((a) => a.type)).toEqual(["CreateWaypoint"]);
  });

  it("reads Gateways from the cluster: a Programmed waypoint lets the use-waypoint label go on", () => {
    const gateway = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: {
        name: "waypoint",
        namespace: "shop",
        uid: "u",
        resourceVersion: "5",
        creationTimestamp: "2026-11-22T09:59:00Z",
        annotations: { "meshmigration.io/owner": "move" },
      },
      spec: { gatewayClassName: "istio-waypoint" },
      status: { conditions: [{ type: "Programmed", status: "True" }] },
    };
    const none = <T>(): readonly T[] => [];
    const readings: ClusterReadings = {
      namespaces: [],
      deploymentsIn: none<k8s.V1Deployment>,
      statefulSetsIn: none<k8s.V1StatefulSet>,
      daemonSetsIn: none<k8s.V1DaemonSet>,
      podsIn: none<k8s.V1Pod>,
      deployment: () => undefined,
      daemonSet: () => undefined,
      webhooks: [],
      policies: { gateways: [gateway] },
    };
    const parsed = parseSpec(SPEC);
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    const facts = migrationFacts(parsed.spec, readings);
    expect(facts.gatewaysIn("shop")).toEqual([
      expect.objectContaining({ name: "waypoint", createdBy: "move" }),
    ]);
    expect(facts.gatewaysIn("elsewhere")).toEqual([]);
    expect(plan(facts.gatewaysIn).actions.map((a) => a.type)).toEqual(["UseWaypoint"]);
  });

  it("raises Degraded, saying what to check, when the waypoint is not Programmed within rolloutTimeout", () => {
    const stuck = {
      namespace: "shop",
      name: "waypoint",
      uid: "u",
      resourceVersion: "5",
      gatewayClassName: "istio-waypoint",
      createdBy: "move",
      createdAt: Date.parse("2026-11-22T09:00:00Z"),
      terminating: false,
      programmed: { status: "False", reason: "Invalid", message: "no istiod" },
    };
    const result = plan(() => [stuck]);
    expect(result.actions).toEqual([]);
    const degraded = result.status.conditions.find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "WaypointNotProgrammed" });
    expect(degraded?.message).toContain("kubectl describe gateway waypoint -n shop");
    expect(result.status.namespaces[0]?.phase).toBe("Failed");
  });
});
