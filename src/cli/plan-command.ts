// `mesh-migration-operator plan -f migration.yaml`: the whole plan and the preflight warnings
// for a MeshMigration, read from the cluster without the operator installed and without
// changing anything. Exit codes: 0 nothing stops it, 2 blocked, 1 bad input or cluster error.
import { readFile } from "node:fs/promises";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { API_VERSION, KIND } from "../api/constants.ts";
import {
  type MeshMigrationSpec,
  type MigrationOutline,
  type MigrationWarning,
  parseSpec,
} from "../api/schema.ts";
import { type ClusterReadings, migrationFacts } from "../controller/cluster-facts.ts";
import type { NamespaceFacts } from "../controller/facts.ts";
import { resolveBatches } from "../controller/migration/batches.ts";
import { namespaceFacts } from "../controller/observe.ts";
import { planWholeMigration } from "../controller/whole-plan.ts";
import { withComparableRevisions } from "../meshes/registry.ts";
import { preflightReadsAllPods } from "../preflight/index.ts";
import { ClusterReadError, ClusterReader, type ClusterSnapshot } from "./cluster-reader.ts";
import { renderJson, renderTable } from "./render.ts";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_BLOCKED = 2;

export type OutputFormat = "table" | "json";

export interface PlanOptions {
  /** The manifest to plan; "-" reads standard input. */
  file: string;
  output: OutputFormat;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

export type LoadedManifest =
  | { ok: true; name: string | undefined; spec: unknown }
  | { ok: false; error: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Finds the MeshMigration in a YAML or JSON file: one `kind: MeshMigration` document, or a
 * single document that is the spec itself (with or without a `spec:` wrapper).
 */
export function loadManifest(text: string, source: string): LoadedManifest {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return { ok: false, error: `${source} is empty` };
  const broken = documents.find((doc) => doc.errors.length > 0);
  if (broken) return { ok: false, error: `${source} is not valid YAML: ${broken.errors[0]?.message}` };
  const values: unknown[] = documents.map((doc) => doc.toJS()).filter((value) => value != null);

  const migrations = values.filter((value) => isObject(value) && value.kind === KIND) as Array<
    Record<string, unknown>
  >;
  if (migrations.length > 1) {
    return { ok: false, error: `${source} holds ${migrations.length} MeshMigrations: plan one at a time` };
  }
  const [migration] = migrations;
  if (migration) {
    if (migration.apiVersion !== undefined && migration.apiVersion !== API_VERSION) {
      return {
        ok: false,
        error: `${source}: apiVersion ${String(migration.apiVersion)} is not ${API_VERSION}`,
      };
    }
    if (migration.spec === undefined) return { ok: false, error: `${source}: the MeshMigration has no spec` };
    const metadata = isObject(migration.metadata) ? migration.metadata : {};
    return {
      ok: true,
      name: typeof metadata.name === "string" ? metadata.name : undefined,
      spec: migration.spec,
    };
  }
  const [only] = values;
  if (values.length === 1 && isObject(only) && only.kind === undefined) {
    return { ok: true, name: undefined, spec: "spec" in only ? only.spec : only };
  }
  return { ok: false, error: `${source} holds no MeshMigration (expected kind: ${KIND})` };
}

/** The namespaces the migration moves, as the planner resolves them. */
export function movingNamespaceNames(spec: MeshMigrationSpec, snapshot: ClusterSnapshot): string[] {
  return resolveBatches(spec, namespaceMap(snapshot)).flatMap((batch) => batch.namespaces);
}

function namespaceMap(snapshot: ClusterSnapshot): Map<string, NamespaceFacts> {
  return new Map(snapshot.namespaces.map((ns) => [ns.metadata?.name ?? "", namespaceFacts(ns)]));
}

function byNamespace<T extends { metadata?: { namespace?: string | undefined } | undefined }>(
  items: readonly T[],
): (namespace: string) => T[] {
  const grouped = new Map<string, T[]>();
  for (const item of items) {
    const namespace = item.metadata?.namespace ?? "";
    grouped.set(namespace, [...(grouped.get(namespace) ?? []), item]);
  }
  return (namespace) => grouped.get(namespace) ?? [];
}

/** A snapshot and the pods of the moving namespaces, as the readings the operator plans from too. */
function snapshotReadings(
  snapshot: ClusterSnapshot,
  pods: ReadonlyMap<string, k8s.V1Pod[]>,
): ClusterReadings {
  const find = <T extends { metadata?: { name?: string; namespace?: string } }>(
    items: readonly T[],
    namespace: string,
    name: string,
  ) => items.find((item) => item.metadata?.namespace === namespace && item.metadata?.name === name);
  return {
    namespaces: snapshot.namespaces,
    deploymentsIn: byNamespace(snapshot.deployments),
    statefulSetsIn: byNamespace(snapshot.statefulSets),
    daemonSetsIn: byNamespace(snapshot.daemonSets),
    podsIn: (namespace) => pods.get(namespace) ?? [],
    deployment: (namespace, name) => find(snapshot.deployments, namespace, name),
    daemonSet: (namespace, name) => find(snapshot.daemonSets, namespace, name),
    webhooks: snapshot.webhooks,
    policies: snapshot.policies,
    unreadablePolicies: snapshot.unreadablePolicies,
  };
}

/**
 * The plan and the preflight warnings for a spec, from a snapshot of the cluster. Pure: the
 * facts come from migrationFacts, as the operator's do.
 */
export function planFromSnapshot(input: {
  migration: string | undefined;
  spec: MeshMigrationSpec;
  snapshot: ClusterSnapshot;
  pods: ReadonlyMap<string, k8s.V1Pod[]>;
}): { outline: MigrationOutline; warnings: MigrationWarning[] } {
  const spec = withComparableRevisions(input.spec);
  const facts = migrationFacts(spec, snapshotReadings(input.snapshot, input.pods));
  const outline = planWholeMigration({
    migration: input.migration,
    spec,
    ...facts,
    now: new Date(),
  });
  return { outline, warnings: facts.warnings };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function kubeConfigFor(options: Pick<PlanOptions, "kubeconfig" | "context">): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (options.context) kubeConfig.setCurrentContext(options.context);
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error(
      options.context
        ? `context ${options.context} names no cluster`
        : "the kubeconfig has no current cluster",
    );
  }
  return kubeConfig;
}

export async function runPlan(options: PlanOptions, io: CliIo): Promise<number> {
  const source = options.file === "-" ? "standard input" : options.file;
  let text: string;
  try {
    text = options.file === "-" ? await io.readStdin() : await readFile(options.file, "utf8");
  } catch (error) {
    io.stderr(`error: cannot read ${source}: ${messageOf(error)}\n`);
    return EXIT_ERROR;
  }
  const manifest = loadManifest(text, source);
  if (!manifest.ok) {
    io.stderr(`error: ${manifest.error}\n`);
    return EXIT_ERROR;
  }
  const parsed = parseSpec(manifest.spec);
  if (!parsed.ok) {
    io.stderr(
      `error: ${source} is not a valid MeshMigration; nothing was read from the cluster:\n` +
        parsed.errors.map((error) => `  - ${error}\n`).join(""),
    );
    return EXIT_ERROR;
  }

  let kubeConfig: k8s.KubeConfig;
  try {
    kubeConfig = kubeConfigFor(options);
  } catch (error) {
    const which = options.kubeconfig ? ` ${options.kubeconfig}` : "";
    io.stderr(`error: cannot load the kubeconfig${which}: ${messageOf(error)}\n`);
    return EXIT_ERROR;
  }
  let result: ReturnType<typeof planFromSnapshot>;
  try {
    const reader = new ClusterReader(kubeConfig);
    const snapshot = await reader.snapshot();
    const pods = preflightReadsAllPods(parsed.spec.target)
      ? await reader.allPods()
      : await reader.podsIn(movingNamespaceNames(parsed.spec, snapshot));
    result = planFromSnapshot({ migration: manifest.name, spec: parsed.spec, snapshot, pods });
  } catch (error) {
    const reason =
      error instanceof ClusterReadError ? error.message : `cannot read the cluster: ${messageOf(error)}`;
    io.stderr(`error: ${reason}\n`);
    return EXIT_ERROR;
  }

  io.stdout(
    options.output === "json"
      ? renderJson(result.outline)
      : renderTable(result.outline, { migration: manifest.name, spec: parsed.spec }),
  );
  return result.outline.blocked ? EXIT_BLOCKED : EXIT_OK;
}
