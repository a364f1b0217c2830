// IstioStrictMTLS: STRICT PeerAuthentication on the Istio side of the boundary blocks the migration.
import { describe, expect, it } from "vitest";
import { istioStrictMtlsWarnings } from "../../../src/preflight/istio-strict-mtls.ts";
import {
  AMBIENT,
  ISTIO,
  ISTIO_NS,
  LINKERD,
  LINKERD_NS,
  NONE,
  peerAuthentication,
  preflightInput,
  type Scenario,
  UNMESHED_NS,
  workload,
} from "./builders.ts";

const MESH_WIDE_STRICT = peerAuthentication("istio-system", "default", { mtls: { mode: "STRICT" } });

function leavingIstio(overrides: Partial<Scenario> = {}): Scenario {
  return {
    source: ISTIO,
    target: LINKERD,
    moving: ["shop"],
    namespaces: { shop: ISTIO_NS, billing: ISTIO_NS, tools: UNMESHED_NS, "istio-system": UNMESHED_NS },
    ...overrides,
  };
}

describe("IstioStrictMTLS when namespaces leave Istio", () => {
  it("blocks on mesh-wide STRICT, naming the policy, every Istio namespace it refuses and the fix", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(leavingIstio({ policies: { peerAuthentications: [MESH_WIDE_STRICT] } })),
    );
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning).toMatchObject({ code: "IstioStrictMTLS", severity: "Blocking", namespace: undefined });
    expect(warning?.message).toContain("PeerAuthentication istio-system/default");
    expect(warning?.message).toContain("mesh-wide");
    expect(warning?.message).toContain("billing (stays in Istio)");
    expect(warning?.message).toContain("shop (leaves Istio in batch wave-1");
    expect(warning?.message).toContain("PERMISSIVE");
    expect(warning?.message).not.toContain("tools");
  });

  it("does not count a namespace being deleted as one that stays in Istio", () => {
    const input = preflightInput(
      leavingIstio({
        policies: {
          peerAuthentications: [peerAuthentication("billing", "strict", { mtls: { mode: "STRICT" } })],
        },
      }),
    );
    const namespaces = new Map(input.namespaces);
    namespaces.set("billing", { markers: ISTIO_NS, terminating: true });
    expect(istioStrictMtlsWarnings({ ...input, namespaces })).toEqual([]);
    expect(istioStrictMtlsWarnings(input)).toHaveLength(1);
  });

  it("lets a namespace's own PERMISSIVE policy win over mesh-wide STRICT", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          policies: {
            peerAuthentications: [
              MESH_WIDE_STRICT,
              peerAuthentication("billing", "default", { mtls: { mode: "PERMISSIVE" } }),
            ],
          },
        }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).not.toContain("billing");
    expect(warnings[0]?.message).toContain("shop");
  });

  it("lets an UNSET namespace policy inherit mesh-wide STRICT", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          policies: {
            peerAuthentications: [
              MESH_WIDE_STRICT,
              peerAuthentication("billing", "default", { mtls: { mode: "UNSET" } }),
            ],
          },
        }),
      ),
    );
    expect(warnings[0]?.message).toContain("billing (stays in Istio)");
  });

  it("blocks on a namespace-wide STRICT policy in a namespace that stays in Istio", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          policies: {
            peerAuthentications: [peerAuthentication("billing", "strict", { mtls: { mode: "STRICT" } })],
          },
        }),
      ),
    );
    expect(warnings).toEqual([
      expect.objectContaining({ code: "IstioStrictMTLS", severity: "Blocking", namespace: "billing" }),
    ]);
    expect(warnings[0]?.message).toContain("PeerAuthentication billing/strict");
    expect(warnings[0]?.message).toContain("for namespace billing");
  });

  it("blocks on a workload policy (selector) and names the workloads it selects", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          workloads: [workload("billing", "ledger"), workload("billing", "reports")],
          policies: {
            peerAuthentications: [
              peerAuthentication("billing", "ledger-strict", {
                selector: { matchLabels: { app: "ledger" } },
                mtls: { mode: "STRICT" },
              }),
            ],
          },
        }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.namespace).toBe("billing");
    expect(warnings[0]?.message).toContain("PeerAuthentication billing/ledger-strict");
    expect(warnings[0]?.message).toContain("deployment/ledger");
    expect(warnings[0]?.message).not.toContain("deployment/reports");
  });

  it("reports port-level STRICT on a workload policy", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          workloads: [workload("billing", "ledger")],
          policies: {
            peerAuthentications: [
              peerAuthentication("billing", "ledger-ports", {
                selector: { matchLabels: { app: "ledger" } },
                mtls: { mode: "PERMISSIVE" },
                portLevelMtls: { "8443": { mode: "STRICT" } },
              }),
            ],
          },
        }),
      ),
    );
    expect(warnings[0]?.message).toContain("port(s) 8443");
  });

  it("ignores a workload policy that selects no workload", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          workloads: [workload("billing", "reports")],
          policies: {
            peerAuthentications: [
              peerAuthentication("billing", "ledger-strict", {
                selector: { matchLabels: { app: "ledger" } },
                mtls: { mode: "STRICT" },
              }),
            ],
          },
        }),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it("warns for offboarding to no mesh too", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(leavingIstio({ target: NONE, policies: { peerAuthentications: [MESH_WIDE_STRICT] } })),
    );
    expect(warnings).toHaveLength(1);
  });

  it("says nothing for PERMISSIVE, for STRICT outside Istio, or without policies", () => {
    const permissive = peerAuthentication("istio-system", "default", { mtls: { mode: "PERMISSIVE" } });
    const strictInUnmeshed = peerAuthentication("tools", "strict", { mtls: { mode: "STRICT" } });
    expect(
      istioStrictMtlsWarnings(
        preflightInput(leavingIstio({ policies: { peerAuthentications: [permissive, strictInUnmeshed] } })),
      ),
    ).toEqual([]);
    expect(istioStrictMtlsWarnings(preflightInput(leavingIstio()))).toEqual([]);
  });

  it("says nothing when both meshes are Istio (sidecar to ambient share a trust root)", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({ target: AMBIENT, policies: { peerAuthentications: [MESH_WIDE_STRICT] } }),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it("skips objects it cannot read instead of failing", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        leavingIstio({
          policies: { peerAuthentications: [null, { spec: { mtls: { mode: "STRICT" } } }, 42] },
        }),
      ),
    );
    expect(warnings).toEqual([]);
  });
});

describe("IstioStrictMTLS when namespaces move into Istio", () => {
  const enteringIstio = (overrides: Partial<Scenario> = {}): Scenario => ({
    source: LINKERD,
    target: ISTIO,
    moving: ["shop"],
    namespaces: { shop: LINKERD_NS, billing: ISTIO_NS, web: LINKERD_NS },
    ...overrides,
  });

  it("blocks when STRICT applies to a moving namespace while callers stay outside Istio", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        enteringIstio({
          policies: {
            peerAuthentications: [peerAuthentication("shop", "strict", { mtls: { mode: "STRICT" } })],
          },
        }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ severity: "Blocking", namespace: "shop" });
    expect(warnings[0]?.message).toContain("callers still outside Istio");
    expect(warnings[0]?.message).toContain("shop (moves into Istio in batch wave-1");
  });

  it("says nothing about STRICT in namespaces that were in Istio before (not the migration's doing)", () => {
    const warnings = istioStrictMtlsWarnings(
      preflightInput(
        enteringIstio({
          policies: {
            peerAuthentications: [peerAuthentication("billing", "strict", { mtls: { mode: "STRICT" } })],
          },
        }),
      ),
    );
    expect(warnings).toEqual([]);
  });
});
