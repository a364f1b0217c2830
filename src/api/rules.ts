// Cross-field rules of the MeshMigration spec, each written twice side by side: as a CEL
// expression the apiserver evaluates at `kubectl apply`, and as a TypeScript check parseSpec
// runs, so a cluster whose CRD lacks the CEL rules still cannot half-apply bad input.
// Keep both halves of a rule in step; the unit tests feed the same invalid examples to both.

import { PROTECTED_NAMESPACES, REVISIONED_MESHES } from "./constants.ts";

/** One entry of a schema node's x-kubernetes-validations. */
export interface CelValidation {
  rule: string;
  message: string;
  messageExpression?: string;
  /** Relative path (from the node carrying the rule) the apiserver reports the failure at. */
  fieldPath?: string;
  /** FieldValueDuplicate is left out on purpose: the apiserver drops the message for it. */
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired";
}

/** A rule failure found at run time; path is relative to the node the rule is attached to. */
export interface Violation {
  path: Array<string | number>;
  message: string;
}

export interface SpecRule<T> {
  /** Short kebab-case name; the invalid-migration fixtures are named after it. */
  id: string;
  cel: CelValidation;
  violations(value: T): Violation[];
}

interface MeshRefLike {
  mesh: string;
  revision?: string | undefined;
}
interface BatchLike {
  name: string;
  namespaces?: readonly string[] | undefined;
  namespaceSelector?: SelectorLike | undefined;
}
interface SelectorLike {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: readonly RequirementLike[] | undefined;
}
interface RequirementLike {
  operator: string;
  values?: readonly string[] | undefined;
}

const celString = (value: string): string => `'${value}'`;
const PROTECTED_LIST = PROTECTED_NAMESPACES.join(", ");
const hasItems = (list: readonly unknown[] | undefined): boolean => list !== undefined && list.length > 0;

const REVISIONED: readonly string[] = REVISIONED_MESHES;
const REVISIONED_LIST = REVISIONED.join(" or ");
const takesRevision = (mesh: string) => REVISIONED.includes(mesh);

const SOURCE_DIFFERS_MESSAGE =
  "spec.source and spec.target must differ (the same mesh is allowed only for a canary upgrade: " +
  `mesh ${REVISIONED_LIST} on both sides with different revisions)`;

export const sourceDiffersFromTarget: SpecRule<{ source: MeshRefLike; target: MeshRefLike }> = {
  id: "source-equals-target",
  cel: {
    // The has() guards keep a missing required field to its own "Required value" error.
    rule:
      "!has(self.source) || !has(self.target) || " +
      `self.source.mesh != self.target.mesh || (self.source.mesh in [${REVISIONED.map(celString).join(", ")}] && ` +
      "(has(self.source.revision) ? self.source.revision : '') != " +
      "(has(self.target.revision) ? self.target.revision : ''))",
    message: SOURCE_DIFFERS_MESSAGE,
  },
  violations: ({ source, target }) => {
    if (source.mesh !== target.mesh) return [];
    if (takesRevision(source.mesh) && (source.revision ?? "") !== (target.revision ?? "")) return [];
    return [{ path: [], message: SOURCE_DIFFERS_MESSAGE }];
  },
};

const REVISION_MESSAGE = `revision is only allowed when mesh is ${REVISIONED_LIST}`;

export const revisionOnlyForIstio: SpecRule<MeshRefLike> = {
  id: "revision-without-istio",
  cel: {
    rule: `self.mesh in [${REVISIONED.map(celString).join(", ")}] || !has(self.revision)`,
    message: REVISION_MESSAGE,
    fieldPath: ".revision",
    reason: "FieldValueForbidden",
  },
  violations: (ref) =>
    ref.revision !== undefined && !takesRevision(ref.mesh)
      ? [{ path: ["revision"], message: REVISION_MESSAGE }]
      : [],
};

const WAYPOINT_MESSAGE = "waypoint is only allowed when mesh is istio-ambient";

export const waypointOnlyForAmbient: SpecRule<MeshRefLike & { waypoint?: unknown }> = {
  id: "waypoint-without-ambient",
  cel: {
    rule: "self.mesh == 'istio-ambient' || !has(self.waypoint)",
    message: WAYPOINT_MESSAGE,
    fieldPath: ".waypoint",
    reason: "FieldValueForbidden",
  },
  violations: (ref) =>
    ref.waypoint !== undefined && ref.mesh !== "istio-ambient"
      ? [{ path: ["waypoint"], message: WAYPOINT_MESSAGE }]
      : [],
};

const UNIQUE_BATCH_NAMES_MESSAGE = "batch names must be unique";

export const uniqueBatchNames: SpecRule<readonly BatchLike[]> = {
  id: "duplicate-batch-names",
  cel: {
    rule: "self.all(b, self.exists_one(c, c.name == b.name))",
    message: UNIQUE_BATCH_NAMES_MESSAGE,
  },
  violations: (batches) => {
    const seen = new Set<string>();
    const found: Violation[] = [];
    batches.forEach((batch, index) => {
      if (seen.has(batch.name)) {
        found.push({
          path: [index, "name"],
          message: `${UNIQUE_BATCH_NAMES_MESSAGE}: "${batch.name}" is used more than once`,
        });
      }
      seen.add(batch.name);
    });
    return found;
  },
};

const ONE_BATCH_PER_NAMESPACE_MESSAGE = "a namespace may be listed in at most one batch";

