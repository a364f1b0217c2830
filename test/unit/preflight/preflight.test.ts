// The preflight as a whole, the identity mapping, and reading workloads from API objects.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { MigrationWarningSchema } from "../../../src/api/schema.ts";
import {
  identityMapping,
  istioStringMatches,
  linkerdIdentity,
  parseIstioPrincipal,
} from "../../../src/preflight/identity.ts";
import {
  hasBlockingWarnings,
  linkerdDefaultInboundPolicyOf,
  preflightWarnings,
  preflightWorkloadOf,
} from "../../../src/preflight/index.ts";
import {
  codes,
  ISTIO,
  ISTIO_NS,
  LINKERD,
  peerAuthentication,
  preflightInput,
  UNMESHED_NS,
  webhookConfiguration,
  workload,
} from "./builders.ts";

describe("preflightWarnings", () => {
  it("returns nothing for a migration with nothing in its way", () => {
    const warnings = preflightWarnings(
      preflightInput({
        source: ISTIO,
        target: LINKERD,
        moving: ["shop"],
        namespaces: { shop: ISTIO_NS, tools: UNMESHED_NS },
        workloads: [workload("shop", "web")],
        webhooks: [webhookConfiguration("linkerd-proxy-injector-webhook-config", "Fail")],
      }),
    );
    expect(warnings).toEqual([]);
    expect(hasBlockingWarnings(warnings)).toBe(false);
  });

  it("puts blocking warnings first and every warning fits the status schema", () => {
    const warnings = preflightWarnings(
      preflightInput({
        source: ISTIO,
        target: LINKERD,
        moving: ["shop"],
        namespaces: { shop: ISTIO_NS, billing: ISTIO_NS },
        workloads: [workload("shop", "agent", { hostNetwork: true })],
        policies: {
          peerAuthentications: [peerAuthentication("billing", "strict", { mtls: { mode: "STRICT" } })],
        },
        webhooks: [webhookConfiguration("linkerd-proxy-injector-webhook-config", "Ignore")],
      }),
    );
    expect(codes(warnings)).toEqual([
      "IstioStrictMTLS",
      "HostNetworkWorkload",
      "InjectorFailurePolicyIgnore",
    ]);
    expect(hasBlockingWarnings(warnings)).toBe(true);
    for (const warning of warnings) expect(MigrationWarningSchema.parse(warning)).toEqual(warning);
  });
});

describe("identities", () => {
  it("maps an Istio principal to the Linkerd identity of the same service account", () => {
    const identity = parseIstioPrincipal("cluster.local/ns/shop/sa/web");
    expect(identity).toEqual({ trustDomain: "cluster.local", namespace: "shop", serviceAccount: "web" });
    expect(parseIstioPrincipal("spiffe://cluster.local/ns/shop/sa/web")).toEqual(identity);
    expect(linkerdIdentity(identity!)).toBe("web.shop.serviceaccount.identity.linkerd.cluster.local");
    expect(identityMapping(identity!)).toBe(
      "spiffe://cluster.local/ns/shop/sa/web ↔ web.shop.serviceaccount.identity.linkerd.cluster.local",
    );
  });

  it("does not read wildcards or other strings as a principal", () => {
    expect(parseIstioPrincipal("*")).toBeUndefined();
    expect(parseIstioPrincipal("cluster.local/ns/*/sa/web")).toBeUndefined();
    expect(parseIstioPrincipal("web.shop.serviceaccount.identity.linkerd.cluster.local")).toBeUndefined();
  });

  it("matches like Istio: exact, any, prefix and suffix", () => {
    expect(istioStringMatches("shop", "shop")).toBe(true);
    expect(istioStringMatches("*", "shop")).toBe(true);
    expect(istioStringMatches("*", "")).toBe(false);
    expect(istioStringMatches("cluster.local/ns/shop/*", "cluster.local/ns/shop/sa/web")).toBe(true);
    expect(istioStringMatches("*/sa/web", "cluster.local/ns/shop/sa/web")).toBe(true);
    expect(istioStringMatches("shop", "shop-2")).toBe(false);
  });
});

describe("preflightWorkloadOf", () => {
  it("reads the pod template's markers and the spec facts injectors decide on", () => {
    const deployment: V1Deployment = {
      metadata: { name: "web", namespace: "shop", annotations: { ignored: "workload metadata" } },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" }, annotations: { "linkerd.io/inject": "enabled" } },
          spec: {
            containers: [{ name: "app" }],
            hostNetwork: true,
            automountServiceAccountToken: false,
            serviceAccountName: "web",
          },
        },
      },
    };
    expect(preflightWorkloadOf("Deployment", deployment)).toEqual({
      kind: "Deployment",
      namespace: "shop",
      name: "web",
      template: { labels: { app: "web" }, annotations: { "linkerd.io/inject": "enabled" } },
      hostNetwork: true,
      automountServiceAccountToken: false,
      serviceAccountName: "web",
    });
  });

  it("leaves unset facts unset", () => {
    const workload = preflightWorkloadOf("DaemonSet", { metadata: { name: "agent", namespace: "ops" } });
    expect(workload).toMatchObject({ hostNetwork: false, template: { labels: {}, annotations: {} } });
    expect(workload.automountServiceAccountToken).toBeUndefined();
    expect(workload.serviceAccountName).toBeUndefined();
  });
});

describe("unreadable policies", () => {
  it("are a blocking warning, never 'no policies'", () => {
    const warnings = preflightWarnings({
      ...preflightInput({ source: ISTIO, target: LINKERD, namespaces: {} }),
      unreadablePolicies: [
        { resource: "peerauthentications.security.istio.io", reason: "list /apis/...: 403 Forbidden" },
      ],
    });
    expect(warnings).toEqual([expect.objectContaining({ code: "PolicyUnreadable", severity: "Blocking" })]);
    expect(warnings[0]?.message).toContain("peerauthentications.security.istio.io");
    expect(warnings[0]?.message).toContain("blockOnWarnings: false");
  });
});

describe("linkerdDefaultInboundPolicyOf", () => {
  // Shaped like the chart's linkerd-destination Deployment (charts/linkerd-control-plane/templates/destination.yaml).
  const destination = (args: string[]) => ({
    spec: {
      template: {
        spec: {
          containers: [
            { name: "destination", args: ["-default-opaque-ports=25"] },
            { name: "policy", args: ["--control-plane-namespace=linkerd", ...args, "--log-format=plain"] },
          ],
        },
      },
    },
  });

  it("reads --default-policy from the policy controller of linkerd-destination", () => {
    expect(linkerdDefaultInboundPolicyOf(destination(["--default-policy=all-authenticated"]))).toBe(
      "all-authenticated",
    );
    expect(linkerdDefaultInboundPolicyOf(destination(["--default-policy", "deny"]))).toBe("deny");
  });

  it("says nothing when the Deployment, the container or the flag is missing", () => {
    expect(linkerdDefaultInboundPolicyOf(undefined)).toBeUndefined();
    expect(linkerdDefaultInboundPolicyOf({ spec: {} })).toBeUndefined();
    expect(linkerdDefaultInboundPolicyOf(destination([]))).toBeUndefined();
    expect(linkerdDefaultInboundPolicyOf(destination(["--default-policy="]))).toBeUndefined();
  });
});
