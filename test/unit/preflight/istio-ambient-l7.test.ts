// The ambient preflight's L7 findings: what a sidecar enforces for the workloads of a namespace
// moving into istio-ambient that ztunnel cannot, with the verdict and the fix a user reads.
import { describe, expect, it } from "vitest";
import { MigrationWarningSchema } from "../../../src/api/schema.ts";
import { hasBlockingWarnings, preflightWarnings } from "../../../src/preflight/index.ts";
import { istioAmbientL7Warnings } from "../../../src/preflight/istio-ambient-l7.ts";
import { fixtureTemplate } from "../meshes/fixtures.ts";
import {
  ambientInput,
  authorizationPolicy,
  envoyFilter,
  onlyGet,
  requestAuthentication,
  selector,
  telemetry,
  wasmPlugin,
  waypointRef,
} from "./ambient-builders.ts";
import { ISTIO_NS, LINKERD, UNMESHED_NS, workload } from "./builders.ts";

const WAYPOINT = { name: "waypoint", create: true };

describe("AuthorizationPolicy with HTTP attributes", () => {
  it("blocks an ALLOW whose every rule is HTTP: ztunnel turns it into deny-all, and says how to convert it", () => {
    const warnings = istioAmbientL7Warnings(
      ambientInput({ policies: { istioAuthorizationPolicies: [onlyGet("shop", "only-get")] } }),
    );
    expect(warnings).toEqual([
      {
        code: "IstioAmbientL7AuthorizationPolicy",
        severity: "Blocking",
        namespace: "shop",
        message: expect.stringContaining(
          "AuthorizationPolicy shop/only-get (selects deployment/web in namespace shop), action ALLOW, matches on " +
            "HTTP attributes (to.operation.methods)",
        ),
      },
    ]);
    const message = warnings[0]?.message ?? "";
    expect(message).toContain("an ALLOW policy left with no rule denies all traffic to these workloads");
    expect(message).toContain(
      "targetRefs naming the waypoint (kind: Gateway, group: gateway.networking.k8s.io)",
    );
    expect(message).toContain("Fix: give shop a waypoint first (spec.target.waypoint");
    expect(message).toContain("blockOnWarnings: false");
    expect(MigrationWarningSchema.parse(warnings[0])).toEqual(warnings[0]);
  });

  it("stays Blocking with a waypoint, which takes no selector policy, and names that waypoint in the fix", () => {
    const warnings = istioAmbientL7Warnings(
      ambientInput({
        waypoint: WAYPOINT,
        policies: { istioAuthorizationPolicies: [onlyGet("shop", "only-get")] },
      }),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.severity).toBe("Blocking");
    expect(warnings[0]?.message).toContain("A waypoint does not take selector or namespace-wide policies");
    expect(warnings[0]?.message).toContain(
      "targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}] (the waypoint of namespace shop)",
    );
  });

  it("tells apart ALLOW with some HTTP rules, DENY, CUSTOM (fails open) and AUDIT (a warning only)", () => {
    const policies = [
      authorizationPolicy("shop", "mixed", {
        rules: [
          { from: [{ source: { namespaces: ["billing"] } }] },
          { when: [{ key: "request.headers[x-user]", values: ["admin"] }] },
        ],
      }),
      authorizationPolicy("shop", "no-delete", {
        action: "DENY",
        rules: [
          { to: [{ operation: { methods: ["DELETE"] } }], from: [{ source: { requestPrincipals: ["*"] } }] },
        ],
      }),
      authorizationPolicy("shop", "ext-authz", { action: "CUSTOM", provider: { name: "opa" }, rules: [{}] }),
      authorizationPolicy("shop", "audit", {
        action: "AUDIT",
        rules: [{ to: [{ operation: { paths: ["/"] } }] }],
      }),
    ];
    const warnings = istioAmbientL7Warnings(
      ambientInput({ policies: { istioAuthorizationPolicies: policies } }),
    );
    const byName = Object.fromEntries(
      warnings.map((w) => [/AuthorizationPolicy shop\/([a-z-]+)/.exec(w.message)?.[1], w]),
    );
    expect(byName.mixed?.message).toContain("when request.headers[x-user]");
    expect(byName.mixed?.message).toContain(
      "needs HTTP (1 of 2): requests only those rules allowed are denied",
    );
    expect(byName["no-delete"]?.message).toContain("to.operation.methods, from.source.requestPrincipals");
    expect(byName["no-delete"]?.message).toContain("denies every connection its other conditions match");
    expect(byName["ext-authz"]?.message).toContain("requests it would refuse get through");
    expect(byName.audit?.message).toContain("nothing is audited");
    expect(warnings.map((w) => [w.message.slice(0, 40), w.severity])).toEqual([
      [expect.stringContaining("shop/mixed"), "Blocking"],
      [expect.stringContaining("shop/no-delete"), "Blocking"],
      [expect.stringContaining("shop/ext-authz"), "Blocking"],
      [expect.stringContaining("shop/audit"), "Warning"],
    ]);
  });

  it("leaves alone what ztunnel enforces whole: ports, principals, namespaces, source.ip and destination.port", () => {
    const l4 = authorizationPolicy("shop", "l4", {
      ...selector("web"),
      rules: [
        {
          from: [
            { source: { principals: ["cluster.local/ns/billing/sa/ledger"], ipBlocks: ["10.0.0.0/8"] } },
          ],
          to: [{ operation: { ports: ["8080"], notPorts: ["9090"] } }],
          when: [
            { key: "source.ip", values: ["10.1.0.0/16"] },
            { key: "destination.port", values: ["8080"] },
          ],
        },
      ],
    });
    expect(istioAmbientL7Warnings(ambientInput({ policies: { istioAuthorizationPolicies: [l4] } }))).toEqual(
      [],
    );
  });

  it("leaves alone policies attached by targetRefs, policies selecting nothing that moves, and other targets", () => {
    const policies = [
      onlyGet("shop", "on-waypoint", waypointRef("waypoint")),
      onlyGet("shop", "for-nobody", selector("batch")),
      onlyGet("billing", "staying"),
    ];
    expect(
      istioAmbientL7Warnings(ambientInput({ policies: { istioAuthorizationPolicies: policies } })),
    ).toEqual([]);
    const toLinkerd = ambientInput({ target: LINKERD, policies: { istioAuthorizationPolicies: policies } });
    expect(istioAmbientL7Warnings(toLinkerd)).toEqual([]);
  });

  it("reports a namespace-wide policy for every captured workload, but not the waypoint's own (real fixture)", () => {
    // The real waypoint Deployment of istiod's golden: its pods opt out of ambient capture.
    const waypoint = fixtureTemplate("istio-ambient/gatewaycommon_waypoint.yaml Deployment/namespace");
    const template = { labels: waypoint.metadata?.labels ?? {}, annotations: {} };
    expect(template.labels["istio.io/dataplane-mode"]).toBe("none");
    const workloads = [
      workload("shop", "web"),
      workload("shop", "namespace", { template }),
      workload("shop", "agent", { hostNetwork: true }),
    ];
    const policy = authorizationPolicy("shop", "get-only", {
      rules: [{ to: [{ operation: { methods: ["GET"] } }] }],
    });
    const warnings = istioAmbientL7Warnings(
      ambientInput({ workloads, policies: { istioAuthorizationPolicies: [policy] } }),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain("(every workload of namespace shop)");
    // Not captured by ztunnel: the waypoint (istio.io/dataplane-mode: none) and a host-network pod.
    const notCaptured = istioAmbientL7Warnings(
      ambientInput({
        workloads: workloads.slice(1),
        policies: { istioAuthorizationPolicies: [policy] },
      }),
    );
    expect(notCaptured).toEqual([]);
  });

  it("reports a mesh-wide policy of the root namespace once, with every moving namespace", () => {
    const warnings = istioAmbientL7Warnings(
      ambientInput({
        moving: ["shop", "cart"],
        namespaces: { shop: ISTIO_NS, cart: UNMESHED_NS, "istio-system": UNMESHED_NS },
        workloads: [workload("shop", "web"), workload("cart", "web")],
        policies: {
          istioAuthorizationPolicies: [
            authorizationPolicy("istio-system", "get-only", {
              rules: [{ to: [{ operation: { paths: ["/"] } }] }],
            }),
            onlyGet("istio-system", "web-get-only"),
          ],
        },
      }),
    );
    expect(warnings.map((w) => [w.namespace, w.message.split(", action")[0]])).toEqual([
      [
        undefined,
        "AuthorizationPolicy istio-system/get-only (mesh-wide (root namespace istio-system, no selector): every " +
          "workload of namespaces shop, cart)",
      ],
      [
        undefined,
        "AuthorizationPolicy istio-system/web-get-only (in the root namespace istio-system, selects deployment/web " +
          "in namespace shop; deployment/web in namespace cart)",
      ],
    ]);
  });
});

describe("EnvoyFilter", () => {
  it("blocks a filter that patches the moving workloads' sidecars, with or without a waypoint", () => {
    const lua = envoyFilter("shop", "lua", {
      workloadSelector: { labels: { app: "web" } },
      configPatches: [
        {
          applyTo: "HTTP_FILTER",
          match: { context: "SIDECAR_INBOUND" },
          patch: { operation: "INSERT_BEFORE" },
        },
      ],
    });
    for (const waypoint of [undefined, WAYPOINT]) {
      const warnings = istioAmbientL7Warnings(ambientInput({ waypoint, policies: { envoyFilters: [lua] } }));
      expect(warnings).toEqual([
        expect.objectContaining({ code: "IstioAmbientEnvoyFilter", severity: "Blocking", namespace: "shop" }),
      ]);
      expect(warnings[0]?.message).toContain(
        "EnvoyFilter shop/lua (selects deployment/web in namespace shop)",
      );
      expect(warnings[0]?.message).toContain("waypoints do not support it");
      expect(warnings[0]?.message).toContain("(HTTP_FILTER)");
    }
  });

  it("leaves alone filters that patch gateways only", () => {
    const gatewayOnly = envoyFilter("istio-system", "gateway-headers", {
      configPatches: [{ applyTo: "HTTP_FILTER", match: { context: "GATEWAY" } }],
    });
    const input = ambientInput({
      namespaces: { shop: ISTIO_NS, "istio-system": UNMESHED_NS },
      policies: { envoyFilters: [gatewayOnly] },
    });
    expect(istioAmbientL7Warnings(input)).toEqual([]);
  });
});

describe("RequestAuthentication, WasmPlugin and Telemetry", () => {
  it("warns that they stop applying until attached to a waypoint", () => {
    const warnings = istioAmbientL7Warnings(
      ambientInput({
        policies: {
          requestAuthentications: [
            requestAuthentication("shop", "jwt", {
              ...selector("api"),
              jwtRules: [{ issuer: "https://idp" }],
            }),
          ],
          wasmPlugins: [wasmPlugin("shop", "headers", { url: "oci://example/headers:1" })],
          telemetries: [
            telemetry("shop", "traces", { ...selector("web"), tracing: [{ randomSamplingPercentage: 5 }] }),
          ],
        },
      }),
    );
    expect(warnings.map((w) => [w.code, w.severity, w.namespace])).toEqual([
      ["IstioAmbientRequestAuthentication", "Warning", "shop"],
      ["IstioAmbientWasmPlugin", "Warning", "shop"],
      ["IstioAmbientTelemetry", "Warning", "shop"],
    ]);
    expect(warnings[0]?.message).toContain("no token is validated");
    expect(warnings[1]?.message).toContain("WasmPlugin shop/headers (every workload of namespace shop)");
    expect(warnings[2]?.message).toContain("sets tracing");
    expect(hasBlockingWarnings(warnings)).toBe(false);
  });

  it("lets a namespace-wide Telemetry be once the namespace has a waypoint, and ignores TCP-only settings", () => {
    const telemetries = [
      telemetry("shop", "logs", { accessLogging: [{ providers: [{ name: "envoy" }] }] }),
      telemetry("shop", "tcp", {
        metrics: [{ overrides: [{ match: { metric: "TCP_SENT_BYTES" }, disabled: true }] }],
      }),
    ];
    const without = istioAmbientL7Warnings(ambientInput({ policies: { telemetries } }));
    expect(without.map((w) => w.message.split(" (")[0])).toEqual(["Telemetry shop/logs"]);
    expect(without[0]?.message).toContain("shop will have no waypoint");
    expect(istioAmbientL7Warnings(ambientInput({ waypoint: WAYPOINT, policies: { telemetries } }))).toEqual(
      [],
    );
  });
});

describe("in the whole preflight", () => {
  it("puts the blocking L7 findings first, and all of them fit the status schema", () => {
    const warnings = preflightWarnings(
      ambientInput({
        policies: {
          istioAuthorizationPolicies: [onlyGet("shop", "only-get")],
          wasmPlugins: [wasmPlugin("shop", "headers", selector("web"))],
        },
      }),
    );
    expect(warnings.map((w) => w.code)).toEqual([
      "IstioAmbientL7AuthorizationPolicy",
      "IstioAmbientWasmPlugin",
    ]);
    for (const warning of warnings) expect(MigrationWarningSchema.parse(warning)).toEqual(warning);
  });
});
