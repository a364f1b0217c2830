// InjectorFailurePolicyIgnore, HostNetworkWorkload and NoServiceAccountToken.
import { describe, expect, it } from "vitest";
import { injectorFailurePolicyWarnings } from "../../../src/preflight/injector-failure-policy.ts";
import { uninjectableWorkloadWarnings } from "../../../src/preflight/uninjectable-workloads.ts";
import {
  AMBIENT,
  codes,
  ISTIO,
  ISTIO_NS,
  LINKERD,
  NONE,
  preflightInput,
  type Scenario,
  UNMESHED_NS,
  webhookConfiguration,
  workload,
} from "./builders.ts";

describe("InjectorFailurePolicyIgnore", () => {
  const linkerdWebhook = (policy: string) =>
    webhookConfiguration("linkerd-proxy-injector-webhook-config", policy);
  const scenario = (overrides: Partial<Scenario>): Scenario => ({
    source: ISTIO,
    target: LINKERD,
    moving: ["shop"],
    namespaces: { shop: ISTIO_NS },
    ...overrides,
  });

  it("warns when the target's injector webhook has failurePolicy Ignore, naming it", () => {
    const warnings = injectorFailurePolicyWarnings(
      preflightInput(scenario({ webhooks: [linkerdWebhook("Ignore")] })),
    );
    expect(warnings).toEqual([
      expect.objectContaining({ code: "InjectorFailurePolicyIgnore", severity: "Warning" }),
    ]);
    expect(warnings[0]?.message).toContain("linkerd-proxy-injector-webhook-config");
    expect(warnings[0]?.message).toContain("VerificationFailed");
  });

  it("reads the target's own webhook names (an Istio revision's injector)", () => {
    const warnings = injectorFailurePolicyWarnings(
      preflightInput(
        scenario({
          source: LINKERD,
          target: { mesh: "istio", revision: "1-24" },
          webhooks: [webhookConfiguration("istio-sidecar-injector-1-24", "Ignore"), linkerdWebhook("Ignore")],
        }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain("istio-sidecar-injector-1-24");
  });

  it("says nothing for Fail, for other webhooks, or for targets without an injector", () => {
    expect(
      injectorFailurePolicyWarnings(preflightInput(scenario({ webhooks: [linkerdWebhook("Fail")] }))),
    ).toEqual([]);
    expect(
      injectorFailurePolicyWarnings(
        preflightInput(scenario({ webhooks: [webhookConfiguration("some-other-webhook", "Ignore")] })),
      ),
    ).toEqual([]);
    expect(
      injectorFailurePolicyWarnings(
        preflightInput(scenario({ target: AMBIENT, webhooks: [linkerdWebhook("Ignore")] })),
      ),
    ).toEqual([]);
  });
});

describe("HostNetworkWorkload and NoServiceAccountToken", () => {
  const workloads = [
    workload("shop", "node-agent", { kind: "DaemonSet", hostNetwork: true }),
    workload("shop", "tokenless", { automountServiceAccountToken: false }),
    workload("shop", "web", { automountServiceAccountToken: true }),
    workload("billing", "host", { hostNetwork: true }),
    workload("billing", "tokenless", { automountServiceAccountToken: false }),
  ];
  const scenario = (target: Scenario["target"]): Scenario => ({
    source: target.mesh === "istio" ? NONE : ISTIO,
    target,
    moving: ["shop"],
    namespaces: { shop: ISTIO_NS, billing: UNMESHED_NS },
    workloads,
  });

  it("warns about both in namespaces moving to Linkerd, naming the workloads", () => {
    const warnings = uninjectableWorkloadWarnings(preflightInput(scenario(LINKERD)));
    expect(codes(warnings).sort()).toEqual(["HostNetworkWorkload", "NoServiceAccountToken"]);
    expect(warnings.every((w) => w.namespace === "shop" && w.severity === "Warning")).toBe(true);
    expect(warnings.find((w) => w.code === "HostNetworkWorkload")?.message).toContain("daemonset/node-agent");
    expect(warnings.find((w) => w.code === "NoServiceAccountToken")?.message).toContain(
      "deployment/tokenless",
    );
    expect(warnings.map((w) => w.message).join(" ")).not.toContain("deployment/web");
  });

  it("warns about hostNetwork only for Istio and ambient targets, and about nothing for no mesh", () => {
    expect(codes(uninjectableWorkloadWarnings(preflightInput(scenario(ISTIO))))).toEqual([
      "HostNetworkWorkload",
    ]);
    expect(codes(uninjectableWorkloadWarnings(preflightInput(scenario(AMBIENT))))).toEqual([
      "HostNetworkWorkload",
    ]);
    expect(uninjectableWorkloadWarnings(preflightInput(scenario(NONE)))).toEqual([]);
  });

  it("leaves out workloads that opt out of the target on purpose", () => {
    const optedOut = workload("shop", "tokenless", {
      automountServiceAccountToken: false,
      template: { labels: {}, annotations: { "linkerd.io/inject": "disabled" } },
    });
    const warnings = uninjectableWorkloadWarnings(
      preflightInput({ ...scenario(LINKERD), workloads: [optedOut] }),
    );
    expect(warnings).toEqual([]);
  });
});
