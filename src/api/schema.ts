// The MeshMigration API, defined once: these zod schemas validate specs at run time (parseSpec),
// give the TypeScript types (z.infer) and generate the CRD's OpenAPI schema (crd.ts).
// Descriptions are what `kubectl explain meshmigration.spec...` shows a platform engineer.

import { z } from "zod";
import { MESH_NAMES, PROTECTED_NAMESPACES } from "./constants.ts";
import {
  batchSelectsNamespaces,
  namespaceInOneBatch,
  notProtectedNamespace,
  requirementValuesMatchOperator,
  revisionOnlyForIstio,
  type SpecRule,
  selectorNotEmpty,
  sourceDiffersFromTarget,
  stopAfterExistingBatch,
  uniqueBatchNames,
  waypointOnlyForAmbient,
} from "./rules.ts";
import { patternRule } from "./structural.ts";

// Limits that keep the CEL rules' estimated cost within the apiserver's budget.
export const MAX_BATCHES = 20;
export const MAX_NAMESPACES_PER_BATCH = 50;
const MAX_SELECTOR_REQUIREMENTS = 20;
const MAX_SELECTOR_VALUES = 50;

// Patterns are anchored and RE2-compatible: the apiserver matches them with Go's regexp.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A selector's matchLabels, bounded so the apiserver can cost its CEL key check. */
const MAX_MATCH_LABELS = 64;
const DURATION = /^([0-9]+h([0-9]+m)?([0-9]+s)?|[0-9]+m([0-9]+s)?|[0-9]+s)$/;
/** The same sentence from the CLI, the operator and the apiserver (the CRD's rule). */
const DURATION_MESSAGE = 'must be a duration such as "90s", "10m" or "1h30m"';
const CONDITION_TYPE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const CONDITION_REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** Adds the run-time half of each rule as a refinement (the CEL half goes in celRules()). */
function enforce<T extends z.ZodType>(schema: T, rules: ReadonlyArray<SpecRule<z.output<T>>>): T {
  return schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      for (const violation of rule.violations(value)) {
        ctx.addIssue({ code: "custom", message: violation.message, path: violation.path, input: value });
      }
    }
  });
}

/** The CEL half of each rule, as metadata that toJSONSchema copies into the CRD. */
function celRules(rules: ReadonlyArray<SpecRule<never>>): { "x-kubernetes-validations": unknown[] } {
  return { "x-kubernetes-validations": rules.map((rule) => rule.cel) };
}

/** A list whose items must be unique: x-kubernetes-list-type set in the CRD, checked here too. */
function uniqueList(item: z.ZodString, maxItems: number, description: string) {
  return z
    .array(item)
    .max(maxItems, { error: `must have at most ${maxItems} items` })
    .superRefine((items, ctx) => {
      items.forEach((value, index) => {
        if (items.indexOf(value) !== index) {
          ctx.addIssue({
            code: "custom",
            message: `duplicate value "${value}"`,
            path: [index],
            input: value,
          });
        }
      });
    })
    .meta({ description, "x-kubernetes-list-type": "set" });
}

