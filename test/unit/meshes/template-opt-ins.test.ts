// Pod-template opt-ins and opt-outs, and how they are rewritten when a namespace changes mesh.
import { describe, expect, it } from "vitest";
import type { Markers, MeshName, MeshRef } from "../../../src/meshes/driver.ts";
import { istioDriver } from "../../../src/meshes/istio.ts";
import { istioAmbientDriver } from "../../../src/meshes/istio-ambient.ts";
import { linkerdDriver } from "../../../src/meshes/linkerd.ts";
import { applyChange, markersOf } from "../../../src/meshes/markers.ts";
import { noneDriver } from "../../../src/meshes/none.ts";
import { findTemplateOptIns, rewriteTemplateOptIns } from "../../../src/meshes/registry.ts";
import { fixtureTemplate } from "./fixtures.ts";

function tpl(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Markers {
  return { labels: { app: "web", ...labels }, annotations: { owner: "team", ...annotations } };
}

const INJECT = "sidecar.istio.io/inject";
const MODE = "istio.io/dataplane-mode";
const L5D = "linkerd.io/inject";

describe("templateOptIns", () => {
  it("istio: the label beats the annotation, and YAML-style booleans count", () => {
    expect(istioDriver.templateOptIns(tpl({ [INJECT]: "false" }, { [INJECT]: "true" }))).toEqual([
      { kind: "label", key: INJECT, value: "false", optsIn: false },
    ]);
    expect(istioDriver.templateOptIns(tpl({}, { [INJECT]: "true" }))).toEqual([
      { kind: "annotation", key: INJECT, value: "true", optsIn: true },
    ]);
    expect(istioDriver.templateOptIns(tpl({ [INJECT]: "Yes" }))[0]?.optsIn).toBe(true);
    expect(istioDriver.templateOptIns(tpl({ [INJECT]: "no" }))[0]?.optsIn).toBe(false);
    // An empty label defers to the namespace and hides the annotation, as in the injector.
    expect(istioDriver.templateOptIns(tpl({ [INJECT]: "" }, { [INJECT]: "true" }))).toEqual([]);
  });

  it("istio: a revision label on the template opts in to that revision", () => {
    expect(istioDriver.templateOptIns(tpl({ "istio.io/rev": "canary" }))).toEqual([
      { kind: "label", key: "istio.io/rev", value: "canary", optsIn: true, revision: "canary" },
    ]);
    // The injector writes istio.io/rev as an annotation on injected pods: that is not an opt-in.
    expect(istioDriver.templateOptIns(tpl({}, { "istio.io/rev": "default" }))).toEqual([]);
  });

  it("istio-ambient: ambient opts in, none opts out, other values say nothing", () => {
    expect(istioAmbientDriver.templateOptIns(tpl({ [MODE]: "ambient" }))).toEqual([
      { kind: "label", key: MODE, value: "ambient", optsIn: true },
    ]);
    expect(istioAmbientDriver.templateOptIns(tpl({ [MODE]: "none" }))[0]?.optsIn).toBe(false);
    expect(istioAmbientDriver.templateOptIns(tpl({ [MODE]: "sidecar" }))).toEqual([]);
    expect(istioAmbientDriver.templateOptIns(tpl({}, { [MODE]: "ambient" }))).toEqual([]);
  });

  it("linkerd: enabled and ingress opt in, disabled opts out, only as an annotation", () => {
    expect(linkerdDriver.templateOptIns(tpl({}, { [L5D]: "enabled" }))[0]?.optsIn).toBe(true);
    expect(linkerdDriver.templateOptIns(tpl({}, { [L5D]: "ingress" }))[0]?.optsIn).toBe(true);
    expect(linkerdDriver.templateOptIns(tpl({}, { [L5D]: "disabled" }))).toEqual([
      { kind: "annotation", key: L5D, value: "disabled", optsIn: false },
    ]);
    expect(linkerdDriver.templateOptIns(tpl({ [L5D]: "enabled" }))).toEqual([]);
  });

  it("none: nothing", () => {
    expect(
      noneDriver.templateOptIns(tpl({ [INJECT]: "true", [MODE]: "ambient" }, { [L5D]: "enabled" })),
    ).toEqual([]);
  });

  it.each([
    [
      "istio-ambient/gatewaycommon_kube-gateway-ambient-redirect.yaml Deployment/default-istio",
      [
        { mesh: "istio", kind: "label", key: INJECT, value: "false", optsIn: false },
        { mesh: "istio-ambient", kind: "label", key: MODE, value: "ambient", optsIn: true },
      ],
    ],
    [
      "istio-ambient/manifest-generate_ztunnel.golden.yaml DaemonSet/ztunnel",
      [
        { mesh: "istio", kind: "label", key: INJECT, value: "false", optsIn: false },
        { mesh: "istio-ambient", kind: "label", key: MODE, value: "none", optsIn: false },
      ],
    ],
    [
      "istio-ambient/analyzers_injection.yaml Pod/podinjectiondisabled-label-and-anno",
      [{ mesh: "istio", kind: "label", key: INJECT, value: "false", optsIn: false }],
    ],
    [
      "istio-sidecar/hello-ignore.yaml.injected Deployment/hello",
      [{ mesh: "istio", kind: "annotation", key: INJECT, value: "false", optsIn: false }],
    ],
    [
      "linkerd/inject_emojivoto_deployment_overridden_noinject.golden.yml Deployment/web",
      [{ mesh: "linkerd", kind: "annotation", key: L5D, value: "enabled", optsIn: true }],
    ],
    [
      "linkerd/inject_emojivoto_deployment_injectDisabled.input.yml Deployment/web",
      [{ mesh: "linkerd", kind: "annotation", key: L5D, value: "disabled", optsIn: false }],
    ],
    // Injected pods carry istio.io/rev as an annotation and no linkerd.io/inject: no opt-ins.
    ["istio-sidecar/hello.yaml.injected Deployment/hello", []],
    ["linkerd/inject_emojivoto_deployment.golden.yml Deployment/web", []],
  ] as const)("fixture %s", (id, expected) => {
    expect(findTemplateOptIns(markersOf(fixtureTemplate(id).metadata))).toEqual(expected);
  });
});

/** The canonical opt-in and opt-out of each mesh, as template markers. */
const OPT_IN: Record<MeshName, Markers> = {
  consul: tpl({}, { "consul.hashicorp.com/connect-inject": "true" }),
  istio: tpl({ [INJECT]: "true" }),
  "istio-ambient": tpl({ [MODE]: "ambient" }),
  linkerd: tpl({}, { [L5D]: "enabled" }),
  none: tpl(),
};

describe("rewriteTemplateOptIns: a source opt-in becomes the target's opt-in", () => {
  it.each([
    ["istio", "istio-ambient", tpl({ [MODE]: "ambient" })],
    ["istio", "linkerd", tpl({}, { [L5D]: "enabled" })],
    ["istio", "none", tpl()],
    ["istio-ambient", "istio", tpl({ [INJECT]: "true" })],
    ["istio-ambient", "linkerd", tpl({}, { [L5D]: "enabled" })],
    ["istio-ambient", "none", tpl()],
    ["linkerd", "istio", tpl({ [INJECT]: "true" })],
    ["linkerd", "istio-ambient", tpl({ [MODE]: "ambient" })],
    ["linkerd", "none", tpl()],
    // "none" has no opt-in: there is nothing to rewrite.
    ["none", "istio", tpl()],
    ["none", "istio-ambient", tpl()],
    ["none", "linkerd", tpl()],
  ] as const)("%s → %s", (source, target, expected) => {
    const { changes } = rewriteTemplateOptIns({ mesh: source }, { mesh: target }, OPT_IN[source]);
    expect(applyChange(OPT_IN[source], changes)).toEqual(expected);
  });

  it("takes the annotation form of the Istio opt-in too", () => {
    const template = tpl({}, { [INJECT]: "true" });
    const { changes } = rewriteTemplateOptIns({ mesh: "istio" }, { mesh: "linkerd" }, template);
    expect(applyChange(template, changes)).toEqual(tpl({}, { [L5D]: "enabled" }));
  });

  it("takes Linkerd's ingress mode as an opt-in", () => {
    const template = tpl({}, { [L5D]: "ingress" });
    const { changes } = rewriteTemplateOptIns({ mesh: "linkerd" }, { mesh: "istio" }, template);
    expect(applyChange(template, changes)).toEqual(tpl({ [INJECT]: "true" }));
  });
});

/** The canonical opt-out of each mesh; "none" has none. */
const OPT_OUT: Record<MeshName, Markers> = {
  consul: tpl({}, { "consul.hashicorp.com/connect-inject": "false" }),
  istio: tpl({ [INJECT]: "false" }),
  "istio-ambient": tpl({ [MODE]: "none" }),
  linkerd: tpl({}, { [L5D]: "disabled" }),
  none: tpl(),
};

describe("rewriteTemplateOptIns: a source opt-out is kept and the target's opt-out added", () => {
  it.each([
    ["istio", "istio-ambient", tpl({ [INJECT]: "false", [MODE]: "none" })],
    ["istio", "linkerd", tpl({ [INJECT]: "false" }, { [L5D]: "disabled" })],
    ["istio", "none", tpl({ [INJECT]: "false" })],
    ["istio-ambient", "istio", tpl({ [MODE]: "none", [INJECT]: "false" })],
    ["istio-ambient", "linkerd", tpl({ [MODE]: "none" }, { [L5D]: "disabled" })],
    ["istio-ambient", "none", tpl({ [MODE]: "none" })],
    ["linkerd", "istio", tpl({ [INJECT]: "false" }, { [L5D]: "disabled" })],
    ["linkerd", "istio-ambient", tpl({ [MODE]: "none" }, { [L5D]: "disabled" })],
    ["linkerd", "none", tpl({}, { [L5D]: "disabled" })],
    ["none", "istio", tpl()],
    ["none", "istio-ambient", tpl()],
    ["none", "linkerd", tpl()],
  ] as const)("%s → %s", (source, target, expected) => {
    const { changes, found } = rewriteTemplateOptIns({ mesh: source }, { mesh: target }, OPT_OUT[source]);
    expect(applyChange(OPT_OUT[source], changes)).toEqual(expected);
    expect(changes.remove).toEqual({ labels: [], annotations: [] });
    expect(found.every((optIn) => !optIn.optsIn)).toBe(true);
  });
});

describe("rewriteTemplateOptIns: a third mesh's markers are reported and left alone", () => {
  const MESHES: MeshName[] = ["istio", "istio-ambient", "linkerd", "none"];
  const cases = MESHES.flatMap((source) =>
    MESHES.filter((target) => target !== source).flatMap((target) =>
      MESHES.filter((third) => third !== source && third !== target && third !== "none").flatMap((third) => [
        [source, target, third, "opt-in", OPT_IN[third]] as const,
        [source, target, third, "opt-out", OPT_OUT[third]] as const,
      ]),
    ),
  );

  it.each(cases)("%s → %s with a %s %s", (source, target, third, _what, template) => {
    const { changes, found } = rewriteTemplateOptIns({ mesh: source }, { mesh: target }, template);
    expect(applyChange(template, changes)).toEqual(template);
    expect(found.map((optIn) => optIn.mesh)).toEqual([third]);
  });
});

describe("rewriteTemplateOptIns: special cases", () => {
  const rewrite = (source: MeshRef, target: MeshRef, template: Markers) => {
    const result = rewriteTemplateOptIns(source, target, template);
    return { ...result, after: applyChange(template, result.changes) };
  };

  it("moves a revision label to the target revision in a single set", () => {
    const { changes, after } = rewrite(
      { mesh: "istio", revision: "1-23" },
      { mesh: "istio", revision: "1-24" },
      tpl({ "istio.io/rev": "1-23" }),
    );
    expect(changes).toEqual({
      set: { labels: { "istio.io/rev": "1-24" }, annotations: {} },
      remove: { labels: [], annotations: [] },
    });
    expect(after).toEqual(tpl({ "istio.io/rev": "1-24" }));
  });

  it("keeps sidecar.istio.io/inject between Istio revisions: it names no revision", () => {
    const { after } = rewrite(
      { mesh: "istio", revision: "1-23" },
      { mesh: "istio", revision: "1-24" },
      OPT_IN.istio,
    );
    expect(after).toEqual(OPT_IN.istio);
  });

  it("pins to the target revision with a revision label", () => {
    const { after } = rewrite({ mesh: "linkerd" }, { mesh: "istio", revision: "1-24" }, OPT_IN.linkerd);
    expect(after).toEqual(tpl({ "istio.io/rev": "1-24" }));
  });

  it("removes a source revision label when leaving Istio", () => {
    const template = tpl({ "istio.io/rev": "canary" });
    expect(rewrite({ mesh: "istio", revision: "canary" }, { mesh: "linkerd" }, template).after).toEqual(
      tpl({}, { [L5D]: "enabled" }),
    );
    expect(rewrite({ mesh: "istio" }, { mesh: "istio-ambient" }, template).after).toEqual(
      tpl({ [MODE]: "ambient" }),
    );
  });

  it("leaves a revision label of another Istio revision alone (it does not pin to the source)", () => {
    const template = tpl({ "istio.io/rev": "other" });
    const { after, found } = rewrite({ mesh: "istio", revision: "canary" }, { mesh: "linkerd" }, template);
    expect(after).toEqual(template);
    expect(found).toEqual([
      { mesh: "istio", kind: "label", key: "istio.io/rev", value: "other", optsIn: true, revision: "other" },
    ]);
  });

  it("an opt-out beats an opt-in of the same mesh: the opt-in goes, the opt-out is translated", () => {
    const template = tpl({ [INJECT]: "false", "istio.io/rev": "canary" });
    expect(rewrite({ mesh: "istio" }, { mesh: "linkerd" }, template).after).toEqual(
      tpl({ [INJECT]: "false" }, { [L5D]: "disabled" }),
    );
  });

  it("reads the Istio label over the annotation: label false + annotation true is an opt-out", () => {
    const template = tpl({ [INJECT]: "false" }, { [INJECT]: "true" });
    const { after } = rewrite({ mesh: "istio" }, { mesh: "istio-ambient" }, template);
    expect(after).toEqual(tpl({ [INJECT]: "false", [MODE]: "none" }, { [INJECT]: "true" }));
  });

  it("keeps a stance the template already takes on the target", () => {
    const optedOut = tpl({ [INJECT]: "true" }, { [L5D]: "disabled" });
    expect(rewrite({ mesh: "istio" }, { mesh: "linkerd" }, optedOut).after).toEqual(
      tpl({}, { [L5D]: "disabled" }),
    );
    const optedIn = tpl({ [MODE]: "none" }, { [L5D]: "enabled" });
    expect(rewrite({ mesh: "istio-ambient" }, { mesh: "linkerd" }, optedIn).after).toEqual(optedIn);
  });

  it("never both sets and removes a key", () => {
    const template = tpl({ [INJECT]: "true", "istio.io/rev": "a", [MODE]: "ambient" }, { [L5D]: "enabled" });
    const refs: MeshRef[] = [
      { mesh: "istio" },
      { mesh: "istio", revision: "a" },
      { mesh: "istio", revision: "b" },
      { mesh: "istio-ambient" },
      { mesh: "linkerd" },
      { mesh: "none" },
    ];
    for (const source of refs) {
      for (const target of refs) {
        const { changes } = rewriteTemplateOptIns(source, target, template);
        for (const key of changes.remove.labels) expect(changes.set.labels).not.toHaveProperty([key]);
        for (const key of changes.remove.annotations)
          expect(changes.set.annotations).not.toHaveProperty([key]);
      }
    }
  });

  it("rewrites a real annotate-only Linkerd template for Istio ambient", () => {
    const template = markersOf(
      fixtureTemplate("linkerd/inject_emojivoto_deployment_overridden_noinject.golden.yml Deployment/web")
        .metadata,
    );
    const { changes } = rewriteTemplateOptIns({ mesh: "linkerd" }, { mesh: "istio-ambient" }, template);
    expect(changes).toEqual({
      set: { labels: { [MODE]: "ambient" }, annotations: {} },
      remove: { labels: [], annotations: [L5D] },
    });
  });
});

describe("templateMarkerKeys (what deploy/write-limits.yaml lets the operator rewrite)", () => {
  const drivers = [istioDriver, istioAmbientDriver, linkerdDriver, noneDriver];
  const values = ["true", "false", "enabled", "disabled", "ambient", "none", "canary", "Yes", ""];
  const candidateKeys = [INJECT, MODE, L5D, "istio.io/rev", "linkerd.io/inject", "istio-injection"];

  it("cover every key a driver reads as an opt-in, and every marker it writes", () => {
    for (const driver of drivers) {
      const declared = driver.templateMarkerKeys;
      for (const key of candidateKeys) {
        for (const value of values) {
          for (const found of [
            ...driver.templateOptIns(tpl({ [key]: value })),
            ...driver.templateOptIns(tpl({}, { [key]: value })),
          ]) {
            const keys = found.kind === "label" ? declared.labels : declared.annotations;
            expect(keys, `${driver.name} reads ${found.kind} ${found.key}`).toContain(found.key);
          }
        }
      }
      const ref: MeshRef = { mesh: driver.name as MeshName, revision: "canary" };
      for (const marker of [driver.optInMarker?.(ref), driver.optOutMarker?.(ref)]) {
        if (!marker) continue;
        const keys = marker.kind === "label" ? declared.labels : declared.annotations;
        expect(keys, `${driver.name} writes ${marker.kind} ${marker.key}`).toContain(marker.key);
      }
    }
  });
});
