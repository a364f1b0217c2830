// Every sample in examples/ is a valid MeshMigration that parseSpec accepts (the same rules the
// CRD enforces), and together they cover every pair of meshes.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { API_VERSION, KIND } from "../../../src/api/constants.ts";
import { parseSpec } from "../../../src/api/schema.ts";
import { MESH_NAMES } from "../../../src/meshes/driver.ts";

const EXAMPLES_DIR = resolve(import.meta.dirname, "../../../examples");
const files = readdirSync(EXAMPLES_DIR)
  .filter((file) => file.endsWith(".yaml"))
  .sort();

interface Example {
  file: string;
  text: string;
  manifest: {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown };
    spec?: {
      source?: { mesh?: string; revision?: string };
      target?: { mesh?: string; revision?: string };
      batches?: Array<{ name: string; namespaces?: string[]; namespaceSelector?: unknown }>;
    };
  };
}

function load(file: string): Example {
  const text = readFileSync(join(EXAMPLES_DIR, file), "utf8");
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents) || documents.length !== 1) {
    throw new Error(`${file}: expected exactly one YAML document`);
  }
  const [document] = documents;
  if (!document || document.errors.length > 0) throw new Error(`${file}: ${String(document?.errors)}`);
  return { file, text, manifest: document.toJS() as Example["manifest"] };
}

const examples = files.map(load);

describe("examples/", () => {
  it.each(files)("%s is a MeshMigration that parseSpec accepts", (file) => {
    const { manifest } = load(file);
    expect(manifest.apiVersion).toBe(API_VERSION);
    expect(manifest.kind).toBe(KIND);
    expect(manifest.metadata?.name).toBe(basename(file, ".yaml"));
    const parsed = parseSpec(manifest.spec);
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  });

  it.each(files)("%s explains itself in a leading comment", (file) => {
    const lines = load(file).text.split("\n");
    const leadingComment = lines.slice(
      0,
      lines.findIndex((line) => !line.startsWith("#")),
    );
    expect(leadingComment.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)("%s starts with a listed canary batch, then selects namespaces by label", (file) => {
    const batches = load(file).manifest.spec?.batches ?? [];
    expect(batches[0]?.namespaces?.length ?? 0).toBeGreaterThan(0);
    expect(batches.slice(1).some((batch) => batch.namespaceSelector !== undefined)).toBe(true);
  });

  it("has one example for every ordered pair of different meshes", () => {
    const pairs = new Set(
      examples
        .filter((e) => e.manifest.spec?.source?.mesh !== e.manifest.spec?.target?.mesh)
        .filter((e) => !e.file.startsWith("demo-"))
        .map((e) => `${e.manifest.spec?.source?.mesh}->${e.manifest.spec?.target?.mesh}`),
    );
    const wanted = MESH_NAMES.flatMap((source) =>
      MESH_NAMES.filter((target) => target !== source).map((target) => `${source}->${target}`),
    );
    expect([...pairs].sort()).toEqual(wanted.sort());
  });

  it("has an Istio canary upgrade between two revisions", () => {
    const canary = examples.find((e) => e.file === "istio-canary-revision.yaml")?.manifest.spec;
    expect(canary?.source).toEqual({ mesh: "istio", revision: "1-24" });
    expect(canary?.target).toEqual({ mesh: "istio" });
  });
});
