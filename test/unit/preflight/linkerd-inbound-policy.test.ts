// LinkerdDefaultInboundPolicy: default-inbound-policy values that refuse plaintext on the Linkerd side.
import { describe, expect, it } from "vitest";
import { linkerdInboundPolicyWarnings } from "../../../src/preflight/linkerd-inbound-policy.ts";
import {
  AMBIENT,
  ISTIO,
  ISTIO_NS,
  LINKERD,
  LINKERD_NS,
  preflightInput,
  type Scenario,
  UNMESHED_NS,
  workload,
} from "./builders.ts";

const POLICY = "config.linkerd.io/default-inbound-policy";

function linkerdWith(policy: string) {
  return { labels: {}, annotations: { "linkerd.io/inject": "enabled", [POLICY]: policy } };
}

function leavingLinkerd(overrides: Partial<Scenario> = {}): Scenario {
  return {
    source: LINKERD,
    target: ISTIO,
    moving: ["shop"],
    namespaces: { shop: LINKERD_NS, billing: LINKERD_NS, tools: UNMESHED_NS },
    ...overrides,
  };
}

describe("LinkerdDefaultInboundPolicy when namespaces leave Linkerd", () => {
  it("blocks on deny in a namespace that stays in Linkerd", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(leavingLinkerd({ namespaces: { shop: LINKERD_NS, billing: linkerdWith("deny") } })),
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        code: "LinkerdDefaultInboundPolicy",
        severity: "Blocking",
        namespace: "billing",
      }),
    ]);
    const message = warnings[0]?.message ?? "";
    expect(message).toContain(`${POLICY}: deny`);
    expect(message).toContain("billing (stays in Linkerd)");
    expect(message).toContain("all-unauthenticated");
    expect(message).toContain("restart the workloads");
  });

  it("warns (without blocking) on all-authenticated and cluster-authenticated", () => {
    for (const policy of ["all-authenticated", "cluster-authenticated"]) {
      const warnings = linkerdInboundPolicyWarnings(
        preflightInput(leavingLinkerd({ namespaces: { shop: LINKERD_NS, billing: linkerdWith(policy) } })),
      );
      expect(warnings).toEqual([expect.objectContaining({ severity: "Warning", namespace: "billing" })]);
    }
  });

  it("covers the moving namespace itself until it has left", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(
        leavingLinkerd({ namespaces: { shop: linkerdWith("all-authenticated"), billing: LINKERD_NS } }),
      ),
    );
    expect(warnings[0]?.namespace).toBe("shop");
    expect(warnings[0]?.message).toContain("leaves Linkerd in batch wave-1");
  });

  it("says nothing for unauthenticated policies or namespaces outside Linkerd", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(
        leavingLinkerd({
          namespaces: {
            shop: linkerdWith("all-unauthenticated"),
            billing: linkerdWith("cluster-unauthenticated"),
            tools: { labels: {}, annotations: { [POLICY]: "deny" } },
          },
        }),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it("uses Linkerd's cluster-wide default where namespaces set none, once for all of them", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(
        leavingLinkerd({
          namespaces: { shop: LINKERD_NS, billing: LINKERD_NS, web: linkerdWith("all-unauthenticated") },
          linkerdDefaultInboundPolicy: "deny",
        }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.severity).toBe("Blocking");
    expect(warnings[0]?.namespace).toBeUndefined();
    expect(warnings[0]?.message).toContain("cluster-wide default");
    expect(warnings[0]?.message).toContain("billing");
    expect(warnings[0]?.message).not.toContain("web");
  });
});

describe("LinkerdDefaultInboundPolicy when namespaces move into Linkerd", () => {
  const enteringLinkerd = (overrides: Partial<Scenario> = {}): Scenario => ({
    source: ISTIO,
    target: LINKERD,
    moving: ["shop"],
    namespaces: { shop: ISTIO_NS, billing: ISTIO_NS },
    ...overrides,
  });

  it("blocks on deny set on a namespace moving into Linkerd while callers stay in Istio", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(
        enteringLinkerd({
          namespaces: {
            shop: { labels: ISTIO_NS.labels, annotations: { [POLICY]: "deny" } },
            billing: ISTIO_NS,
          },
        }),
      ),
    );
    expect(warnings).toEqual([expect.objectContaining({ severity: "Blocking", namespace: "shop" })]);
    expect(warnings[0]?.message).toContain("Callers that stay outside Linkerd");
    expect(warnings[0]?.message).toContain("before the migration starts");
  });

  it("warns on a pod-template annotation and lists workloads that opt back to unauthenticated", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(
        enteringLinkerd({
          workloads: [
            workload("shop", "api", {
              template: { labels: {}, annotations: { [POLICY]: "all-authenticated" } },
            }),
            workload("shop", "web"),
          ],
        }),
      ),
    );
    expect(warnings).toEqual([expect.objectContaining({ severity: "Warning", namespace: "shop" })]);
    expect(warnings[0]?.message).toContain("pod template of deployment/api");
    expect(warnings[0]?.message).not.toContain("deployment/web");
  });

  it("says nothing when neither side is Linkerd", () => {
    const warnings = linkerdInboundPolicyWarnings(
      preflightInput(
        enteringLinkerd({
          target: AMBIENT,
          namespaces: { shop: { labels: ISTIO_NS.labels, annotations: { [POLICY]: "deny" } } },
        }),
      ),
    );
    expect(warnings).toEqual([]);
  });
});