const dnsLabel = () =>
  z.string().max(63, { error: "must be at most 63 characters" }).regex(DNS_LABEL, {
    error:
      "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  });

const labelValue = () =>
  z.string().max(63, { error: "must be at most 63 characters" }).regex(LABEL_VALUE, {
    error:
      "must be a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
  });

// ---------------------------------------------------------------------------------------------
// Spec

const meshRefFields = {
  mesh: z.enum(MESH_NAMES).meta({
    description:
      "The mesh: istio (sidecar injection), istio-ambient (ztunnel, no sidecars), linkerd, " +
      "or none (not meshed; use it to onboard workloads into a mesh or to take them out).",
  }),
  revision: labelValue()
    .optional()
    .meta({
      description:
        "Istio control-plane revision (the istio.io/rev label value, e.g. 1-24). Only allowed with " +
        "mesh istio. Leave it out to use the default injector (istio-injection=enabled).",
    }),
};

export const MeshRefSchema = enforce(z.object(meshRefFields), [revisionOnlyForIstio]).meta({
  description: "A mesh, and for Istio optionally its control-plane revision.",
  ...celRules([revisionOnlyForIstio]),
});

export const WaypointSchema = z
  .object({
    name: dnsLabel().meta({
      description:
        "Name of the waypoint: a Gateway (gateway.networking.k8s.io) of gatewayClassName istio-waypoint " +
        "in each namespace the migration moves, the same name in every one of them (e.g. waypoint).",
    }),
    create: z
      .boolean()
      .optional()
      .meta({
        description:
          "When true, the operator creates the waypoint in each namespace (recorded as its own, removed on " +
          "rollback) before the namespace joins ambient. When false or unset, the waypoint must already " +
          "exist in each namespace: the preflight blocks on a namespace without it.",
      }),
  })
  .meta({
    description:
      "The waypoint proxy each moved namespace uses (istio.io/use-waypoint), set up before the namespace " +
      "joins ambient, as Istio's sidecar-to-ambient guide orders it. ztunnel enforces only L4; L7 " +
      "AuthorizationPolicy, RequestAuthentication, WasmPlugin and HTTP routing need a waypoint. " +
      "Only allowed with mesh istio-ambient.",
  });

export const TargetMeshRefSchema = enforce(
  z.object({ ...meshRefFields, waypoint: WaypointSchema.optional() }),
  [revisionOnlyForIstio, waypointOnlyForAmbient],
).meta({
  description:
    "A mesh, for Istio optionally its control-plane revision, and for Istio ambient optionally the " +
    "waypoint of each moved namespace.",
  ...celRules([revisionOnlyForIstio, waypointOnlyForAmbient]),
});

export const LabelSelectorRequirementSchema = enforce(
  z.object({
    key: z
      .string()
      .max(317, { error: "must be at most 317 characters" })
      .regex(LABEL_KEY, { error: "must be a label key such as team or example.com/team" })
      .meta({ description: "The namespace label key the requirement applies to." }),
    operator: z
      .enum(["In", "NotIn", "Exists", "DoesNotExist"])
      .meta({ description: "How the key relates to values: In, NotIn, Exists or DoesNotExist." }),
    values: z
      .array(labelValue())
      .max(MAX_SELECTOR_VALUES, { error: `must have at most ${MAX_SELECTOR_VALUES} items` })
      .optional()
      .meta({ description: "Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist." }),
  }),
  [requirementValuesMatchOperator],
).meta({
  description: "One requirement on a namespace label.",
  ...celRules([requirementValuesMatchOperator]),
});

export const LabelSelectorSchema = enforce(
  z.object({
    matchLabels: z
      .record(z.string(), labelValue())
      // Keys are checked here rather than in the record's key schema, whose failure would stop
      // the spec-level rules from running (and the CRD cannot check map keys without CEL anyway).
      .superRefine((labels, ctx) => {
        for (const key of Object.keys(labels)) {
          if (!LABEL_KEY.test(key) || key.length > 317) {
            ctx.addIssue({
              code: "custom",
              message: "must be a label key such as team or example.com/team",
              path: [key],
              input: key,
            });
          }
        }
      })
      .refine((labels) => Object.keys(labels).length <= MAX_MATCH_LABELS, {
        error: `must have at most ${MAX_MATCH_LABELS} labels`,
      })
      .optional()
      .meta({
        description: "Namespaces whose labels include all of these key-value pairs.",
        maxProperties: MAX_MATCH_LABELS,
        // The same key check on the apiserver (a CEL string literal doubles the regex's backslashes).
        "x-kubernetes-validations": [
          {
            rule: `self.all(k, size(k) <= 317 && k.matches('${LABEL_KEY.source.replaceAll("\\", "\\\\")}'))`,
            message: "must be a label key such as team or example.com/team",
          },
        ],
      }),
    matchExpressions: z
      .array(LabelSelectorRequirementSchema)
      .max(MAX_SELECTOR_REQUIREMENTS, { error: `must have at most ${MAX_SELECTOR_REQUIREMENTS} items` })
      .optional()
      .meta({ description: "Requirements on namespace labels; all of them must hold." }),
  }),
  [selectorNotEmpty],
).meta({
  description:
    "Selects namespaces by label, like a Deployment's selector. It must not be empty (an empty " +
    "selector would select every namespace). Protected namespaces are never selected.",
  ...celRules([selectorNotEmpty]),
});

const namespaceName = () =>
  enforce(dnsLabel(), [notProtectedNamespace]).meta({
    description: "A namespace name.",
    ...celRules([notProtectedNamespace]),
  });

export const BatchSchema = enforce(
  z.object({
    name: dnsLabel().meta({
      description:
        "Name of the batch, unique within the migration (a DNS-1123 label, e.g. canary or wave-1).",
    }),
    namespaces: uniqueList(
      namespaceName(),
      MAX_NAMESPACES_PER_BATCH,
      `Namespaces in this batch, by name (at most ${MAX_NAMESPACES_PER_BATCH}). A namespace may ` +
        `appear in only one batch; protected namespaces (${PROTECTED_NAMESPACES.join(", ")}) are rejected.`,
    ).optional(),
    namespaceSelector: LabelSelectorSchema.optional(),
  }),
  [batchSelectsNamespaces],
).meta({
  description:
    "A group of namespaces migrated together. Batches run in order; a batch starts only when " +
    "every namespace of the previous one is migrated. Set namespaces, namespaceSelector or both.",
  ...celRules([batchSelectsNamespaces]),
});

export const WORKLOAD_OVERRIDE_POLICIES = ["Rewrite", "Fail"] as const;

/**
 * Upper bounds on concurrency: one reconcile carries out at most their product of restarts, and a
 * pause must stop a migration within one write, so neither may be unbounded.
 */
export const MAX_CONCURRENT_NAMESPACES = 50;
export const MAX_CONCURRENT_ROLLOUTS = 50;

export const StrategySchema = z
  .object({
    maxConcurrentNamespaces: z
      .int32()
      .min(1, { error: "must be at least 1" })
      .max(MAX_CONCURRENT_NAMESPACES, { error: `must be at most ${MAX_CONCURRENT_NAMESPACES}` })
      .default(1)
      .meta({
        description: `How many namespaces of a batch are migrated at the same time (1 to ${MAX_CONCURRENT_NAMESPACES}).`,
      }),
    maxConcurrentRollouts: z
      .int32()
      .min(1, { error: "must be at least 1" })
      .max(MAX_CONCURRENT_ROLLOUTS, { error: `must be at most ${MAX_CONCURRENT_ROLLOUTS}` })
      .default(5)
      .meta({
        description: `How many workloads restart at the same time, per namespace (1 to ${MAX_CONCURRENT_ROLLOUTS}).`,
      }),
    rolloutTimeout: z
      .string()
      .max(20, { error: "must be at most 20 characters" })
      .regex(DURATION, { error: DURATION_MESSAGE })
      .default("10m")
      .meta({
        "x-kubernetes-validations": [patternRule(DURATION.source, DURATION_MESSAGE)],
        description:
          'How long one workload may take to roll out (e.g. "90s", "10m", "1h30m"). When exceeded ' +
          "the migration is marked Degraded and halts.",
      }),
    workloadOverrides: z
      .enum(WORKLOAD_OVERRIDE_POLICIES)
      .default("Rewrite")
      .meta({
        description:
          "What to do with pod templates that opt in to the source mesh themselves (e.g. " +
          "sidecar.istio.io/inject or linkerd.io/inject): Rewrite them to the target mesh, recording " +
          "the originals for rollback, or Fail (report them and change nothing in that namespace).",
      }),
    blockOnWarnings: z
      .boolean()
      .default(true)
      .meta({
        description:
          "Whether a blocking preflight warning (e.g. STRICT mTLS that the other mesh cannot satisfy) " +
          "stops the migration before a namespace is touched.",
      }),
  })
  .prefault({})
  .meta({ description: "How fast the migration moves and how it treats surprises." });

export const MeshMigrationSpecSchema = enforce(
  z.object({
    source: MeshRefSchema.meta({ description: "The mesh the namespaces are in now." }),
    target: TargetMeshRefSchema.meta({ description: "The mesh the namespaces move to." }),
    batches: enforce(
      z
        .array(BatchSchema)
        .min(1, { error: "must list at least one batch" })
        .max(MAX_BATCHES, { error: `must have at most ${MAX_BATCHES} items` }),
      [uniqueBatchNames, namespaceInOneBatch],
    ).meta({
      description: `The namespaces to migrate, in ordered batches (1 to ${MAX_BATCHES}).`,
      ...celRules([uniqueBatchNames, namespaceInOneBatch]),
    }),
    strategy: StrategySchema,
    stopAfterBatch: dnsLabel()
      .optional()
      .meta({
        description:
          "A gate: migrate up to and including this batch, then hold (phase Holding). Move it " +
          "forward, or remove it, to continue.",
      }),
    paused: z
      .boolean()
      .default(false)
      .meta({ description: "When true, nothing new starts; steps already in flight settle." }),
    rollback: z
      .boolean()
      .default(false)
      .meta({
        description:
          "When true, every namespace this migration touched returns to its recorded original " +
          "labels, annotations and pod templates. Set it back to false to go forward again.",
      }),
    dryRun: z
      .boolean()
      .default(false)
      .meta({ description: "When true, only compute the plan and publish it in status; change nothing." }),
  }),
  [sourceDiffersFromTarget, stopAfterExistingBatch],
).meta({
  description: "What to migrate, from which mesh to which, and how.",
  ...celRules([sourceDiffersFromTarget, stopAfterExistingBatch]),
});

// ---------------------------------------------------------------------------------------------
// Status

export const PHASES = [
  "Pending",
  "Planning",
  "Progressing",
  "Paused",
  "Holding",
  "Succeeded",
  "Failed",
  "RollingBack",
  "RolledBack",
] as const;

export const NAMESPACE_PHASES = [
  "Pending",
  "Blocked",
  "Relabelled",
  "Restarting",
  "Verifying",
  "Migrated",
  "Failed",
  "RollingBack",
  "RolledBack",
] as const;

export const BATCH_PHASES = [
  "Pending",
  "Blocked",
  "InProgress",
  "Migrated",
  "Failed",
  "RollingBack",
  "RolledBack",
] as const;

export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;

export const WARNING_SEVERITIES = ["Blocking", "Warning"] as const;

export const ConditionSchema = z
  .object({
    type: z.string().max(316).regex(CONDITION_TYPE).meta({
      description: "Condition type: Ready, Progressing, Paused, Degraded, DoubleMeshDetected or InvalidSpec.",
    }),
    status: z.enum(CONDITION_STATUSES).meta({ description: "True, False or Unknown." }),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .meta({ description: "The .metadata.generation the condition was set for." }),
    lastTransitionTime: z.iso
      .datetime({ offset: true })
      .meta({ description: "When the condition last changed status.", format: "date-time" }),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(CONDITION_REASON)
      .meta({ description: "Why the condition has this status, in CamelCase (e.g. TargetMeshNotReady)." }),
    message: z.string().max(32768).meta({ description: "What happened, for a human." }),
  })
  .meta({ description: "A standard Kubernetes condition (metav1.Condition)." });

const count = (description: string) => z.int32().min(0).meta({ description });

export const BatchStatusSchema = z
  .object({
    name: z.string().meta({ description: "Batch name." }),
    phase: z.enum(BATCH_PHASES).meta({ description: "Where the batch stands." }),
    namespaces: z.array(z.string()).meta({
      description: "Namespaces the batch resolved to (listed and selected).",
      "x-kubernetes-list-type": "set",
    }),
    migrated: count("How many of them are migrated."),
  })
  .meta({ description: "Progress of one batch." });

export const NamespaceStatusSchema = z
  .object({
    name: z.string().meta({ description: "Namespace name." }),
    batch: z.string().meta({ description: "The batch the namespace belongs to." }),
    phase: z.enum(NAMESPACE_PHASES).meta({ description: "Where the namespace stands." }),
    workloads: z
      .object({
        total: count("Workloads (Deployments, StatefulSets, DaemonSets) in the namespace."),
        restarted: count("Workloads restarted into the target mesh."),
        ready: count("Restarted workloads whose rollout completed."),
      })
      .meta({ description: "Workload counts." }),
    pods: z
      .object({
        target: count("Pods meshed by the target mesh."),
        source: count("Pods still meshed by the source mesh."),
        unmeshed: count("Pods meshed by neither."),
        doubleMeshed: count("Pods carrying two meshes' proxies. Must be 0."),
      })
      .meta({ description: "Pod counts, read from the pods themselves (containers and init containers)." }),
    doubleMeshedPods: z
      .array(z.string())
      .optional()
      .meta({ description: "Names of double-meshed pods, if any." }),
    unmanagedPods: z.array(z.string()).optional().meta({
      description:
        "Pods the operator does not restart (bare pods, Job pods): reported so you can recreate them yourself.",
    }),
    message: z
      .string()
      .optional()
      .meta({ description: "What the namespace is waiting for, or what went wrong." }),
  })
  .meta({ description: "Progress of one namespace." });

export const MigrationWarningSchema = z
  .object({
    code: z.string().meta({ description: "Machine-readable warning code, in CamelCase." }),
    severity: z
      .enum(WARNING_SEVERITIES)
      .meta({ description: "Blocking warnings stop the migration while strategy.blockOnWarnings is true." }),
    namespace: z.string().optional().meta({ description: "The namespace the warning is about, if any." }),
    message: z.string().meta({ description: "What the problem is and how to fix it." }),
  })
  .meta({ description: "A preflight finding, e.g. cross-mesh traffic that mTLS policy would reject." });

// The whole plan, as published in status.plan for spec.dryRun: true and printed by
// `mesh-migration-operator plan`. Compact on purpose: string lists and small objects.

/** Longest list of names (pods, blockers, warnings) kept in a plan; the rest is counted in a last entry. */
export const MAX_PLAN_LIST_ITEMS = 100;

const markerEdits = (what: string) =>
  z.array(z.string()).meta({
    description:
      `${what} to set ("key=value") or remove ("key-"), written as kubectl label and kubectl annotate ` +
      "take them.",
  });

export const PlannedNamespaceChangeSchema = z
  .object({
    step: z.string().meta({ description: "When the change is made and why." }),
    labels: markerEdits("Namespace labels"),
    annotations: markerEdits("Namespace annotations"),
  })
  .meta({ description: "One patch of the namespace's labels and annotations." });

export const PlannedTemplateRewriteSchema = z
  .object({
    workload: z.string().meta({ description: "The workload, as kind/name (e.g. deployment/web)." }),
    labels: markerEdits("Pod-template labels"),
    annotations: markerEdits("Pod-template annotations"),
  })
  .meta({
    description:
      "A pod-template opt-in rewritten together with the workload's restart (the originals are recorded on " +
      "the workload for rollback).",
  });

export const PlannedSkipSchema = z
  .object({
    workload: z.string().meta({ description: "The workload, as kind/name." }),
    reason: z.string().meta({ description: "Why it is not restarted." }),
  })
  .meta({ description: "A workload the migration leaves running as it is." });

export const NamespaceOutlineSchema = z
  .object({
    name: z.string().meta({ description: "Namespace name." }),
    exists: z.boolean().meta({ description: "Whether the namespace exists in the cluster." }),
    meshes: z.array(z.string()).meta({
      description: "The meshes whose markers enroll new pods in this namespace now (empty: none).",
    }),
    changes: z.array(PlannedNamespaceChangeSchema).meta({
      description: "The namespace patches, in order (nothing when the namespace already enrolls the target).",
    }),
    templateRewrites: z
      .array(PlannedTemplateRewriteSchema)
      .meta({ description: "Pod-template opt-ins of the source mesh that are rewritten, per workload." }),
    restartWaves: z.array(z.array(z.string()).meta({ description: "One wave, as kind/name." })).meta({
      description:
        "Workloads (kind/name) to restart, in the order they start, grouped in waves of at most " +
        "strategy.maxConcurrentRollouts; the next workload starts as soon as a running rollout completes.",
    }),
    notRestarted: z
      .array(PlannedSkipSchema)
      .meta({ description: "Workloads that are not restarted, each with the reason." }),
    unmanagedPods: z
      .array(z.string())
      .max(MAX_PLAN_LIST_ITEMS)
      .meta({
        description:
          "Pods the operator cannot restart (bare pods, Job pods, pods of other controllers): recreate them " +
          "yourself after the namespace has moved.",
      }),
    note: z.string().optional().meta({ description: "Anything else worth knowing about this namespace." }),
  })
  .meta({ description: "What the migration will do to one namespace." });

export const BatchOutlineSchema = z
  .object({
    name: z.string().meta({ description: "Batch name." }),
    held: z.boolean().meta({
      description:
        "True for batches after spec.stopAfterBatch: planned, but not started until the gate moves.",
    }),
    namespaces: z
      .array(NamespaceOutlineSchema)
      .meta({ description: "The batch's namespaces, in the order they are migrated." }),
  })
  .meta({ description: "One batch of the plan." });

export const PlanBlockerSchema = z
  .object({
    reason: z
      .string()
      .meta({ description: "Machine-readable reason, in CamelCase (e.g. NamespaceNotFound)." }),
    namespace: z.string().optional().meta({ description: "The namespace it concerns, if any." }),
    message: z.string().meta({ description: "What stops the migration and how to fix it." }),
  })
  .meta({ description: "Something that stops the migration before it changes anything it concerns." });

export const MigrationOutlineSchema = z
  .object({
    source: z.string().meta({ description: "The source mesh (and revision)." }),
    target: z.string().meta({ description: "The target mesh (and revision)." }),
    blocked: z.boolean().meta({
      description:
        "True when a blocker, or a Blocking warning while strategy.blockOnWarnings is true, would stop the " +
        "migration.",
    }),
    summary: z.string().meta({ description: "The plan in one sentence." }),
    batches: z.array(BatchOutlineSchema).meta({ description: "Every batch, in order." }),
    blockers: z
      .array(PlanBlockerSchema)
      .max(MAX_PLAN_LIST_ITEMS)
      .meta({ description: "What stops the migration (missing namespaces, target not ready...)." }),
    warnings: z.array(MigrationWarningSchema).max(MAX_PLAN_LIST_ITEMS).meta({
      description: "Preflight findings about cross-mesh traffic and workloads the mesh cannot take.",
    }),
  })
  .meta({ description: "The whole migration, planned from the cluster as it is: nothing was changed." });

export const MeshMigrationStatusSchema = z
  .object({
    phase: z.enum(PHASES).optional().meta({ description: "Where the migration stands." }),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .meta({ description: "The .metadata.generation this status was computed from." }),
    currentBatch: z.string().optional().meta({ description: "The batch being migrated (or rolled back)." }),
    direction: z.enum(["Forward", "Rollback"]).optional().meta({
      description:
        "Which way the namespaces are moving: Forward (source to target) or Rollback (back to what was recorded).",
    }),
    progress: z.string().optional().meta({
      description: 'Namespaces done in the current direction over total, e.g. "3/10" (see direction).',
    }),
    migratedNamespaces: count("Namespaces migrated so far.").optional(),
    totalNamespaces: count("Namespaces in all batches.").optional(),
    doubleMeshedPods: count(
      "Pods carrying two meshes' proxies, across all namespaces. Must be 0.",
    ).optional(),
    conditions: z
      .array(ConditionSchema)
      .optional()
      .meta({
        description: "Ready, Progressing, Paused, Degraded, DoubleMeshDetected, InvalidSpec.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
      }),
    batches: z.array(BatchStatusSchema).optional().meta({ description: "Progress of each batch, in order." }),
    namespaces: z
      .array(NamespaceStatusSchema)
      .optional()
      .meta({ description: "Progress of each namespace." }),
    warnings: z.array(MigrationWarningSchema).optional().meta({ description: "Preflight findings." }),
    plan: MigrationOutlineSchema.optional().meta({
      description:
        "The whole plan (namespace changes, template rewrites, restarts in order, pods to recreate by hand, " +
        "blockers and warnings), published while spec.dryRun is true.",
    }),
  })
  .meta({ description: "What the operator observed and did. Written by the operator only." });

// ---------------------------------------------------------------------------------------------
// The resource

const ObjectMetaSchema = z
  .looseObject({
    name: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.int().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  })
  .meta({ description: "Standard object metadata." });

export const MeshMigrationSchema = z
  .object({
    apiVersion: z.string().meta({ description: "The API version: meshmigration.io/v1alpha1." }),
    kind: z.string().meta({ description: "The kind: MeshMigration." }),
    metadata: ObjectMetaSchema,
    spec: MeshMigrationSpecSchema,
    status: MeshMigrationStatusSchema.optional(),
  })
  .meta({
    description:
      "MeshMigration moves namespaces from one service mesh to another (Istio sidecar, Istio ambient, " +
      "Linkerd or none), batch by batch, restarting workloads and verifying every pod, without ever " +
      "meshing a pod twice. Pause, gate (stopAfterBatch) or roll back by editing the spec.",
  });

// ---------------------------------------------------------------------------------------------
// Types

export type MeshRefSpec = z.output<typeof MeshRefSchema>;
export type TargetMeshRefSpec = z.output<typeof TargetMeshRefSchema>;
export type WaypointSpec = z.output<typeof WaypointSchema>;
export type LabelSelectorRequirement = z.output<typeof LabelSelectorRequirementSchema>;
export type LabelSelector = z.output<typeof LabelSelectorSchema>;
export type BatchSpec = z.output<typeof BatchSchema>;
export type StrategySpec = z.output<typeof StrategySchema>;
export type WorkloadOverridePolicy = StrategySpec["workloadOverrides"];
/** A spec with every default filled in (what parseSpec returns). */
export type MeshMigrationSpec = z.output<typeof MeshMigrationSpecSchema>;
/** A spec as a user may write it (defaulted fields optional). */
export type MeshMigrationSpecInput = z.input<typeof MeshMigrationSpecSchema>;
export type Phase = (typeof PHASES)[number];
export type NamespacePhase = (typeof NAMESPACE_PHASES)[number];
export type BatchPhase = (typeof BATCH_PHASES)[number];
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];
export type Condition = z.output<typeof ConditionSchema>;
export type BatchStatus = z.output<typeof BatchStatusSchema>;
export type NamespaceStatus = z.output<typeof NamespaceStatusSchema>;
export type MigrationWarning = z.output<typeof MigrationWarningSchema>;
export type MeshMigrationStatus = z.output<typeof MeshMigrationStatusSchema>;
export type PlannedNamespaceChange = z.output<typeof PlannedNamespaceChangeSchema>;
export type PlannedTemplateRewrite = z.output<typeof PlannedTemplateRewriteSchema>;
export type PlannedSkip = z.output<typeof PlannedSkipSchema>;
export type NamespaceOutline = z.output<typeof NamespaceOutlineSchema>;
export type BatchOutline = z.output<typeof BatchOutlineSchema>;
export type PlanBlocker = z.output<typeof PlanBlockerSchema>;
export type MigrationOutline = z.output<typeof MigrationOutlineSchema>;
export type MeshMigration = z.output<typeof MeshMigrationSchema>;

// ---------------------------------------------------------------------------------------------
// Parsing

export type ParseSpecResult = { ok: true; spec: MeshMigrationSpec } | { ok: false; errors: string[] };

/**
 * Validates a MeshMigration spec and fills in its defaults. Enforces the same rules as the CRD
 * (schema and CEL), so a spec that reached the cluster without them is still caught.
 * Errors read like "spec.batches[1].name: batch names must be unique: ...".
 */
export function parseSpec(input: unknown): ParseSpecResult {
  const result = MeshMigrationSpecSchema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, errors: result.error.issues.map(formatIssue) };
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`;
    const name = String(segment);
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${text}.${name}` : `${text}[${JSON.stringify(name)}]`;
  }, "spec");
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  return `${path}: ${missing ? "required field is missing" : issue.message}`;
}
