// The write limits: ValidatingAdmissionPolicies that hold the operator's own ServiceAccount to
// the keys it owns. RBAC can say "may patch namespaces and Deployments" but not which keys; these
// policies compare each of its updates (`object`) with the object before it (`oldObject`) and
// refuse any change outside the mesh markers, its bookkeeping annotations and its restart stamp.
// A stolen token can then move pods between meshes, which is the operator's job, and nothing
// else: no image, command, Pod Security label or replica count. They ship in deploy/ (generated:
// npm run crds) and the operator's RBAC cannot change them.
import type * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { ANNOTATIONS, GROUP, OPERATOR_NAMESPACE, PLURAL, VERSION } from "../api/constants.ts";
import { allNamespaceMarkerKeys, allTemplateMarkerKeys } from "../meshes/registry.ts";
import { gatewayLimitSpec } from "./waypoint-write-limits.ts";

export const WRITE_LIMITS_FILE = "deploy/write-limits.yaml";
const NAME_PREFIX = "mesh-migration-operator-write-limits";
const MANAGED_BY = { "app.kubernetes.io/name": "mesh-migration-operator" };

/** Who the limits apply to: the ServiceAccount the operator runs as. */
export interface OperatorIdentity {
  namespace: string;
  serviceAccount: string;
}

/** The ServiceAccount deploy/ installs. */
export const DEPLOYED_IDENTITY: OperatorIdentity = {
  namespace: OPERATOR_NAMESPACE,
  serviceAccount: "mesh-migration-operator",
};

/** A CEL list literal of strings. */
function celList(values: readonly string[]): string {
  return `[${[...values]
    .sort()
    .map((v) => `'${v}'`)
    .join(", ")}]`;
}

/** Whether the field at `path` (e.g. `spec.replicas`) is the same before and after, absence included. */
function unchanged(path: string): string {
  const present = (root: string) => `has(${root}.${path})`;
  return `(${present("object")} == ${present("oldObject")} && (!${present("object")} || object.${path} == oldObject.${path}))`;
}

/** A string map at `path`, or an empty one, as a policy variable. */
function mapVariable(name: string, root: "object" | "oldObject", path: string): k8s.V1Variable {
  return { name, expression: `has(${root}.${path}) ? ${root}.${path} : {}` };
}

/** The keys of a string map that changed (set, changed or removed) other than the allowed ones. */
function changedKeysOutside(before: string, after: string, allowed: readonly string[]): string {
  const ok = celList(allowed);
  return (
    `variables.${after}.filter(k, !(k in ${ok}) && !(k in variables.${before} && variables.${before}[k] == variables.${after}[k])) + ` +
    `variables.${before}.filter(k, !(k in ${ok}) && !(k in variables.${after}))`
  );
}

interface MapRule {
  /** What the map is, for the message ("namespace labels"). */
  what: string;
  /** Its path under object/oldObject. */
  path: string;
  /** Variable name stem. */
  stem: string;
  allowed: readonly string[];
}

/** Before, after, and the keys changed outside the allowed ones. */
function mapVariables(rule: MapRule): k8s.V1Variable[] {
  const before = `${rule.stem}Before`;
  const after = `${rule.stem}After`;
  return [
    mapVariable(before, "oldObject", rule.path),
    mapVariable(after, "object", rule.path),
    { name: `${rule.stem}ChangedOutside`, expression: changedKeysOutside(before, after, rule.allowed) },
  ];
}

function mapValidation(rule: MapRule, who: string): k8s.V1Validation {
  const changed = `variables.${rule.stem}ChangedOutside`;
  return {
    expression: `size(${changed}) == 0`,
    reason: "Forbidden",
    messageExpression:
      `'${who} may change only mesh markers and its own bookkeeping in ${rule.what}; ` +
      `this request also changes ' + ${changed}.join(', ')`,
  };
}

function fieldValidation(path: string, who: string, kind: string): k8s.V1Validation {
  return {
    expression: unchanged(path),
    reason: "Forbidden",
    message: `${who} may not change ${path} of a ${kind}`,
  };
}

interface LimitedKind {
  kind: string;
  group: string;
  version: string;
  resource: string;
  /** Fields that must not change at all. */
  frozen: readonly string[];
  /** String maps where only the allowed keys may change. */
  maps: readonly MapRule[];
}

const templateKeys = () => allTemplateMarkerKeys();
const namespaceKeys = () => allNamespaceMarkerKeys();

/** Every field of each workload kind's spec but the pod template's labels and annotations. */
const WORKLOAD_SPEC_FIELDS: Record<string, readonly string[]> = {
  Deployment: [
    "replicas",
    "selector",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "paused",
    "progressDeadlineSeconds",
  ],
  StatefulSet: [
    "replicas",
    "selector",
    "serviceName",
    "podManagementPolicy",
    "updateStrategy",
    "volumeClaimTemplates",
    "revisionHistoryLimit",
    "minReadySeconds",
    "persistentVolumeClaimRetentionPolicy",
    "ordinals",
  ],
  DaemonSet: ["selector", "updateStrategy", "minReadySeconds", "revisionHistoryLimit"],
};

/**
 * Annotations the apiserver itself changes on an update the operator makes: a DaemonSet's
 * template generation, bumped by its registry strategy before validating admission sees it.
 */