export const namespaceInOneBatch: SpecRule<readonly BatchLike[]> = {
  id: "namespace-in-two-batches",
  cel: {
    // Each listed namespace is in exactly one batch's list (duplicates inside one list are
    // rejected by list-type set). Bounded by maxItems: 20 batches x 50 namespaces.
    rule:
      "self.all(b, !has(b.namespaces) || b.namespaces.all(n, " +
      "self.exists_one(c, has(c.namespaces) && n in c.namespaces)))",
    message: ONE_BATCH_PER_NAMESPACE_MESSAGE,
  },
  violations: (batches) => {
    const firstBatch = new Map<string, string>();
    const found: Violation[] = [];
    batches.forEach((batch, batchIndex) => {
      const listedHere = new Set<string>();
      (batch.namespaces ?? []).forEach((namespace, index) => {
        if (listedHere.has(namespace)) return; // a duplicate within one batch is reported by the set check
        listedHere.add(namespace);
        const earlier = firstBatch.get(namespace);
        if (earlier === undefined) {
          firstBatch.set(namespace, batch.name);
          return;
        }
        found.push({
          path: [batchIndex, "namespaces", index],
          message: `${ONE_BATCH_PER_NAMESPACE_MESSAGE}: "${namespace}" is in batches "${earlier}" and "${batch.name}"`,
        });
      });
    });
    return found;
  },
};

const protectedMessage = (namespace: string): string =>
  `namespace ${namespace} is protected and cannot be migrated (protected namespaces: ${PROTECTED_LIST})`;

export const notProtectedNamespace: SpecRule<string> = {
  id: "protected-namespace",
  cel: {
    rule: `!(self in [${PROTECTED_NAMESPACES.map(celString).join(", ")}])`,
    message: `protected namespaces cannot be migrated: ${PROTECTED_LIST}`,
    messageExpression: `'namespace ' + self + ' is protected and cannot be migrated (protected namespaces: ${PROTECTED_LIST})'`,
  },
  violations: (namespace) =>
    (PROTECTED_NAMESPACES as readonly string[]).includes(namespace)
      ? [{ path: [], message: protectedMessage(namespace) }]
      : [],
};

const STOP_AFTER_BATCH_MESSAGE = "stopAfterBatch must be the name of one of spec.batches";

export const stopAfterExistingBatch: SpecRule<{
  batches: readonly BatchLike[];
  stopAfterBatch?: string | undefined;
}> = {
  id: "stop-after-unknown-batch",
  cel: {
    rule: "!has(self.stopAfterBatch) || !has(self.batches) || self.batches.exists(b, b.name == self.stopAfterBatch)",
    message: STOP_AFTER_BATCH_MESSAGE,
    fieldPath: ".stopAfterBatch",
  },
  violations: ({ batches, stopAfterBatch }) =>
    stopAfterBatch === undefined || batches.some((batch) => batch.name === stopAfterBatch)
      ? []
      : [{ path: ["stopAfterBatch"], message: `${STOP_AFTER_BATCH_MESSAGE}; "${stopAfterBatch}" is not` }],
};

const BATCH_SELECTS_MESSAGE = "a batch must list namespaces or set a namespaceSelector";

export const batchSelectsNamespaces: SpecRule<BatchLike> = {
  id: "batch-without-namespaces",
  cel: {
    rule: "(has(self.namespaces) && size(self.namespaces) > 0) || has(self.namespaceSelector)",
    message: BATCH_SELECTS_MESSAGE,
  },
  violations: (batch) =>
    hasItems(batch.namespaces) || batch.namespaceSelector !== undefined
      ? []
      : [{ path: [], message: BATCH_SELECTS_MESSAGE }],
};

const EMPTY_SELECTOR_MESSAGE =
  "namespaceSelector must have matchLabels or matchExpressions: an empty selector would select every namespace";

export const selectorNotEmpty: SpecRule<SelectorLike> = {
  id: "empty-namespace-selector",
  cel: {
    rule:
      "(has(self.matchLabels) && size(self.matchLabels) > 0) || " +
      "(has(self.matchExpressions) && size(self.matchExpressions) > 0)",
    message: EMPTY_SELECTOR_MESSAGE,
  },
  violations: (selector) =>
    Object.keys(selector.matchLabels ?? {}).length > 0 || hasItems(selector.matchExpressions)
      ? []
      : [{ path: [], message: EMPTY_SELECTOR_MESSAGE }],
};

const REQUIREMENT_VALUES_MESSAGE =
  "values must be non-empty when operator is In or NotIn, and empty when it is Exists or DoesNotExist";

export const requirementValuesMatchOperator: SpecRule<RequirementLike> = {
  id: "selector-values-mismatch",
  cel: {
    rule:
      "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : " +
      "(!has(self.values) || size(self.values) == 0)",
    message: REQUIREMENT_VALUES_MESSAGE,
    fieldPath: ".values",
  },
  violations: (requirement) => {
    const needsValues = requirement.operator === "In" || requirement.operator === "NotIn";
    return needsValues === hasItems(requirement.values)
      ? []
      : [{ path: ["values"], message: REQUIREMENT_VALUES_MESSAGE }];
  },
};

/** Every rule above, for tests and documentation. */
export const SPEC_RULES: ReadonlyArray<SpecRule<never>> = [
  sourceDiffersFromTarget,
  revisionOnlyForIstio,
  waypointOnlyForAmbient,
  uniqueBatchNames,
  namespaceInOneBatch,
  notProtectedNamespace,
  stopAfterExistingBatch,
  batchSelectsNamespaces,
  selectorNotEmpty,
  requirementValuesMatchOperator,
];
