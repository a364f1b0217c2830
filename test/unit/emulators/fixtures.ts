// Reads the shared mesh fixtures (real injector inputs and outputs) for the emulator tests.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { V1ObjectMeta, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";

/** /work/shared/fixtures/meshes, found from this file: test/unit/emulators → repository → /work. */
const FIXTURE_DIR = fileURLToPath(new URL("../../../../shared/fixtures/meshes/", import.meta.url));

interface FixtureObject {
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: { template?: { metadata?: V1ObjectMeta; spec?: V1PodSpec } } & V1PodSpec;
}

export function fixtureObjects(file: string): FixtureObject[] {
  return parseAllDocuments(readFileSync(`${FIXTURE_DIR}${file}`, "utf8"))
    .map((document) => document.toJS() as FixtureObject | null)
    .filter((object): object is FixtureObject => object !== null);
}

/** The first object's pod (a Pod itself, or a workload's pod template) as a Pod. */
export function fixturePod(file: string): V1Pod {
  const [object] = fixtureObjects(file);
  if (!object) throw new Error(`${file} holds no object`);
  if (object.kind === "Pod") return { metadata: object.metadata ?? {}, spec: object.spec as V1PodSpec };
  const template = object.spec?.template;
  if (!template?.spec) throw new Error(`${file}: ${object.kind} has no pod template`);
  return { metadata: template.metadata ?? {}, spec: template.spec };
}

export function fixtureObject(file: string): FixtureObject {
  const [object] = fixtureObjects(file);
  if (!object) throw new Error(`${file} holds no object`);
  return object;
}

export const names = (containers: ReadonlyArray<{ name: string }> | undefined): string[] =>
  (containers ?? []).map((c) => c.name);