const APISERVER_ANNOTATIONS: Record<string, readonly string[]> = {
  DaemonSet: ["deprecated.daemonset.template.generation"],
};

function workloadKind(kind: string, resource: string): LimitedKind {
  const fields = WORKLOAD_SPEC_FIELDS[kind] ?? [];
  return {
    kind,
    group: "apps",
    version: "v1",
    resource,
    frozen: [
      "metadata.labels",
      "metadata.finalizers",
      "metadata.ownerReferences",
      ...fields.map((field) => `spec.${field}`),
      "spec.template.spec",
    ],
    maps: [
      {
        what: `${kind} annotations`,
        path: "metadata.annotations",
        stem: "annotations",
        allowed: [ANNOTATIONS.templateOriginal, ...(APISERVER_ANNOTATIONS[kind] ?? [])],
      },
      {
        what: "pod-template labels",
        path: "spec.template.metadata.labels",
        stem: "templateLabels",
        allowed: templateKeys().labels,
      },
      {
        what: "pod-template annotations",
        path: "spec.template.metadata.annotations",
        stem: "templateAnnotations",
        allowed: [...templateKeys().annotations, ANNOTATIONS.restartedFor],
      },
    ],
  };
}

/** The spec fields every workload kind has, exported for the test that checks them against the apiserver. */
export function workloadSpecFields(): Record<string, readonly string[]> {
  return WORKLOAD_SPEC_FIELDS;
}

function limitedKinds(): LimitedKind[] {
  const ns = namespaceKeys();
  return [
    {
      kind: "Namespace",
      group: "",
      version: "v1",
      resource: "namespaces",
      frozen: ["spec", "metadata.finalizers", "metadata.ownerReferences"],
      maps: [
        {
          what: "namespace labels",
          path: "metadata.labels",
          stem: "labels",
          allowed: [...ns.labels, ANNOTATIONS.owner],
        },
        {
          what: "namespace annotations",
          path: "metadata.annotations",
          stem: "annotations",
          allowed: [...ns.annotations, ANNOTATIONS.owner, ANNOTATIONS.original],
        },
      ],
    },
    workloadKind("Deployment", "deployments"),
    workloadKind("StatefulSet", "statefulsets"),
    workloadKind("DaemonSet", "daemonsets"),
    {
      // Only its finalizer: the spec is the user's, status goes through the status subresource.
      kind: "MeshMigration",
      group: GROUP,
      version: VERSION,
      resource: PLURAL,
      frozen: ["spec", "metadata.labels", "metadata.annotations", "metadata.ownerReferences"],
      maps: [],
    },
  ];
}

function policyName(kind: LimitedKind): string {
  return `${NAME_PREFIX}-${kind.resource}`;
}

function policyFor(kind: LimitedKind, identity: OperatorIdentity): k8s.V1ValidatingAdmissionPolicy {
  const username = `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`;
  // No apostrophes: the text goes into single-quoted CEL strings.
  const who = `the mesh-migration-operator ServiceAccount ${username}`;
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: policyName(kind), labels: MANAGED_BY },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [kind.group],
            apiVersions: [kind.version],
            operations: ["UPDATE"],
            resources: [kind.resource],
          },
        ],
      },
      matchConditions: [
        { name: "operator-service-account", expression: `request.userInfo.username == '${username}'` },
      ],
      variables: kind.maps.flatMap(mapVariables),
      validations: [
        ...kind.frozen.map((path) => fieldValidation(path, who, kind.kind)),
        ...kind.maps.map((rule) => mapValidation(rule, who)),
      ],
    },
  };
}

function bindingFor(kind: LimitedKind): k8s.V1ValidatingAdmissionPolicyBinding {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: policyName(kind), labels: MANAGED_BY },
    spec: { policyName: policyName(kind), validationActions: ["Deny"] },
  };
}

/** Every policy and its binding, in a stable order. */
export function writeLimits(identity: OperatorIdentity): object[] {
  return [
    ...limitedKinds().flatMap((kind) => [policyFor(kind, identity), bindingFor(kind)]),
    ...gatewayLimit(identity),
  ];
}

/** Gateways are created and deleted, never updated: their own policy (waypoint-write-limits.ts). */
function gatewayLimit(identity: OperatorIdentity): object[] {
  const username = `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`;
  const kind = { resource: "gateways" } as LimitedKind;
  const policy: k8s.V1ValidatingAdmissionPolicy = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: policyName(kind), labels: MANAGED_BY },
    spec: gatewayLimitSpec(username, `the mesh-migration-operator ServiceAccount ${username}`),
  };
  return [policy, bindingFor(kind)];
}

const HEADER = `# Generated from src/install/write-limits.ts by \`npm run crds\`: do not edit.
#
# The operator's ServiceAccount may patch namespaces, Deployments, StatefulSets, DaemonSets and
# MeshMigrations (RBAC cannot say which keys). These policies refuse any of its updates that
# changes more than mesh markers, its bookkeeping annotations and its restart stamp. It may create
# and delete Gateways: only waypoints it marks as its own. Its RBAC does not let it change or
# delete these policies.
`;

export function renderWriteLimitsYaml(identity: OperatorIdentity = DEPLOYED_IDENTITY): string {
  return (
    HEADER +
    writeLimits(identity)
      .map((object) => `---\n${stringify(object, { lineWidth: 0 })}`)
      .join("")
  );
}
