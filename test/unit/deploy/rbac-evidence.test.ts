// The RBAC derivation (scripts/rbac/evidence.ts): audit events in, the set of uses out, and the
// comparison with the roles bound to the ServiceAccount.
import { describe, expect, it } from "vitest";
import {
  type AuditEvent,
  compare,
  deriveUses,
  grantsFor,
  grantUnits,
  isClean,
  parseAuditLog,
  report,
} from "../../../scripts/rbac/evidence.ts";

const USER = "system:serviceaccount:ops:op";
const SA = { namespace: "ops", name: "op" };
let id = 0;

function event(verb: string, ref: AuditEvent["objectRef"], code = 200, extra: Partial<AuditEvent> = {}) {
  id++;
  return {
    auditID: `id-${id}`,
    stage: "ResponseComplete",
    verb,
    user: { username: USER },
    userAgent: "node",
    objectRef: ref,
    responseStatus: { code },
    requestReceivedTimestamp: "2026-01-01T00:00:10Z",
    ...extra,
  } satisfies AuditEvent;
}

const manifests = [
  {
    kind: "ClusterRole",
    metadata: { name: "op" },
    rules: [
      { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch", "patch"] },
      { apiGroups: ["x.io"], resources: ["things/status"], verbs: ["patch"] },
      { apiGroups: ["adm.io"], resources: ["guards"], resourceNames: ["mine"], verbs: ["create", "patch"] },
    ],
  },
  {
    kind: "ClusterRoleBinding",
    metadata: { name: "op" },
    roleRef: { kind: "ClusterRole", name: "op" },
    subjects: [{ kind: "ServiceAccount", name: "op", namespace: "ops" }],
  },
  {
    kind: "Role",
    metadata: { name: "lease", namespace: "ops" },
    rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "get"] }],
  },
  {
    kind: "RoleBinding",
    metadata: { name: "lease", namespace: "ops" },
    roleRef: { kind: "Role", name: "lease" },
    subjects: [{ kind: "ServiceAccount", name: "op", namespace: "ops" }],
  },
  // Bound to someone else: not the operator's.
  {
    kind: "ClusterRole",
    metadata: { name: "other" },
    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
  },
  {
    kind: "ClusterRoleBinding",
    metadata: { name: "other" },
    roleRef: { kind: "ClusterRole", name: "other" },
    subjects: [{ kind: "ServiceAccount", name: "someone", namespace: "ops" }],
  },
];
const grants = grantsFor(manifests, SA);

const everythingUsed = () => [
  event("list", { resource: "namespaces" }),
  event("watch", { resource: "namespaces" }),
  event("patch", { resource: "namespaces", name: "a" }),
  event("patch", { apiGroup: "x.io", resource: "things", subresource: "status", name: "t" }),
  // A server-side apply that created the guard: authorized as patch and as create of its name.
  event("patch", { apiGroup: "adm.io", resource: "guards", name: "mine" }, 201),
  event("create", { apiGroup: "coordination.k8s.io", resource: "leases", namespace: "ops" }, 201),
  event("get", { apiGroup: "coordination.k8s.io", resource: "leases", namespace: "ops", name: "l" }),
];

