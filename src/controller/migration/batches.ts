// Which namespaces each batch moves, and the rules that keep a batch from starting: a namespace
// that does not exist, is being deleted, or belongs to another migration.
import { PROTECTED_NAMESPACES } from "../../api/constants.ts";
import { matchesSelector } from "../../api/label-selector.ts";
import { OWNER_ANNOTATION } from "../bookkeeping.ts";
import type { NamespaceFacts } from "../facts.ts";
import type { Problem } from "../namespace/types.ts";
import type { MigrationSpecView, ResolvedBatch } from "./types.ts";

const PROTECTED = new Set<string>(PROTECTED_NAMESPACES);

/** Each batch's namespaces, in order: listed names, then selector matches; each namespace in its first batch only. */
export function resolveBatches(
  spec: MigrationSpecView,
  namespaces: ReadonlyMap<string, NamespaceFacts>,
): ResolvedBatch[] {
  const claimed = new Set<string>();
  return spec.batches.map((batch) => {
    const names: string[] = [];
    const missing = new Set<string>();
    const add = (name: string) => {
      if (claimed.has(name) || PROTECTED.has(name)) return;
      claimed.add(name);
      names.push(name);
    };
    for (const name of batch.namespaces ?? []) {
      if (!namespaces.has(name)) missing.add(name);
      add(name);
    }
    if (batch.namespaceSelector) {
      const selector = batch.namespaceSelector;
      [...namespaces.values()]
        .filter((ns) => !ns.terminating && matchesSelector(ns.markers.labels, selector))
        .map((ns) => ns.name)
        .sort()
        .forEach(add);
    }
    return { name: batch.name, namespaces: names, missing };
  });
}

/** A namespace the batch rules keep from starting, and why. */
export interface BatchNamespaceProblem {
  namespace: string;
  reason: "NamespaceNotFound" | "NamespaceTerminating" | "NamespaceOwnedByAnotherMigration";
  message: string;
}

/**
 * What keeps a batch from starting, namespace by namespace: it does not exist, it is being
 * deleted, or another migration owns it. The planner holds the whole batch on any of them; the
 * whole plan reports each.
 */
export function batchNamespaceProblems(
  batch: ResolvedBatch,
  namespaces: ReadonlyMap<string, NamespaceFacts>,
  migration: string,
): BatchNamespaceProblem[] {
  return batch.namespaces.flatMap((name): BatchNamespaceProblem[] => {
    const ns = namespaces.get(name);
    if (!ns || batch.missing.has(name)) {
      return [
        {
          namespace: name,
          reason: "NamespaceNotFound",
          message: `Namespace ${name} does not exist. Create it, or remove it from spec.batches.`,
        },
      ];
    }
    const owner = ns.markers.annotations[OWNER_ANNOTATION];
    if (owner !== undefined && owner !== migration) {
      return [
        {
          namespace: name,
          reason: "NamespaceOwnedByAnotherMigration",
          message: `Namespace ${name} is being migrated by MeshMigration ${owner}; remove it from one of the two migrations.`,
        },
      ];
    }
    if (ns.terminating && owner === undefined) {
      return [
        {
          namespace: name,
          reason: "NamespaceTerminating",
          message: `Namespace ${name} is being deleted; remove it from spec.batches.`,
        },
      ];
    }
    return [];
  });
}

/** The batches this migration has changed a namespace of. */
export function startedBatches(
  batches: readonly ResolvedBatch[],
  namespaces: ReadonlyMap<string, NamespaceFacts>,
  migration: string,
): Set<string> {
  const ours = (name: string) => namespaces.get(name)?.markers.annotations[OWNER_ANNOTATION] === migration;
  return new Set(batches.filter((b) => b.namespaces.some(ours)).map((b) => b.name));
}

/** The batch rules' problems as the one reason the batch holds. */
export function batchHold(
  batch: ResolvedBatch,
  problems: readonly BatchNamespaceProblem[],
): Problem | undefined {
  const named = (reason: BatchNamespaceProblem["reason"]) =>
    problems.filter((p) => p.reason === reason).map((p) => p.namespace);
  const missing = named("NamespaceNotFound");
  const foreign = named("NamespaceOwnedByAnotherMigration");
  const terminating = named("NamespaceTerminating");
  if (missing.length > 0) {
    return {
      reason: "NamespaceNotFound",
      message:
        `Batch ${batch.name} names namespace(s) that do not exist: ${missing.join(", ")}. Nothing in the batch ` +
        "was changed. Create them, or remove them from spec.batches.",
      halts: false,
    };
  }
  if (foreign.length > 0) {
    return {
      reason: "NamespaceOwnedByAnotherMigration",
      message:
        `Batch ${batch.name}: namespace(s) ${foreign.join(", ")} are being migrated by another MeshMigration ` +
        "(see their meshmigration.io/owner annotation). Nothing in the batch was changed; remove them from one " +
        "of the two migrations.",
      halts: false,
    };
  }
  if (terminating.length > 0) {
    return {
      reason: "NamespaceTerminating",
      message:
        `Batch ${batch.name}: namespace(s) ${terminating.join(", ")} are being deleted. Nothing in the batch was ` +
        "changed; remove them from spec.batches.",
      halts: false,
    };
  }
  return undefined;
}
