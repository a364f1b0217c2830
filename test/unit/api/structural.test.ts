import { describe, expect, it } from "vitest";
import { buildOpenApiSchema } from "../../../src/api/crd.ts";
import { type JsonSchemaProps, toStructural } from "../../../src/api/structural.ts";

interface Visit {
  path: string;
  node: JsonSchemaProps;
  /** Whether the node is the schema of a named property (not list items or map values). */
  isProperty: boolean;
}

function walk(node: JsonSchemaProps, path = "", isProperty = false): Visit[] {
  const visits: Visit[] = [{ path, node, isProperty }];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    visits.push(...walk(child, `${path}.${name}`, true));
  }
  if (node.items) visits.push(...walk(node.items, `${path}[]`));
  if (node.additionalProperties) visits.push(...walk(node.additionalProperties, `${path}{}`));
  return visits;
}

const schema = buildOpenApiSchema();
const nodes = walk(schema);
const FORBIDDEN_KEYS = [
  "$ref",
  "$defs",
  "$schema",
  "definitions",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "nullable",
];

describe("the CRD's OpenAPI schema is structural", () => {
  it("types every node", () => {
    const untyped = nodes.filter(({ node }) => !node.type && !node["x-kubernetes-preserve-unknown-fields"]);
    expect(untyped.map((v) => v.path)).toEqual([]);
  });

  it("has no references, combinators, nullable or additionalProperties: false", () => {
    const offending = nodes.flatMap(({ path, node }) =>
      Object.keys(node)
        .filter((key) => FORBIDDEN_KEYS.includes(key))
        .map((key) => `${path}: ${key}`),
    );
    expect(offending).toEqual([]);
    for (const { path, node } of nodes) {
      expect(typeof node.additionalProperties === "boolean", path).toBe(false);
      expect(node.properties && node.additionalProperties, path).toBeFalsy();
    }
  });

  it("describes every field", () => {
    const undocumented = nodes.filter(
      ({ path, node, isProperty }) => isProperty && path !== ".metadata" && !node.description,
    );
    expect(undocumented.map((v) => v.path)).toEqual([]);
  });

  it("leaves metadata to the apiserver and requires only spec at the root", () => {
    expect(schema.properties?.metadata).toEqual({ type: "object" });
    expect(schema.required).toEqual(["spec"]);
  });

  it("bounds every list and string of the spec, so CEL cost estimates stay small", () => {
    const spec = walk(schema.properties!.spec!, ".spec");
    const unboundedLists = spec.filter(({ node }) => node.type === "array" && node.maxItems === undefined);
    const unboundedStrings = spec.filter(
      ({ node }) => node.type === "string" && node.maxLength === undefined && node.enum === undefined,
    );
    expect(unboundedLists.map((v) => v.path)).toEqual([]);
    expect(unboundedStrings.map((v) => v.path)).toEqual([]);
  });

  it("uses only patterns Go's RE2 engine accepts (no lookaround, no backreferences)", () => {
    const patterns = nodes.flatMap(({ node }) => (node.pattern ? [node.pattern] : []));
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) {
      expect(pattern).toMatch(/^\^.*\$$/);
      expect(pattern).not.toMatch(/\(\?[=!<]|\\[1-9]/);
    }
  });

  it("gives every CEL rule a message", () => {
    const rules = nodes.flatMap(
      ({ node }) => (node["x-kubernetes-validations"] ?? []) as Array<Record<string, unknown>>,
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.message, String(rule.rule)).toEqual(expect.any(String));
  });

  it("makes namespace lists sets and conditions a map keyed by type", () => {
    const byPath = new Map(nodes.map((v) => [v.path, v.node]));
    expect(byPath.get(".spec.batches[].namespaces")?.["x-kubernetes-list-type"]).toBe("set");
    expect(byPath.get(".status.batches[].namespaces")?.["x-kubernetes-list-type"]).toBe("set");
    const conditions = byPath.get(".status.conditions");
    expect(conditions?.["x-kubernetes-list-type"]).toBe("map");
    expect(conditions?.["x-kubernetes-list-map-keys"]).toEqual(["type"]);
    expect(conditions?.items?.required).toContain("type");
    expect(byPath.get(".status.observedGeneration")).toMatchObject({ type: "integer", format: "int64" });
    expect(byPath.get(".status.doubleMeshedPods")).toMatchObject({ type: "integer", format: "int32" });
  });
});

describe("toStructural", () => {
  it("inlines $ref definitions and keeps sibling descriptions", () => {
    const result = toStructural({
      type: "object",
      properties: { a: { $ref: "#/$defs/Name", description: "A name." } },
      $defs: { Name: { type: "string", maxLength: 3 } },
    });
    expect(result.properties?.a).toEqual({ description: "A name.", type: "string", maxLength: 3 });
  });

  it("refuses what a structural schema cannot express", () => {
    expect(() => toStructural({ anyOf: [{ type: "string" }, { type: "integer" }] })).toThrow(/anyOf/);
    expect(() => toStructural({ type: "object", properties: { a: {} } })).toThrow(
      /\.a: every node needs a type/,
    );
    expect(() =>
      toStructural({
        type: "object",
        properties: { a: { $ref: "#/$defs/A" } },
        $defs: { A: { $ref: "#/$defs/A" } },
      }),
    ).toThrow(/recursive/);
  });

  it("drops additionalProperties false and propertyNames, keeps maps", () => {
    const result = toStructural({
      type: "object",
      properties: {
        closed: { type: "object", properties: { x: { type: "string" } }, additionalProperties: false },
        map: { type: "object", propertyNames: { type: "string" }, additionalProperties: { type: "string" } },
      },
    });
    expect(result.properties?.closed).toEqual({ type: "object", properties: { x: { type: "string" } } });
    expect(result.properties?.map).toEqual({ type: "object", additionalProperties: { type: "string" } });
  });

  it("turns zod's implicit integer bounds into formats", () => {
    const result = toStructural({
      type: "object",
      properties: {
        small: { type: "integer", minimum: 1, maximum: 2147483647 },
        big: { type: "integer", minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
      },
    });
    expect(result.properties?.small).toEqual({ type: "integer", minimum: 1, format: "int32" });
    expect(result.properties?.big).toEqual({ type: "integer", format: "int64" });
  });
});
