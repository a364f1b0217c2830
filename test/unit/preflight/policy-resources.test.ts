// The one list of policy resources: every reader lists them (their paths), the e2e suites install
// a stand-in CRD for each (so the operator's list and watch of each are exercised), and the cache
// keeps of each object what the preflight reads: the same findings from whole and cached objects.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { policyShape } from "../../../src/controller/cache-shapes.ts";
import {
  POLICY_RESOURCES,
  type PolicyObjects,
  policyResourceName,
  policyResourcePath,
  preflightWarnings,
} from "../../../src/preflight/index.ts";
import {
  ambientInput,
  authorizationPolicy,
  destinationRule,
  envoyFilter,
  gateway,
  onlyGet,
  requestAuthentication,
  selector,
  service,
  serviceRef,
  telemetry,
  virtualService,
  wasmPlugin,
  waypointRef,
} from "./ambient-builders.ts";
import { ISTIO_NS, LINKERD } from "./builders.ts";

const STAND_INS = fileURLToPath(new URL("../../fixtures/policy-crds/", import.meta.url));

interface Crd {
  spec: { group: string; names: { plural: string }; versions: Array<{ name: string; served: boolean }> };
}

describe("POLICY_RESOURCES", () => {
  it("are listed and watched at their API paths, the core group's under /api", () => {
    const services = POLICY_RESOURCES.find((r) => r.field === "services");
    const gateways = POLICY_RESOURCES.find((r) => r.field === "gateways");
    expect(services && policyResourcePath(services)).toBe("/api/v1/services");
    expect(services && policyResourceName(services)).toBe("services");
    expect(gateways && policyResourcePath(gateways)).toBe("/apis/gateway.networking.k8s.io/v1/gateways");
    expect(gateways && policyResourceName(gateways)).toBe("gateways.gateway.networking.k8s.io");
  });

  it("each have a stand-in CRD of the same group, version and plural for the end-to-end suites", () => {
    const crds = readdirSync(STAND_INS)
      .filter((file) => file.endsWith(".yaml"))
      .map((file) => parse(readFileSync(`${STAND_INS}${file}`, "utf8")) as Crd);
    // The Gateway API's own CRDs are installed by the local cluster (scripts/meshes/fetch-gateway-api.sh),
    // Consul's by its injector from the vendored consul-k8s source (test/emulators/consul-injector.ts).
    const realCrds = new Set(["", "gateway.networking.k8s.io", "consul.hashicorp.com"]);
    for (const resource of POLICY_RESOURCES.filter((r) => !realCrds.has(r.group))) {
      const crd = crds.find(
        (c) => c.spec.group === resource.group && c.spec.names.plural === resource.plural,
      );
      expect(crd, policyResourceName(resource)).toBeDefined();
      expect(crd?.spec.versions.find((v) => v.name === resource.version)?.served).toBe(true);
    }
  });
});

describe("an unreadable policy resource", () => {
  it("blocks only the migrations whose preflight reads it", () => {
    const unreadablePolicies = [
      { resource: "envoyfilters.networking.istio.io", reason: "list: 403 Forbidden" },
      { resource: "services", reason: "list: 403 Forbidden" },
    ];
    const toAmbient = preflightWarnings({ ...ambientInput(), unreadablePolicies });
    expect(toAmbient.map((w) => [w.code, w.severity])).toEqual([
      ["PolicyUnreadable", "Blocking"],
      ["PolicyUnreadable", "Blocking"],
    ]);
    expect(toAmbient[0]?.message).toContain("The envoyfilters.networking.istio.io cannot be read");
    const toLinkerd = preflightWarnings({ ...ambientInput({ target: LINKERD }), unreadablePolicies });
    expect(toLinkerd.filter((w) => w.code === "PolicyUnreadable")).toEqual([]);
  });
});

/** One object or more of every resource, each with a payload the preflight does not read. */
const WHOLE: PolicyObjects = {
  istioAuthorizationPolicies: [
    onlyGet("shop", "only-get"),
    onlyGet("shop", "on-service", serviceRef("web")),
    authorizationPolicy("shop", "ext", { action: "CUSTOM", provider: { name: "opa" } }),
  ],
  requestAuthentications: [
    requestAuthentication("shop", "jwt", {
      ...selector("api"),
      jwtRules: [{ issuer: "idp", jwks: "k".repeat(2000) }],
    }),
    requestAuthentication("shop", "on-waypoint", {
      ...waypointRef("missing"),
      jwtRules: [{ issuer: "idp" }],
    }),
  ],
  wasmPlugins: [
    wasmPlugin("shop", "headers", { ...selector("web"), pluginConfig: { blob: "w".repeat(2000) } }),
  ],
  telemetries: [
    telemetry("shop", "traces", { tracing: [{ randomSamplingPercentage: 5 }] }),
    telemetry("shop", "on-waypoint", { ...waypointRef("missing"), accessLogging: [{}] }),
  ],
  envoyFilters: [
    envoyFilter("shop", "lua", {
      workloadSelector: { labels: { app: "web" } },
      configPatches: [
        { applyTo: "HTTP_FILTER", match: { context: "SIDECAR_INBOUND" }, patch: { value: "l".repeat(2000) } },
        { applyTo: "LISTENER", match: { context: "GATEWAY" }, patch: { value: "g" } },
      ],
    }),
  ],
  virtualServices: [
    virtualService("billing", "web", {
      hosts: ["web.shop.svc.cluster.local"],
      http: [{ name: "retry", retries: { attempts: 3 }, route: [{ destination: { host: "web" } }] }, {}],
    }),
  ],
  destinationRules: [
    destinationRule("shop", "web", {
      host: "web",
      trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } },
      subsets: [{ name: "v1", labels: { version: "v1" } }],
    }),
  ],
  gateways: [gateway("shop", "idle")],
  services: [service("shop", "web"), service("shop", "api", { "istio.io/use-waypoint": "idle" })],
};

function shaped(policies: PolicyObjects): PolicyObjects {
  return Object.fromEntries(
    Object.entries(policies).map(([field, objects]) => [
      field,
      (objects as KubernetesObject[]).map(policyShape(field as keyof PolicyObjects)),
    ]),
  );
}

describe("the policies' cache shapes", () => {
  it("give the preflight the same findings as the whole objects, with the payloads left out", () => {
    const input = ambientInput({ namespaces: { shop: ISTIO_NS, billing: ISTIO_NS }, policies: WHOLE });
    const whole = preflightWarnings(input);
    expect(whole.length).toBeGreaterThanOrEqual(9);
    expect(preflightWarnings({ ...input, policies: shaped(WHOLE) })).toEqual(whole);
    expect(preflightWarnings({ ...input, policies: shaped(shaped(WHOLE)) })).toEqual(whole);
    const text = JSON.stringify(shaped(WHOLE));
    for (const payload of ["kkkk", "wwww", "llll", "retries", "managedFields"])
      expect(text).not.toContain(payload);
  });
});
