// Adding a mesh is one driver file and one registry line: everything else that knows about
// meshes (the API's names, revisions and protected namespaces, the double-mesh guard, the enqueue
// filter, the trust boundaries) is derived from the drivers. A throwaway driver shows it.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MESH_CATALOG_FILE, renderMeshCatalog } from "../../../scripts/generate-mesh-catalog.ts";
import { guardPolicy } from "../../../src/controller/guard.ts";
import type { MeshDriver, MeshName } from "../../../src/meshes/driver.ts";
import { noChange } from "../../../src/meshes/markers.ts";
import { controlPlaneNamespaces, MESH_DRIVERS, meshCatalog } from "../../../src/meshes/registry.ts";

/** A mesh that does not exist: sidecar "kuma-dp", control plane in kuma-system, its own trust root. */
const throwaway: MeshDriver = {
  name: "kuma" as MeshName,
  namespaceLabelKeys: ["kuma.io/sidecar-injection"],
  namespaceAnnotationKeys: [],
  templateMarkerKeys: { labels: [], annotations: ["kuma.io/sidecar-injection"] },
  joinRequiresRestart: true,
  leaveRequiresRestart: true,
  enroll: () => noChange(),
  unenroll: () => noChange(),
  namespaceEnrolled: (ns) => ns.labels["kuma.io/sidecar-injection"] === "enabled",
  isMember: (pod) => (pod.spec?.containers ?? []).some((c) => c.name === "kuma-sidecar"),
  templateOptIns: () => [],
  controlPlane: () => [],
  memberMarks: () => ({ containers: ["kuma-sidecar"], annotations: {} }),
  controlPlaneNamespace: "kuma-system",
  trustDomain: { id: "kuma", name: "Kuma" },
  admission: {
    cel: "variables.proxies.exists(n, n == 'kuma-sidecar')",
    verb: "carries",
    what: "kuma-sidecar (Kuma)",
    remedy: "the Kuma namespace label",
  },
};
const withThrowaway = [...Object.values(MESH_DRIVERS), throwaway];

describe("adding a mesh", () => {
  it("gives the API its name and protects its control-plane namespace, through the generated catalog", () => {
    const catalog = meshCatalog(withThrowaway);
    expect(catalog.names).toContain("kuma");
    expect(catalog.controlPlaneNamespaces).toContain("kuma-system");
    expect(renderMeshCatalog(catalog)).toContain('"kuma"');
    expect(controlPlaneNamespaces(withThrowaway)).toContain("kuma-system");
  });

  it("guards its pods against every mesh that could take them too", () => {
    const policy = guardPolicy(withThrowaway).spec;
    expect(policy?.variables?.map((v) => v.name)).toContain("kuma");
    const clashes = (policy?.validations ?? []).map((v) => v.expression).filter((e) => e.includes("kuma"));
    expect(clashes).toEqual([
      "!(variables.consul && variables.kuma)",
      "!(variables.istio && variables.kuma)",
      "!(variables.istio_ambient && variables.kuma)",
      "!(variables.linkerd && variables.kuma)",
      // The meshes still without a driver (src/meshes/foreign-meshes.ts); Kuma and Consul left that table.
      "!(variables.foreign_appmesh && variables.kuma)",
      "!(variables.foreign_osm && variables.kuma)",
    ]);
    expect(policy?.variables?.map((v) => v.name)).not.toContain("foreign_kuma");
  });

  it("is what src/api/mesh-catalog.ts holds for today's drivers (run `npm run crds` after adding one)", () => {
    const committed = readFileSync(resolve(import.meta.dirname, "../../..", MESH_CATALOG_FILE), "utf8");
    expect(committed, `${MESH_CATALOG_FILE} is stale: run \`npm run crds\` and commit the result`).toBe(
      renderMeshCatalog(meshCatalog()),
    );
  });
});
