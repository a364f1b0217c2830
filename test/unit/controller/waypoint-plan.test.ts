// The whole plan (spec.dryRun, the plan CLI) of a move into ambient with a waypoint, and of the
// migration's own waypoint facts read from the cluster's Gateways.
import { describe, expect, it } from "vitest";
import { type MeshMigrationSpecInput, MigrationOutlineSchema, parseSpec } from "../../../src/api/schema.ts";
import type { GatewayFacts } from "../../../src/controller/namespace/waypoint-gateway.ts";
import { planWholeMigration } from "../../../src/controller/whole-plan.ts";
import { deployment, namespace, pod, READY_CONTROL_PLANE } from "./builders.ts";

const SPEC: MeshMigrationSpecInput = {
  source: { mesh: "istio" },
  target: { mesh: "istio-ambient", waypoint: { name: "waypoint", create: true } },
  batches: [{ name: "canary", namespaces: ["shop"] }],
};

function outline(spec: MeshMigrationSpecInput, gateways: GatewayFacts[] = []) {
  const parsed = parseSpec(spec);
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  return planWholeMigration({
    migration: "move",
    spec: parsed.spec,
    namespaces: new Map([["shop", namespace("shop", { "istio-injection": "enabled" })]]),
    workloadsIn: () => [deployment("web")],
    podsIn: () => [pod("web-1", "web", "istio")],
    gatewaysIn: () => gateways,
    targetControlPlane: READY_CONTROL_PLANE,
    warnings: [],
    now: new Date("2026-12-01T00:00:00Z"),
  });
}

describe("the plan of a move into ambient with a waypoint", () => {
  it("shows the waypoint, then the use-waypoint label, then the ambient relabel, each its own step", () => {
    const result = outline(SPEC);
    const changes = result.batches[0]?.namespaces[0]?.changes ?? [];
    expect(changes.map((c) => c.step)).toEqual([
      expect.stringContaining("record the namespace's original mesh markers"),
      expect.stringContaining("create waypoint waypoint (Gateway of gatewayClassName istio-waypoint"),
      expect.stringContaining("point the namespace at its waypoint"),
      expect.stringContaining("switch from"),
    ]);
    expect(changes[2]?.labels).toEqual(["istio.io/use-waypoint=waypoint"]);
    expect(changes[3]?.labels).toEqual(["istio-injection-", "istio.io/dataplane-mode=ambient"]);
    expect(result.blocked).toBe(false);
    expect(MigrationOutlineSchema.safeParse(result).success).toBe(true);
  });

  it("without create, names the missing waypoint as a blocker", () => {
    const result = outline({ ...SPEC, target: { mesh: "istio-ambient", waypoint: { name: "waypoint" } } });
    expect(result.blockers).toEqual([
      expect.objectContaining({ reason: "WaypointMissing", namespace: "shop" }),
    ]);
  });

  it("the rollback plan takes the label off, then deletes the waypoint the operator made", () => {
    const parsedNs = namespace(
      "shop",
      {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": "waypoint",
        "meshmigration.io/owner": "move",
      },
      {
        "meshmigration.io/owner": "move",
        "meshmigration.io/original": JSON.stringify({
          labels: { "istio-injection": "enabled" },
          annotations: {},
        }),
      },
    );
    const parsed = parseSpec({ ...SPEC, rollback: true });
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    const result = planWholeMigration({
      migration: "move",
      spec: parsed.spec,
      namespaces: new Map([["shop", parsedNs]]),
      workloadsIn: () => [deployment("web")],
      podsIn: () => [pod("web-1", "web", "ambient")],
      gatewaysIn: () => [
        {
          namespace: "shop",
          name: "waypoint",
          uid: "u",
          resourceVersion: "1",
          gatewayClassName: "istio-waypoint",
          createdBy: "move",
          createdAt: undefined,
          terminating: false,
          programmed: { status: "True", reason: "Programmed", message: "" },
        },
      ],
      targetControlPlane: READY_CONTROL_PLANE,
      warnings: [],
      now: new Date("2026-12-01T00:00:00Z"),
    });
    const steps = result.batches[0]?.namespaces[0]?.changes.map((c) => c.step) ?? [];
    expect(steps).toEqual([
      expect.stringContaining("restore the recorded original mesh markers"),
      expect.stringContaining("take the namespace off the waypoint"),
      expect.stringContaining("delete waypoint waypoint, which the operator created"),
    ]);
  });
});
