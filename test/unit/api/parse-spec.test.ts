import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SPEC_RULES } from "../../../src/api/rules.ts";
import { parseSpec } from "../../../src/api/schema.ts";

const fixturesDir = fileURLToPath(new URL("../../fixtures/invalid-migrations/", import.meta.url));
const fixtureFiles = readdirSync(fixturesDir).filter((file) => file.endsWith(".yaml"));

function readFixture(file: string): { expect: string; spec: unknown } {
  const text = readFileSync(`${fixturesDir}${file}`, "utf8");
  const expectLine = /^# expect: (.+)$/.exec(text.split("\n", 1)[0] ?? "");
  return { expect: expectLine?.[1]?.trim() ?? "", spec: (parse(text) as { spec: unknown }).spec };
}

function errorsOf(input: unknown): string[] {
  const result = parseSpec(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return result.errors;
}

const minimal = {
  source: { mesh: "istio" },
  target: { mesh: "linkerd" },
  batches: [{ name: "canary", namespaces: ["shop-frontend"] }],
};

describe("parseSpec accepts valid specs", () => {
  it("fills in every default", () => {
    const result = parseSpec(minimal);
    expect(result).toEqual({
      ok: true,
      spec: {
        ...minimal,
        strategy: {
          maxConcurrentNamespaces: 1,
          maxConcurrentRollouts: 5,
          rolloutTimeout: "10m",
          workloadOverrides: "Rewrite",
          blockOnWarnings: true,
        },
        paused: false,
        rollback: false,
        dryRun: false,
      },
    });
  });

  it("fills in the defaults a partial strategy leaves out, and keeps the rest", () => {
    const result = parseSpec({ ...minimal, strategy: { maxConcurrentRollouts: 2, rolloutTimeout: "1h30m" } });
    expect(result.ok && result.spec.strategy).toEqual({
      maxConcurrentNamespaces: 1,
      maxConcurrentRollouts: 2,
      rolloutTimeout: "1h30m",
      workloadOverrides: "Rewrite",
      blockOnWarnings: true,
    });
  });

  it("accepts an Istio canary upgrade between revisions, and from a revision to the default injector", () => {
    const batches = minimal.batches;
    const toRevision = {
      source: { mesh: "istio", revision: "1-24" },
      target: { mesh: "istio", revision: "1-25" },
    };
    const toDefault = { source: { mesh: "istio", revision: "1-24" }, target: { mesh: "istio" } };
    expect(parseSpec({ ...toRevision, batches }).ok).toBe(true);
    expect(parseSpec({ ...toDefault, batches }).ok).toBe(true);
  });

  it("accepts selectors, a batch with both namespaces and a selector, and a gate on an existing batch", () => {
    const result = parseSpec({
      source: { mesh: "none" },
      target: { mesh: "istio-ambient" },
      stopAfterBatch: "canary",
      batches: [
        { name: "canary", namespaces: ["shop-frontend"] },
        { name: "wave-1", namespaceSelector: { matchLabels: { team: "payments" } } },
        {
          name: "wave-2",
          namespaces: ["a", "b"],
          namespaceSelector: {
            matchExpressions: [
              { key: "example.com/tier", operator: "In", values: ["web", "api"] },
              { key: "legacy", operator: "DoesNotExist" },
            ],
          },
        },
      ],
    });
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});

describe("parseSpec rejects invalid specs with readable errors", () => {
  it("rejects a missing or non-object spec", () => {
    expect(errorsOf(undefined)).toEqual(["spec: required field is missing"]);
    expect(errorsOf("istio")).toEqual([expect.stringMatching(/^spec: .*expected object/)]);
  });

  it("reports every problem, each at its own path", () => {
    const errors = errorsOf({
      source: { mesh: "istio" },
      target: { mesh: "kuma" },
      batches: [{ name: "Canary", namespaces: ["kube-system"] }],
      strategy: { maxConcurrentNamespaces: 1.5 },
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.target\.mesh: /),
        expect.stringMatching(/^spec\.batches\[0\]\.name: must be a DNS-1123 label/),
        expect.stringMatching(/^spec\.batches\[0\]\.namespaces\[0\]: namespace kube-system is protected/),
        expect.stringMatching(/^spec\.strategy\.maxConcurrentNamespaces: /),
      ]),
    );
  });

  it("rejects a revision that is not a label value, or too long", () => {
    const tooLong = "r".repeat(64);
    expect(errorsOf({ ...minimal, source: { mesh: "istio", revision: tooLong } })).toEqual([
      "spec.source.revision: must be at most 63 characters",
    ]);
  });

  it("rejects more than 20 batches", () => {
    const batches = Array.from({ length: 21 }, (_, i) => ({ name: `b${i}`, namespaces: [`ns-${i}`] }));
    expect(errorsOf({ ...minimal, batches })).toEqual(["spec.batches: must have at most 20 items"]);
  });
});

// What parseSpec says for each invalid example the apiserver must also reject.
const RUNTIME_ERRORS: Record<string, string> = {
  "batch-without-namespaces.yaml": "spec.batches[1]: a batch must list namespaces or set a namespaceSelector",
  "duplicate-batch-names.yaml":
    'spec.batches[1].name: batch names must be unique: "wave-1" is used more than once',
  "duplicate-namespace-in-batch.yaml": 'spec.batches[0].namespaces[1]: duplicate value "shop-frontend"',
  "empty-namespace-selector.yaml":
    "spec.batches[0].namespaceSelector: namespaceSelector must have matchLabels",
  "invalid-batch-name.yaml": "spec.batches[0].name: must be a DNS-1123 label",
  "invalid-rollout-timeout.yaml": "spec.strategy.rolloutTimeout: must be a duration",
  "invalid-workload-overrides.yaml": "spec.strategy.workloadOverrides: Invalid option",
  "missing-target.yaml": "spec.target: required field is missing",
  "namespace-in-two-batches.yaml":
    'spec.batches[1].namespaces[1]: a namespace may be listed in at most one batch: "shop-frontend" is in batches "canary" and "wave-1"',
  "no-batches.yaml": "spec.batches: must list at least one batch",
  "protected-namespace.yaml":
    "spec.batches[0].namespaces[1]: namespace kube-system is protected and cannot be migrated",
  "protected-operator-namespace.yaml":
    "spec.batches[0].namespaces[0]: namespace mesh-migration-system is protected and cannot be migrated",
  "revision-invalid-label-value.yaml": "spec.source.revision: must be a label value",
  "revision-without-istio.yaml": "spec.target.revision: revision is only allowed when mesh is istio",
  "same-istio-revision.yaml": "spec: spec.source and spec.target must differ",
  "selector-values-mismatch.yaml":
    "spec.batches[0].namespaceSelector.matchExpressions[0].values: values must be non-empty when operator is In or NotIn",
  "source-equals-target.yaml": "spec: spec.source and spec.target must differ",
  "stop-after-unknown-batch.yaml":
    "spec.stopAfterBatch: stopAfterBatch must be the name of one of spec.batches",
  "too-many-namespaces.yaml": "spec.batches[0].namespaces: must have at most 50 items",
  "unknown-mesh.yaml": "spec.target.mesh: Invalid option",
  "waypoint-without-ambient.yaml":
    "spec.target.waypoint: waypoint is only allowed when mesh is istio-ambient",
  "zero-concurrency.yaml": "spec.strategy.maxConcurrentRollouts: must be at least 1",
  "unbounded-concurrency.yaml": "spec.strategy.maxConcurrentNamespaces: must be at most 50",
};

describe("the invalid-migration fixtures", () => {
  it("cover every rule, one file named after each, and each has an expect line", () => {
    expect(fixtureFiles.sort()).toEqual(Object.keys(RUNTIME_ERRORS).sort());
    for (const rule of SPEC_RULES) expect(fixtureFiles).toContain(`${rule.id}.yaml`);
    for (const file of fixtureFiles) expect(readFixture(file).expect, file).not.toBe("");
  });

  it.each(fixtureFiles)("%s is rejected by parseSpec too", (file) => {
    const errors = errorsOf(readFixture(file).spec);
    expect(errors.join("\n")).toContain(RUNTIME_ERRORS[file]);
  });

  it.each(SPEC_RULES.map((rule) => rule.id))(
    "%s: parseSpec and the apiserver give the same message",
    (id) => {
      const { expect: fragment, spec } = readFixture(`${id}.yaml`);
      expect(errorsOf(spec).join("\n")).toContain(fragment);
    },
  );
});

describe("parseSpec label selectors", () => {
  it("rejects invalid label keys, quoting keys that are not plain identifiers", () => {
    const batches = [
      { name: "wave-1", namespaceSelector: { matchLabels: { "bad key/x/y": "v", team: "ok" } } },
    ];
    expect(errorsOf({ ...minimal, batches })).toEqual([
      'spec.batches[0].namespaceSelector.matchLabels["bad key/x/y"]: must be a label key such as team or example.com/team',
    ]);
  });

  it("still applies the cross-field rules when a label key is invalid", () => {
    const errors = errorsOf({
      ...minimal,
      target: minimal.source,
      batches: [{ name: "wave-1", namespaceSelector: { matchLabels: { "-bad": "v" } } }],
    });
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringContaining("spec: spec.source and spec.target must differ")]),
    );
  });

  it("rejects values on Exists and DoesNotExist", () => {
    const batches = [
      {
        name: "wave-1",
        namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists", values: ["a"] }] },
      },
    ];
    expect(errorsOf({ ...minimal, batches })).toEqual([
      expect.stringMatching(
        /^spec\.batches\[0\]\.namespaceSelector\.matchExpressions\[0\]\.values: values must be/,
      ),
    ]);
  });
});
