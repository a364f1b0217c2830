// WorkloadOptsOutOfTarget: a workload that refuses the target would be restarted onto no mesh.
import { describe, expect, it } from "vitest";
import { targetOptOutWarnings } from "../../../src/preflight/target-opt-outs.ts";
import {
  ISTIO,
  ISTIO_NS,
  LINKERD,
  NONE,
  preflightInput,
  type Scenario,
  UNMESHED_NS,
  workload,
} from "./builders.ts";

const optedOut = workload("shop", "legacy", {
  template: { labels: {}, annotations: { "linkerd.io/inject": "disabled" } },
});
const scenario = (overrides: Partial<Scenario>): Scenario => ({
  source: ISTIO,
  target: LINKERD,
  moving: ["shop"],
  namespaces: { shop: ISTIO_NS },
  workloads: [optedOut, workload("shop", "web")],
  ...overrides,
});

describe("WorkloadOptsOutOfTarget", () => {
  it("blocks on a source workload that opts out of the target, naming it and the way to acknowledge", () => {
    const warnings = targetOptOutWarnings(preflightInput(scenario({})));
    expect(warnings).toEqual([
      expect.objectContaining({ code: "WorkloadOptsOutOfTarget", severity: "Blocking", namespace: "shop" }),
    ]);
    expect(warnings[0]?.message).toContain("deployment/legacy");
    expect(warnings[0]?.message).toContain("no mesh");
    expect(warnings[0]?.message).toContain("blockOnWarnings: false");
    expect(warnings[0]?.message).not.toContain("deployment/web");
  });

  it("says nothing when the workload is not on the source, or nothing is left behind", () => {
    const alreadyOff = workload("shop", "legacy", {
      template: {
        labels: { "sidecar.istio.io/inject": "false" },
        annotations: { "linkerd.io/inject": "disabled" },
      },
    });
    expect(targetOptOutWarnings(preflightInput(scenario({ workloads: [alreadyOff] })))).toEqual([]);
    expect(
      targetOptOutWarnings(preflightInput(scenario({ source: NONE, namespaces: { shop: UNMESHED_NS } }))),
    ).toEqual([]);
    expect(targetOptOutWarnings(preflightInput(scenario({ target: NONE })))).toEqual([]);
    expect(targetOptOutWarnings(preflightInput(scenario({ moving: [] })))).toEqual([]);
  });
});
