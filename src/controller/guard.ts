// The double-mesh guard: a ValidatingAdmissionPolicy (GA since Kubernetes 1.30)
// and its binding, which the operator installs and keeps in place. It refuses,
// at admission, a pod two meshes would take (two meshes' proxies, or a linkerd-proxy
// pod enrolled in Istio ambient), as each mesh driver describes its admission, and a
// pod of a mesh we do not drive (Kuma, App Mesh, …) that one of ours would take too, as
// src/meshes/foreign-meshes.ts recognises it. It covers the namespaces a MeshMigration
// owns: they carry the owner label.
import type * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../api/constants.ts";
import type { MeshDriver } from "../meshes/driver.ts";
import {
  celOfForeignMesh,
  celString,
  type ForeignMesh,
  foreignMeshesBeside,
} from "../meshes/foreign-meshes.ts";
import { MESH_DRIVERS } from "../meshes/registry.ts";
import { OWNER_LABEL } from "./bookkeeping.ts";

export const GUARD_POLICY_NAME = "meshmigration-double-mesh-guard";
export const GUARD_BINDING_NAME = "meshmigration-double-mesh-guard";
/** On both objects: a digest of the spec the operator wants, so drift is seen from the cache alone. */
export const GUARD_SPEC_ANNOTATION = "meshmigration.io/spec-digest";

/** A CEL variable name for a mesh ("istio-ambient" → "istio_ambient"). */
function celName(mesh: string): string {
  return mesh.replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * Two meshes that could both take one pod: neither leaves the other's pods alone (ambient leaves
 * Istio sidecar pods alone, so that pair is no double mesh).
 */
function clashingPairs(drivers: readonly MeshDriver[]): Array<[MeshDriver, MeshDriver]> {
  const guarded = drivers.filter((d) => d.admission !== undefined);
  return guarded.flatMap((a, i) =>
    guarded
      .slice(i + 1)
      .filter(
        (b) => !(a.skipsPodsMeshedBy ?? []).includes(b.name) && !(b.skipsPodsMeshedBy ?? []).includes(a.name),
      )
      .map((b): [MeshDriver, MeshDriver] => [a, b]),
  );
}

/** What the guard says of a pod a mesh takes: "carries" + "istio-proxy (Istio)". */
interface Said {
  verb: string;
  what: string;
}

/** "carries istio-proxy (Istio) and linkerd-proxy (Linkerd)", "carries linkerd-proxy (Linkerd) and is enrolled in …". */
function bothSaid(a: Said | undefined, b: Said | undefined): string {
  const first = `${a?.verb} ${a?.what}`;
  return a?.verb === b?.verb ? `${first} and ${b?.what}` : `${first} and ${b?.verb} ${b?.what}`;
}

/** The CEL variable of a mesh we do not drive ("kuma" → "foreign_kuma"), apart from the drivers' names. */
function foreignCelName(mesh: ForeignMesh): string {
  return `foreign_${celName(mesh.id)}`;
}

/** One rule per mesh we do not drive and mesh of ours: a pod the first runs, the second must not take too. */
function foreignValidations(foreign: readonly ForeignMesh[], guarded: readonly MeshDriver[]) {
  return foreign.flatMap((mesh) =>
    guarded.map((driver) => {
      const theirs: Said = { verb: "is", what: `meshed by ${mesh.title} (${mesh.evidence})` };
      const said =
        `the pod ${bothSaid(theirs, driver.admission)}: two meshes in one pod. ` +
        "Refused by the double-mesh guard of MeshMigration ";
      const remedy = `; move the pod out of ${mesh.title} first (${mesh.leave}), or remove ${driver.admission?.remedy}`;
      return {
        expression: `!(variables.${foreignCelName(mesh)} && variables.${celName(driver.name)})`,
        reason: "Forbidden",
        messageExpression: `${celString(said)} + variables.migration + ${celString(remedy)}`,
      };
    }),
  );
}

