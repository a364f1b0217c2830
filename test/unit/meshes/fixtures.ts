// Loads the shared mesh fixtures: every pod template (Pods, workload templates, List items, CronJob
// job templates) and every Namespace, across multi-document YAML files.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { Markers, PodFacts } from "../../../src/meshes/driver.ts";
import { markersOf } from "../../../src/meshes/markers.ts";

/** /work/shared/fixtures/meshes, found from this file: test/unit/meshes → repository → /work. */
export const FIXTURE_DIR = fileURLToPath(new URL("../../../../shared/fixtures/meshes/", import.meta.url));

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function at(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) current = isObject(current) ? current[key] : undefined;
  return current;
}

/** Every fixture file except the provenance notes, as paths relative to FIXTURE_DIR. */
export function fixtureFiles(): string[] {
  return readdirSync(FIXTURE_DIR, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith(".md"))
    .map((entry) => path.relative(FIXTURE_DIR, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Every top-level object of a fixture file, with `kind: List` items flattened. */
function objectsOf(file: string): Json[] {
  const flatten = (object: unknown): Json[] => {
    if (!isObject(object)) return [];
    if (object.kind !== "List") return [object];
    return (Array.isArray(object.items) ? object.items : []).flatMap(flatten);
  };
  return parseAllDocuments(readFileSync(path.join(FIXTURE_DIR, file), "utf8")).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return flatten(doc.toJS());
  });
}

function idOf(file: string, object: Json): string {
  return `${file} ${String(object.kind)}/${String(at(object, "metadata", "name"))}`;
}

let parsed: Array<{ file: string; object: Json }> | undefined;

/** Parses the fixtures once per test file; they never change during a run. */
function objectsByFile(): Array<{ file: string; object: Json }> {
  parsed ??= fixtureFiles().flatMap((file) => objectsOf(file).map((object) => ({ file, object })));
  return parsed;
}

export interface FixtureTemplate {
  /** "<dir>/<file> <Kind>/<name>", e.g. "linkerd/inject_emojivoto_list.golden.yml Deployment/web". */
  id: string;
  template: PodFacts;
}

/** Every pod template in the fixtures, keyed by file and owning object. */
export function fixtureTemplates(): FixtureTemplate[] {
  return objectsByFile().flatMap(({ file, object }) => {
    if (object.kind === "Pod") return [{ id: idOf(file, object), template: object as PodFacts }];
    const template = at(object, "spec", "template") ?? at(object, "spec", "jobTemplate", "spec", "template");
    return isObject(template) ? [{ id: idOf(file, object), template: template as PodFacts }] : [];
  });
}

/** One pod template by id; throws when the fixture is missing so a typo cannot pass silently. */
export function fixtureTemplate(id: string): PodFacts {
  const found = fixtureTemplates().find((entry) => entry.id === id);
  if (found === undefined) throw new Error(`no fixture pod template ${id}`);
  return found.template;
}

/** Every Namespace in the fixtures, as Markers, keyed by file and name. */
export function fixtureNamespaces(): Array<{ id: string; markers: Markers }> {
  return objectsByFile()
    .filter(({ object }) => object.kind === "Namespace")
    .map(({ file, object }) => ({
      id: idOf(file, object),
      markers: markersOf(at(object, "metadata") as Parameters<typeof markersOf>[0]),
    }));
}

export interface FixtureObject {
  /** "<dir>/<file> <Kind>/<name>". */
  id: string;
  object: Record<string, unknown>;
}

/** Every object of these kinds in the fixtures (List items flattened), as parsed: share nothing, copy to change. */
export function fixtureObjects(kinds: readonly string[]): FixtureObject[] {
  return objectsByFile()
    .filter(({ object }) => kinds.includes(String(object.kind)))
    .map(({ file, object }) => ({ id: idOf(file, object), object }));
}
