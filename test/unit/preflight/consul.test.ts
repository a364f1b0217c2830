// Consul's preflight: intentions that stop matching a workload once it has left Consul, a default
// deny for workloads joining it, strict mutual TLS across the boundary, meshDestinationsOnly and
// transparent proxy turned off. Objects are shaped as consul-k8s's CRDs serve them.

import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { policyShape } from "../../../src/controller/cache-shapes.ts";
import type { MeshRef } from "../../../src/meshes/driver.ts";
import { type PolicyObjects, preflightWarnings } from "../../../src/preflight/index.ts";
import {
  codes,
  ISTIO,
  ISTIO_NS,
  LINKERD,
  preflightInput,
  type Scenario,
  UNMESHED_NS,
  workload,
} from "./builders.ts";

const CONSUL: MeshRef = { mesh: "consul" };
const INJECT = "consul.hashicorp.com/connect-inject";
const CONSUL_CODES = [
  "ConsulIntentionSourceLeaves",
  "ConsulDefaultDeny",
  "ConsulStrictMutualTLS",
  "ConsulMeshDestinationsOnly",
  "ConsulTransparentProxyDisabled",
];

function consulEntry(kind: string, namespace: string, name: string, spec: unknown) {
  return { apiVersion: "consul.hashicorp.com/v1alpha1", kind, metadata: { namespace, name }, spec };
}

function intentions(namespace: string, destination: string, sources: Array<Record<string, unknown>>) {
  return consulEntry("ServiceIntentions", namespace, destination === "*" ? "default-deny" : destination, {
    destination: { name: destination },
    sources,
  });
}

function service(namespace: string, name: string) {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace, name } };
}

/** A Deployment on Consul (its template opts in), registered as a Service of its name. */
function onConsul(namespace: string, name: string, annotations: Record<string, string> = {}) {
  return workload(namespace, name, {
    template: { labels: { app: name }, annotations: { [INJECT]: "true", ...annotations } },
  });
}

function consulWarnings(scenario: Scenario) {
  return preflightWarnings(preflightInput(scenario)).filter((w) => CONSUL_CODES.includes(w.code));
}

/** shop (web) leaves Consul for `target`; billing (ledger) stays; tools is on no mesh. */
function leaving(
  target: MeshRef,
  policies: Scenario["policies"] = {},
  overrides: Partial<Scenario> = {},
): Scenario {
  return {
    source: CONSUL,
    target,
    moving: ["shop"],
    namespaces: { shop: UNMESHED_NS, billing: UNMESHED_NS, tools: UNMESHED_NS },
    workloads: [onConsul("shop", "web"), onConsul("billing", "ledger"), workload("tools", "cron")],
    policies: { services: [service("shop", "web"), service("billing", "ledger")], ...policies },
    ...overrides,
  };
}

/** shop (web) joins Consul from Istio; billing (ledger) is on Consul already. */
function entering(policies: Scenario["policies"] = {}, overrides: Partial<Scenario> = {}): Scenario {
  return {
    source: ISTIO,
    target: CONSUL,
    moving: ["shop"],
    namespaces: { shop: ISTIO_NS, billing: UNMESHED_NS },
    workloads: [workload("shop", "web"), onConsul("billing", "ledger")],
    policies: { services: [service("shop", "web"), service("billing", "ledger")], ...policies },
    ...overrides,
  };
}

const LEDGER_ALLOWS_WEB = intentions("billing", "ledger", [{ name: "web", action: "allow" }]);
const PERMISSIVE_GLOBAL = consulEntry("ProxyDefaults", "consul", "global", { mutualTLSMode: "permissive" });
const DENY_ALL = intentions("consul", "*", [{ name: "*", action: "deny" }]);

describe("leaving Consul", () => {
  it("names the intention that stops matching a moving caller, and the namespaces that refuse it", () => {
    const warnings = consulWarnings(leaving(ISTIO, { serviceIntentions: [LEDGER_ALLOWS_WEB] }));
    expect(warnings.map((w) => [w.code, w.namespace])).toEqual([
      ["ConsulIntentionSourceLeaves", "shop"],
      ["ConsulStrictMutualTLS", "billing"],
      ["ConsulStrictMutualTLS", "shop"],
    ]);
    const [intention, staying] = warnings;
    expect(intention?.message).toContain(
      "ServiceIntentions billing/ledger allows service web (namespace shop, batch wave-1) to call service ledger",
    );
    expect(intention?.message).toContain("mutualTLSMode: permissive on ServiceDefaults ledger");
    expect(staying?.message).toContain("Namespace billing stays in Consul");
    expect(staying?.message).toContain("services ledger");
    expect(staying?.message).toContain("workloads that have left Consul are refused");
  });

  it("is quiet about a callee that moves in the same batch, or one that accepts plaintext", () => {
    const together = leaving(
      LINKERD,
      { serviceIntentions: [LEDGER_ALLOWS_WEB] },
      { moving: ["shop", "billing"] },
    );
    expect(codes(consulWarnings(together))).not.toContain("ConsulIntentionSourceLeaves");
    const permissive = leaving(LINKERD, {
      serviceIntentions: [LEDGER_ALLOWS_WEB],
      consulProxyDefaults: [PERMISSIVE_GLOBAL],
    });
    expect(consulWarnings(permissive)).toEqual([]);
    const perService = leaving(LINKERD, {
      serviceIntentions: [LEDGER_ALLOWS_WEB],
      consulServiceDefaults: [
        consulEntry("ServiceDefaults", "billing", "ledger", { mutualTLSMode: "permissive" }),
      ],
    });
    expect(codes(consulWarnings(perService))).toEqual(["ConsulStrictMutualTLS"]);
  });

  it("leaves out sources in another peer, partition or sameness group, and deny intentions", () => {
    const remote = intentions("billing", "ledger", [
      { name: "web", action: "allow", peer: "east" },
      { name: "web", action: "allow", samenessGroup: "all" },
      { name: "web", action: "deny" },
    ]);
    expect(codes(consulWarnings(leaving(ISTIO, { serviceIntentions: [remote] })))).not.toContain(
      "ConsulIntentionSourceLeaves",
    );
  });

  it("counts an L7 intention (permissions, no action) as an allow, and * as every callee", () => {
    const l7 = intentions("billing", "*", [
      { name: "web", permissions: [{ action: "allow", http: { pathPrefix: "/" } }] },
    ]);
    const [warning] = consulWarnings(leaving(ISTIO, { serviceIntentions: [l7] }));
    expect(warning?.code).toBe("ConsulIntentionSourceLeaves");
    expect(warning?.message).toContain("to call every Consul service");
  });

  it("warns that meshDestinationsOnly drops the moved services out of reach", () => {
    const mesh = consulEntry("Mesh", "consul", "mesh", { transparentProxy: { meshDestinationsOnly: true } });
    const [warning] = consulWarnings(
      leaving(ISTIO, { consulMeshes: [mesh], consulProxyDefaults: [PERMISSIVE_GLOBAL] }),
    );
    expect(warning?.code).toBe("ConsulMeshDestinationsOnly");
    expect(warning?.message).toContain("the services of shop leave Consul's catalog");
  });
});