/** The guard, from what each mesh driver says about admission: one variable per mesh, one rule per clashing pair. */
export function guardPolicy(
  drivers: readonly MeshDriver[] = Object.values(MESH_DRIVERS),
): k8s.V1ValidatingAdmissionPolicy {
  const label = (obj: string, key: string) =>
    `(has(${obj}.metadata.labels) && '${key}' in ${obj}.metadata.labels ? ${obj}.metadata.labels['${key}'] : '')`;
  const guarded = drivers.filter((d) => d.admission !== undefined);
  const foreign = foreignMeshesBeside(drivers);
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: GUARD_POLICY_NAME, labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER } },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"] },
        ],
      },
      variables: [
        {
          name: "proxies",
          expression:
            "object.spec.containers.map(c, c.name) + " +
            "(has(object.spec.initContainers) ? object.spec.initContainers.map(c, c.name) : [])",
        },
        ...guarded.map((d) => ({ name: celName(d.name), expression: d.admission?.cel ?? "false" })),
        ...foreign.map((mesh) => ({ name: foreignCelName(mesh), expression: celOfForeignMesh(mesh) })),
        { name: "migration", expression: label("namespaceObject", OWNER_LABEL) },
      ],
      validations: [
        ...clashingPairs(drivers).map(([a, b]) => ({
          expression: `!(variables.${celName(a.name)} && variables.${celName(b.name)})`,
          reason: "Forbidden",
          messageExpression:
            `'the pod ${bothSaid(a.admission, b.admission)}: two meshes in one pod. ` +
            "Refused by the double-mesh guard of MeshMigration ' + variables.migration + " +
            `'; remove ${a.admission?.remedy} or ${b.admission?.remedy}, whichever belongs to the mesh this namespace is leaving'`,
        })),
        ...foreignValidations(foreign, guarded),
      ],
    },
  };
}

export function guardBinding(): k8s.V1ValidatingAdmissionPolicyBinding {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: GUARD_BINDING_NAME, labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER } },
    spec: {
      policyName: GUARD_POLICY_NAME,
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchExpressions: [{ key: OWNER_LABEL, operator: "Exists" }] } },
    },
  };
}

/** A stable digest of an object's spec, written on it so a changed or stale guard is re-applied. */
export function specDigest(spec: unknown): string {
  let hash = 2166136261;
  for (const char of JSON.stringify(spec)) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 16777619);
  }
  return (hash >>> 0).toString(16);
}

/**
 * Whether `actual` holds everything `desired` says: every desired key with a contained value,
 * arrays element by element. Keys only in `actual` are the API server's defaults and are fine.
 */
export function contains(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((item, index) => contains(actual[index], item))
    );
  }
  if (desired !== null && typeof desired === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(desired).every(([key, value]) => contains(record[key], value));
  }
  return actual === desired;
}

/**
 * Fields a person could add to narrow the guard without touching anything we set (a match
 * condition, an object selector, excluded resources): they must stay absent.
 */
export type GuardKind = "policy" | "binding";

const NARROWING_FIELDS: Record<GuardKind, ReadonlyArray<readonly string[]>> = {
  policy: [["matchConditions"], ["paramKind"], ["matchConstraints", "excludeResourceRules"]],
  binding: [
    ["paramRef"],
    ["matchResources", "excludeResourceRules"],
    ["matchResources", "objectSelector", "matchExpressions"],
    ["matchResources", "objectSelector", "matchLabels"],
  ],
};

function present(value: unknown, path: readonly string[]): boolean {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return false;
    current = (current as Record<string, unknown>)[key];
  }
  if (current === undefined || current === null) return false;
  if (Array.isArray(current)) return current.length > 0;
  if (typeof current === "object") return Object.keys(current).length > 0;
  return true;
}

export type GuardDrift = "missing" | "stale" | "edited";

/**
 * How a cached guard object differs from what the operator wants, if it does: absent, applied
 * from another spec (a stale digest), or edited under our annotation (validationActions: [Warn],
 * a dropped validation, an added match condition).
 */
export function guardDrift(
  kind: GuardKind,
  cached: (k8s.KubernetesObject & { spec?: unknown }) | undefined,
  desired: { spec?: unknown },
): GuardDrift | undefined {
  if (!cached) return "missing";
  if (cached.metadata?.annotations?.[GUARD_SPEC_ANNOTATION] !== specDigest(desired.spec)) return "stale";
  if (!contains(cached.spec, desired.spec)) return "edited";
  if (NARROWING_FIELDS[kind].some((path) => present(cached.spec, path))) return "edited";
  return undefined;
}

/**
 * The merge patch that puts an edited guard back: our spec with its lists whole (a merge patch
 * replaces lists, where server-side apply would merge a set such as validationActions with the
 * edit) and the narrowing fields removed.
 */
export function guardRepairSpec(kind: GuardKind, desired: { spec?: unknown }): Record<string, unknown> {
  const spec = structuredClone(desired.spec ?? {}) as Record<string, unknown>;
  for (const path of NARROWING_FIELDS[kind]) {
    let current = spec;
    for (const key of path.slice(0, -1)) {
      const next = current[key];
      if (next === null || typeof next !== "object") {
        current[key] = {};
      }
      current = current[key] as Record<string, unknown>;
    }
    current[path[path.length - 1] as string] = null;
  }
  return spec;
}