describe("deriveUses", () => {
  it("keeps the user's requests once each, a refused one apart, non-resource paths apart", () => {
    const derived = deriveUses(
      [
        event("list", { resource: "pods" }),
        event("list", { resource: "pods" }),
        event("get", { resource: "secrets", namespace: "ops", name: "s" }, 403),
        event("get", undefined, 200, { requestURI: "/readyz?verbose" }),
        { ...event("list", { resource: "pods" }), user: { username: "admin" } },
      ],
      { username: USER },
    );
    expect(derived.uses).toEqual([
      { verb: "list", group: "", resource: "pods", subresource: "", namespace: "", name: "" },
    ]);
    expect(derived.refused).toEqual([
      { verb: "get", group: "", resource: "secrets", subresource: "", namespace: "ops", name: "s" },
    ]);
    expect(derived.nonResource).toEqual(["get /readyz"]);
  });

  it("counts a watch still open (ResponseStarted only) and one request once across its stages", () => {
    const started = event("watch", { resource: "pods" }, 200, { stage: "ResponseStarted" });
    const done = { ...started, stage: "ResponseComplete", responseStatus: { code: 403 } };
    expect(deriveUses([started], { username: USER }).uses).toHaveLength(1);
    const both = deriveUses([started, done], { username: USER });
    expect(both.uses).toEqual([]);
    expect(both.refused).toHaveLength(1);
  });

  it("leaves out events before `since` and requests with an excluded User-Agent", () => {
    const old = event("list", { resource: "pods" }, 200, {
      requestReceivedTimestamp: "2026-01-01T00:00:00Z",
    });
    const probe = event("get", { resource: "secrets", name: "s" }, 403, { userAgent: "probe/1 node" });
    const derived = deriveUses([old, probe], {
      username: USER,
      since: new Date("2026-01-01T00:00:05Z"),
      excludeUserAgents: ["probe/"],
    });
    expect(derived).toEqual({ uses: [], refused: [], nonResource: [] });
  });

  it("reads JSON lines and skips a torn last line", () => {
    const line = JSON.stringify(event("list", { resource: "pods" }));
    expect(parseAuditLog(`${line}\n${line}\n{"auditID":`)).toHaveLength(2);
  });
});

describe("grantsFor", () => {
  it("takes only the roles bound to the ServiceAccount, a Role in its namespace", () => {
    expect(grants.map((g) => [g.role, g.namespace])).toEqual([
      ["ClusterRole/op", ""],
      ["Role/lease", "ops"],
    ]);
    expect(grantUnits(grants)).toHaveLength(3 + 1 + 2 + 2);
  });
});

describe("compare", () => {
  it("is clean when every use is granted and every grant used", () => {
    const comparison = compare(deriveUses(everythingUsed(), { username: USER }), grants);
    expect(comparison).toEqual({ notGranted: [], unused: [], refused: [], nonResourceNotGranted: [] });
    expect(isClean(comparison)).toBe(true);
  });

  it("reports a use outside the grants: another verb, another name, outside the Role's namespace", () => {
    const derived = deriveUses(
      [
        ...everythingUsed(),
        event("delete", { resource: "namespaces", name: "a" }),
        event("patch", { apiGroup: "adm.io", resource: "guards", name: "theirs" }),
        // create through POST carries no name: a rule with resourceNames never matches it.
        event("create", { apiGroup: "adm.io", resource: "guards" }, 201),
        event("get", {
          apiGroup: "coordination.k8s.io",
          resource: "leases",
          namespace: "default",
          name: "l",
        }),
      ],
      { username: USER },
    );
    const comparison = compare(derived, grants);
    expect(comparison.notGranted.map((u) => `${u.verb} ${u.resource} ${u.namespace}/${u.name}`)).toEqual([
      "create guards /",
      "delete namespaces /a",
      "get leases default/l",
      "patch guards /theirs",
    ]);
    expect(comparison.unused).toEqual([]);
  });

  it("reports each grant unit nothing used, down to one verb or one resource name", () => {
    const used = everythingUsed().filter((e) => !(e.verb === "watch" || e.responseStatus.code === 201));
    const comparison = compare(deriveUses(used, { username: USER }), grants);
    expect(comparison.unused.map((u) => `${u.role} ${u.verb} ${u.resource} ${u.name}`.trim())).toEqual([
      "ClusterRole/op watch namespaces",
      "ClusterRole/op create guards mine",
      "ClusterRole/op patch guards mine",
      "Role/lease create leases",
    ]);
    expect(isClean(comparison)).toBe(false);
  });

  it("reports refusals, and non-resource paths beyond the defaults every user may read", () => {
    const derived = deriveUses(
      [
        ...everythingUsed(),
        event("list", { resource: "secrets" }, 403),
        event("get", undefined, 200, { requestURI: "/readyz" }),
        event("get", undefined, 200, { requestURI: "/metrics" }),
      ],
      { username: USER },
    );
    const comparison = compare(derived, grants);
    expect(comparison.refused.map((u) => `${u.verb} ${u.resource}`)).toEqual(["list secrets"]);
    expect(comparison.nonResourceNotGranted).toEqual(["get /metrics"]);
    const text = report(derived, comparison);
    expect(text).toContain("refused (401/403) (1):");
    expect(text).toContain("RBAC does not match the evidence.");
  });
});