describe("joining Consul", () => {
  it("warns that callers outside Consul are refused by strict mutual TLS, unless it is permissive", () => {
    const [warning] = consulWarnings(entering());
    expect(warning).toMatchObject({ code: "ConsulStrictMutualTLS", namespace: "shop" });
    expect(warning?.message).toContain("moves into Consul in batch wave-1");
    expect(warning?.message).toContain("callers outside Consul are refused");
    expect(consulWarnings(entering({ consulProxyDefaults: [PERMISSIVE_GLOBAL] }))).toEqual([]);
  });

  it("under a default deny, names the services no intention lets call or be called", () => {
    const quiet = { consulProxyDefaults: [PERMISSIVE_GLOBAL] };
    const [warning] = consulWarnings(entering({ ...quiet, serviceIntentions: [DENY_ALL] }));
    expect(warning).toMatchObject({ code: "ConsulDefaultDeny", namespace: "shop" });
    expect(warning?.message).toContain("ServiceIntentions consul/default-deny: * → * deny");
    expect(warning?.message).toContain("no intention allows web to call anything");
    expect(warning?.message).toContain("no intention allows anything to call web");
    const allowed = [
      DENY_ALL,
      intentions("billing", "ledger", [{ name: "web", action: "allow" }]),
      intentions("shop", "web", [{ name: "ledger", action: "allow" }]),
    ];
    expect(consulWarnings(entering({ ...quiet, serviceIntentions: allowed }))).toEqual([]);
  });

  it("names the workloads that join with transparent proxy off, by annotation or namespace label", () => {
    const quiet = { consulProxyDefaults: [PERMISSIVE_GLOBAL] };
    const annotated = entering(quiet, {
      workloads: [
        workload("shop", "web", {
          template: { labels: {}, annotations: { "consul.hashicorp.com/transparent-proxy": "false" } },
        }),
        workload("shop", "api"),
      ],
    });
    const [warning] = consulWarnings(annotated);
    expect(warning).toMatchObject({ code: "ConsulTransparentProxyDisabled", namespace: "shop" });
    expect(warning?.message).toMatch(/^Deployment web in namespace shop join Consul/);
    const labelled = entering(quiet, {
      namespaces: {
        shop: { labels: { "consul.hashicorp.com/transparent-proxy": "false" }, annotations: {} },
      },
    });
    expect(codes(consulWarnings(labelled))).toEqual(["ConsulTransparentProxyDisabled"]);
  });
});

it("says nothing about Consul for a migration that does not cross it", () => {
  const policies = { serviceIntentions: [DENY_ALL, LEDGER_ALLOWS_WEB] };
  expect(consulWarnings(leaving(ISTIO, policies, { source: ISTIO, target: LINKERD }))).toEqual([]);
});

it("finds the same from the operator's cached shapes of Consul's objects as from whole ones", () => {
  const policies: PolicyObjects = {
    serviceIntentions: [
      LEDGER_ALLOWS_WEB,
      intentions("billing", "*", [
        { name: "web", permissions: [{ action: "allow", http: { pathPrefix: "/x" } }] },
      ]),
      intentions("billing", "audit", [
        { name: "web", action: "allow", peer: "east", description: "d".repeat(500) },
      ]),
    ],
    consulServiceDefaults: [
      consulEntry("ServiceDefaults", "billing", "audit", { mutualTLSMode: "permissive", protocol: "http" }),
    ],
    consulMeshes: [
      consulEntry("Mesh", "consul", "mesh", { transparentProxy: { meshDestinationsOnly: true } }),
    ],
  };
  const shaped = Object.fromEntries(
    Object.entries(policies).map(([field, objects]) => [
      field,
      (objects as KubernetesObject[]).map(policyShape(field as keyof PolicyObjects)),
    ]),
  );
  const whole = consulWarnings(leaving(ISTIO, policies));
  expect(codes(whole)).toEqual(
    expect.arrayContaining([
      "ConsulIntentionSourceLeaves",
      "ConsulMeshDestinationsOnly",
      "ConsulStrictMutualTLS",
    ]),
  );
  expect(consulWarnings(leaving(ISTIO, { ...shaped, services: leaving(ISTIO).policies?.services }))).toEqual(
    whole,
  );
  expect(JSON.stringify(shaped)).not.toContain("ddddd");
});
