// Meshes we do not drive, recognised as each fixture's FACTS.md says. Kuma has real injected pods
// in the fixtures (membership.test.ts runs them all); App Mesh and OSM have none upstream (Consul
// has its driver now: consul.test.ts),
// so their pods here are built from the facts each case names.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PodFacts } from "../../../src/meshes/driver.ts";
import {
  celOfCondition,
  celOfForeignMesh,
  celString,
  FOREIGN_MESHES,
  foreignMeshesBeside,
  recognises,
} from "../../../src/meshes/foreign-meshes.ts";
import {
  foreignMeshesOfPod,
  isDoubleMeshed,
  MESH_DRIVERS,
  meshesOfPod,
  podOnMesh,
  podOnNoMesh,
} from "../../../src/meshes/registry.ts";
import { FIXTURE_DIR, fixtureTemplate } from "./fixtures.ts";

interface PodParts {
  containers?: Array<{ name: string; image?: string }>;
  initContainers?: Array<{ name: string; image?: string; restartPolicy?: string }>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function podOf(parts: PodParts): PodFacts {
  return {
    metadata: { name: "p", labels: parts.labels ?? {}, annotations: parts.annotations ?? {} },
    spec: {
      containers: [{ name: "app" }, ...(parts.containers ?? [])],
      initContainers: parts.initContainers ?? [],
    },
  };
}

const foreignIds = (pod: PodFacts) => foreignMeshesOfPod(pod).map((mesh) => mesh.id);
const kumaNative = fixtureTemplate("kuma/inject.01.golden.yaml Pod/busybox");

describe("pods of meshes we do not drive, as their FACTS.md recognises them", () => {
  it.each([
    // kuma/FACTS.md, What the injector stamps: the marker alone (a pod whose sidecar list we cannot see).
    ["Kuma's injected annotation", { annotations: { "kuma.io/sidecar-injected": "true" } }, ["kuma"]],
    // appmesh/FACTS.md, Injected containers: envoy appended last, proxyinit after user init containers.
    [
      "App Mesh, default mode",
      {
        containers: [{ name: "envoy", image: "mirror.example/envoy:v1" }],
        initContainers: [{ name: "proxyinit" }],
      },
      ["appmesh"],
    ],
    // appmesh/FACTS.md, CNI mode has no proxyinit; Traps: the aws-appmesh-envoy image repository.
    [
      "App Mesh, CNI mode",
      {
        containers: [
          { name: "envoy", image: "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.29" },
        ],
      },
      ["appmesh"],
    ],
    // osm/FACTS.md, What the injector stamps: osm-proxy-uuid is the only marker (Windows pods have no init).
    ["OSM by its label", { containers: [{ name: "envoy" }], labels: { "osm-proxy-uuid": "0f1e" } }, ["osm"]],
    // osm/FACTS.md, Injected containers: envoy last in containers, osm-init after user init containers.
    [
      "OSM by its containers",
      { containers: [{ name: "envoy" }], initContainers: [{ name: "osm-init" }] },
      ["osm"],
    ],
  ] as const)("%s", (_name, parts, meshes) => {
    const pod = podOf(parts as PodParts);
    expect(foreignIds(pod)).toEqual(meshes);
    expect(meshesOfPod(pod)).toEqual([]);
    expect(podOnNoMesh(pod)).toBe(false);
  });

  it.each([
    // appmesh/FACTS.md and osm/FACTS.md, Traps: envoy is both their names, and Contour's and Envoy Gateway's.
    ["an envoy container alone", { containers: [{ name: "envoy", image: "envoyproxy/envoy:v1.31" }] }],
    // kuma/FACTS.md: the opt-in label and the mesh label are intent, kept on un-injected inputs.
    [
      "Kuma's opt-in labels",
      { labels: { "kuma.io/sidecar-injection": "enabled", "kuma.io/mesh": "default" } },
    ],
    ["a Kuma marker that says false", { annotations: { "kuma.io/sidecar-injected": "false" } }],
    // consul/FACTS.md, Pod opt-in: the connect-inject annotation asks; it is not an injected pod.
    ["Consul's opt-in", { annotations: { "consul.hashicorp.com/connect-inject": "true" } }],
    // appmesh/FACTS.md: the pod annotation is the opt-in, written as a marker only in CNI mode.
    [
      "App Mesh's opt-in annotation",
      { annotations: { "appmesh.k8s.aws/sidecarInjectorWebhook": "enabled" } },
    ],
    [
      "an image that only mentions a mesh",
      { containers: [{ name: "app", image: "kuma/kuma-sidecar:latest" }] },
    ],
  ] as const)("%s is no mesh's", (_name, parts) => {
    const pod = podOf(parts as PodParts);
    expect(foreignIds(pod)).toEqual([]);
    expect(podOnNoMesh(pod)).toBe(true);
  });

  it("reads pods with missing or null lists and nameless containers", () => {
    expect(foreignMeshesOfPod({})).toEqual([]);
    const nulls = { spec: { containers: null, initContainers: null } } as unknown as PodFacts;
    expect(foreignMeshesOfPod(nulls)).toEqual([]);
    expect(foreignMeshesOfPod({ spec: { containers: [{ image: "aws-appmesh-envoy" }] } })).toEqual([]);
  });
});

describe("a pod of a mesh we do not drive", () => {
  it("is on none of our meshes, and yet not unmeshed", () => {
    expect(meshesOfPod(kumaNative)).toEqual([]);
    // "none" as a side of a migration: a pod we never move or restart.
    expect(podOnMesh(kumaNative, { mesh: "none" })).toBe(true);
    expect(podOnNoMesh(kumaNative)).toBe(false);
  });

  it("is double-meshed once one of our proxies is in it too", () => {
    const withLinkerd: PodFacts = {
      ...kumaNative,
      spec: {
        ...kumaNative.spec,
        initContainers: [
          ...(kumaNative.spec?.initContainers ?? []),
          { name: "linkerd-proxy", restartPolicy: "Always" },
        ],
      },
    };
    expect(meshesOfPod(withLinkerd)).toEqual(["linkerd"]);
    expect(isDoubleMeshed(withLinkerd)).toBe(true);
    expect(isDoubleMeshed(kumaNative)).toBe(false);
  });
});

describe("the table", () => {
  it("cites, for every signal, a FACTS.md of the shared fixtures", () => {
    for (const mesh of FOREIGN_MESHES) {
      for (const signal of mesh.signals) {
        const cited = /^([a-z-]+\/FACTS\.md), ([^:]+):/.exec(signal.fact);
        expect(cited, `${mesh.id}: ${signal.fact}`).not.toBeNull();
        const [, file, sections] = cited ?? [];
        const facts = path.join(FIXTURE_DIR, file ?? "");
        expect(existsSync(facts), facts).toBe(true);
        // Every section the fact names is a heading of that file.
        const headings = readFileSync(facts, "utf8");
        for (const section of (sections ?? "").split(" and ")) expect(headings).toContain(`## ${section}`);
      }
    }
  });

  it("leaves out a mesh once the registry has a driver for it: the driver decides", () => {
    const ids = (drivers: Array<{ name: string }>) => foreignMeshesBeside(drivers).map((mesh) => mesh.id);
    // Consul has its driver (src/meshes/consul.ts): its table entry no longer counts.
    expect(ids(Object.values(MESH_DRIVERS))).toEqual(["kuma", "appmesh", "osm"]);
    expect(ids(Object.values(MESH_DRIVERS).filter((d) => d.name !== "consul"))).toEqual([
      "kuma",
      "appmesh",
      "osm",
      "consul",
    ]);
    const consulPod = podOf({ containers: [{ name: "consul-dataplane" }] });
    const consul = FOREIGN_MESHES.find((mesh) => mesh.id === "consul");
    expect(consul && recognises(consul, consulPod)).toBe(true);
  });

  it("says how to leave each mesh", () => {
    for (const mesh of FOREIGN_MESHES) expect(mesh.leave).toMatch(/restart them/);
  });
});

describe("the CEL the double-mesh guard gets", () => {
  it("renders each kind of evidence over the pod and its container names", () => {
    expect(celOfCondition({ kind: "container", name: "kuma-sidecar" })).toBe(
      "variables.proxies.exists(n, n == 'kuma-sidecar')",
    );
    expect(celOfCondition({ kind: "containerPrefix", prefix: "consul-dataplane-" })).toBe(
      "variables.proxies.exists(n, n.startsWith('consul-dataplane-'))",
    );
    expect(celOfCondition({ kind: "label", key: "osm-proxy-uuid" })).toBe(
      "(has(object.metadata.labels) && 'osm-proxy-uuid' in object.metadata.labels)",
    );
    expect(celOfCondition({ kind: "annotation", key: "kuma.io/sidecar-injected", value: "true" })).toBe(
      "(has(object.metadata.annotations) && 'kuma.io/sidecar-injected' in object.metadata.annotations && " +
        "object.metadata.annotations['kuma.io/sidecar-injected'] == 'true')",
    );
    // image is optional in the Pod schema: the expression must not read an absent one.
    expect(celOfCondition({ kind: "image", container: "envoy", contains: "aws-appmesh-envoy" })).toBe(
      "(object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []))" +
        ".exists(c, c.name == 'envoy' && has(c.image) && c.image.contains('aws-appmesh-envoy'))",
    );
  });

  it("ors the signals and ands the conditions of each", () => {
    const osm = FOREIGN_MESHES.find((mesh) => mesh.id === "osm");
    expect(osm && celOfForeignMesh(osm)).toBe(
      "((has(object.metadata.labels) && 'osm-proxy-uuid' in object.metadata.labels)) || " +
        "(variables.proxies.exists(n, n == 'envoy') && variables.proxies.exists(n, n == 'osm-init'))",
    );
  });

  it("quotes strings as CEL literals", () => {
    expect(celString("it's")).toBe("'it\\'s'");
    expect(celString("a\\b")).toBe("'a\\\\b'");
  });
});
