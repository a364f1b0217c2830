// The double-mesh guard refuses our proxies on a pod a mesh we do not drive already runs: one rule
// per such mesh and mesh of ours, its CEL the same evidence the planner reads
// (src/meshes/foreign-meshes.ts). test/e2e/foreign-mesh.test.ts has a real apiserver evaluate it.
import { describe, expect, it } from "vitest";
import { guardPolicy } from "../../../src/controller/guard.ts";
import { celOfForeignMesh, foreignMeshesBeside } from "../../../src/meshes/foreign-meshes.ts";
import { MESH_DRIVERS } from "../../../src/meshes/registry.ts";

/** The table less the meshes with a driver (Consul has one). */
const FOREIGN_MESHES = foreignMeshesBeside(Object.values(MESH_DRIVERS));
const policy = guardPolicy().spec;
const validations = policy?.validations ?? [];

function ruleFor(foreign: string, ours: string) {
  const rule = validations.find(
    (v) => v.expression === `!(variables.foreign_${foreign} && variables.${ours})`,
  );
  if (!rule) throw new Error(`no rule for ${foreign} and ${ours}`);
  return rule;
}

describe("the guard and meshes we do not drive", () => {
  it("holds one variable per mesh we do not drive, with the table's evidence, before the migration's name", () => {
    const names = (policy?.variables ?? []).map((v) => v.name);
    expect(names).toEqual([
      "proxies",
      "consul",
      "istio",
      "istio_ambient",
      "linkerd",
      "foreign_kuma",
      "foreign_appmesh",
      "foreign_osm",
      "migration",
    ]);
    for (const mesh of FOREIGN_MESHES) {
      const variable = policy?.variables?.find((v) => v.name === `foreign_${mesh.id}`);
      expect(variable?.expression).toBe(celOfForeignMesh(mesh));
    }
  });

  it("refuses each of our meshes on a pod each of them runs, and keeps the rules between ours", () => {
    const ours = ["consul", "istio", "istio_ambient", "linkerd"];
    for (const mesh of FOREIGN_MESHES) {
      for (const driver of ours) expect(ruleFor(mesh.id, driver).reason).toBe("Forbidden");
    }
    expect(validations).toHaveLength(5 + FOREIGN_MESHES.length * ours.length);
    expect(validations.slice(0, 5).map((v) => v.expression)).toEqual([
      "!(variables.consul && variables.istio)",
      "!(variables.consul && variables.istio_ambient)",
      "!(variables.consul && variables.linkerd)",
      "!(variables.istio && variables.linkerd)",
      "!(variables.istio_ambient && variables.linkerd)",
    ]);
  });

  it("names both meshes, the migration, and what to do", () => {
    expect(ruleFor("kuma", "linkerd").messageExpression).toBe(
      "'the pod is meshed by Kuma (kuma-sidecar) and carries linkerd-proxy (Linkerd): two meshes in one pod. " +
        "Refused by the double-mesh guard of MeshMigration ' + variables.migration + '; move the pod out of Kuma " +
        "first (remove kuma.io/sidecar-injection: enabled from the namespace and the pod templates, or label the " +
        "pod templates kuma.io/sidecar-injection: disabled; then restart them), or remove the Linkerd opt-in or " +
        "namespace marker'",
    );
    const ambient = ruleFor("osm", "istio_ambient").messageExpression ?? "";
    expect(ambient).toContain("is meshed by Open Service Mesh");
    expect(ambient).toContain("and enrolled in Istio ambient");
    expect(ambient).toContain("or remove the ambient label");
    // Consul has its driver: its rules are between ours, and its what quotes "true" inside the CEL string.
    const consul = validations.find((v) => v.expression === "!(variables.consul && variables.istio)");
    expect(consul?.messageExpression).toContain('consul.hashicorp.com/connect-inject: "true"');
  });

  it("leaves a mesh to its driver once there is one: Consul's pods are then its own rules'", () => {
    const expressions = validations.map((v) => v.expression);
    expect((policy?.variables ?? []).map((v) => v.name)).not.toContain("foreign_consul");
    expect(expressions.filter((e) => e.includes("foreign_consul"))).toEqual([]);
    expect(expressions).toContain("!(variables.consul && variables.linkerd)");
    expect(expressions).toContain("!(variables.foreign_kuma && variables.consul)");
  });
});
