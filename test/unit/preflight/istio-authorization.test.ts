// IstioAuthorizationPolicyPrincipals: identity-based rules that callers leaving Istio never match again.
import { describe, expect, it } from "vitest";
import { istioAuthorizationWarnings } from "../../../src/preflight/istio-authorization.ts";
import {
  AMBIENT,
  ISTIO,
  ISTIO_NS,
  istioAuthorizationPolicy,
  LINKERD,
  LINKERD_NS,
  NONE,
  preflightInput,
  type Scenario,
  UNMESHED_NS,
  workload,
} from "./builders.ts";

function allowFrom(namespace: string, name: string, source: Record<string, string[]>, action?: string) {
  return istioAuthorizationPolicy(namespace, name, {
    ...(action ? { action } : {}),
    selector: { matchLabels: { app: "ledger" } },
    rules: [{ from: [{ source }], to: [{ operation: { methods: ["GET"] } }] }],
  });
}

function scenario(policies: unknown[], overrides: Partial<Scenario> = {}): Scenario {
  return {
    source: ISTIO,
    target: LINKERD,
    moving: ["shop"],
    namespaces: { shop: ISTIO_NS, billing: ISTIO_NS, tools: UNMESHED_NS, "istio-system": UNMESHED_NS },
    workloads: [
      workload("shop", "web", { serviceAccountName: "web" }),
      workload("shop", "cart"),
      workload("billing", "ledger"),
    ],
    policies: { istioAuthorizationPolicies: policies },
    ...overrides,
  };
}

describe("IstioAuthorizationPolicyPrincipals", () => {
  it("warns when an ALLOW rule names the principal of a workload leaving Istio, with its Linkerd identity", () => {
    const warnings = istioAuthorizationWarnings(
      preflightInput(
        scenario([allowFrom("billing", "ledger-readers", { principals: ["cluster.local/ns/shop/sa/web"] })]),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      code: "IstioAuthorizationPolicyPrincipals",
      severity: "Warning",
      namespace: "billing",
    });
    const message = warnings[0]?.message ?? "";
    expect(message).toContain("AuthorizationPolicy billing/ledger-readers");
    expect(message).toContain("cluster.local/ns/shop/sa/web");
    expect(message).toContain(
      "spiffe://cluster.local/ns/shop/sa/web ↔ web.shop.serviceaccount.identity.linkerd.cluster.local",
    );
    expect(message).toContain("denied");
  });

  it("warns on source namespaces and maps the service accounts the moving workloads run as", () => {
    const warnings = istioAuthorizationWarnings(
      preflightInput(scenario([allowFrom("billing", "from-shop", { namespaces: ["shop"] })])),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain("namespaces shop");
    expect(warnings[0]?.message).toContain("web.shop.serviceaccount.identity.linkerd.cluster.local");
    expect(warnings[0]?.message).toContain("default.shop.serviceaccount.identity.linkerd.cluster.local");
  });

  it("treats wildcard principals as matching the moving workloads", () => {
    const warnings = istioAuthorizationWarnings(
      preflightInput(scenario([allowFrom("billing", "any-authenticated", { principals: ["*"] })])),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain("principals *");
  });

  it("warns that a DENY rule stops keeping the callers out", () => {
    const warnings = istioAuthorizationWarnings(
      preflightInput(scenario([allowFrom("billing", "deny-shop", { namespaces: ["shop"] }, "DENY")])),
    );
    expect(warnings[0]?.message).toContain("DENY");
    expect(warnings[0]?.message).toContain("stops keeping them out");
  });

  it("covers mesh-wide policies in the root namespace", () => {
    const warnings = istioAuthorizationWarnings(
      preflightInput(
        scenario([
          allowFrom("istio-system", "mesh-readers", { principals: ["cluster.local/ns/shop/sa/web"] }),
        ]),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.namespace).toBeUndefined();
    expect(warnings[0]?.message).toContain("mesh-wide");
  });

  it("gives no Linkerd identity when the callers leave for no mesh", () => {
    const warnings = istioAuthorizationWarnings(
      preflightInput(
        scenario([allowFrom("billing", "from-shop", { namespaces: ["shop"] })], { target: NONE }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).not.toContain("linkerd.cluster.local");
  });

  it("says nothing about callers that stay, policies outside Istio, CUSTOM actions or Istio-to-Istio moves", () => {
    const stayingCaller = allowFrom("billing", "from-billing", {
      principals: ["cluster.local/ns/billing/sa/default"],
    });
    const outsideIstio = allowFrom("tools", "from-shop", { namespaces: ["shop"] });
    const custom = allowFrom("billing", "ext-authz", { namespaces: ["shop"] }, "CUSTOM");
    const all = [stayingCaller, outsideIstio, custom];
    expect(istioAuthorizationWarnings(preflightInput(scenario(all)))).toEqual([]);
    const toAmbient = allowFrom("billing", "from-shop", { namespaces: ["shop"] });
    expect(istioAuthorizationWarnings(preflightInput(scenario([toAmbient], { target: AMBIENT })))).toEqual(
      [],
    );
  });

  it("says nothing when namespaces move into Istio (callers are not leaving it)", () => {
    const policy = allowFrom("billing", "from-shop", { namespaces: ["shop"] });
    const warnings = istioAuthorizationWarnings(
      preflightInput(
        scenario([policy], {
          source: LINKERD,
          target: ISTIO,
          namespaces: { shop: LINKERD_NS, billing: ISTIO_NS },
        }),
      ),
    );
    expect(warnings).toEqual([]);
  });
});
