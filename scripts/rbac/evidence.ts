// RBAC from evidence, pure: what a ServiceAccount did (kube-apiserver audit events) against what
// its roles grant (the ClusterRoles and Roles bound to it, as `kubectl kustomize deploy/` renders
// them). RBAC is simulated as the apiserver's authorizer matches: group, resource[/subresource],
// verb, resourceNames (a rule with names never matches a request without one), namespace of a Role.

/** The fields of an audit.k8s.io/v1 Event this reads (Metadata level is enough). */
export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI?: string;
  user?: { username?: string };
  userAgent?: string;
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/** One request, as RBAC sees it; "" for no group (core), no subresource, cluster scope, no name. */
export interface Use {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface Derived {
  /** Distinct requests the apiserver answered, and the ones it refused (401/403). */
  uses: Use[];
  refused: Use[];
  /** Non-resource paths (/readyz...), as "GET /readyz". */
  nonResource: string[];
}

export interface DeriveOptions {
  username: string;
  /** Only events received at or after this time. */
  since?: Date;
  /** Requests whose User-Agent starts with one of these are left out (deliberate probes). */
  excludeUserAgents?: readonly string[];
}

const KEEP_STAGES = new Set(["ResponseComplete", "ResponseStarted", "Panic"]);
const useKey = (u: Use) => [u.verb, u.group, u.resource, u.subresource, u.namespace, u.name].join("\u0000");

function distinct(uses: Use[]): Use[] {
  const seen = new Map<string, Use>();
  for (const u of uses) seen.set(useKey(u), u);
  return [...seen.values()].sort((a, b) => (useKey(a) < useKey(b) ? -1 : 1));
}

/** Parses an audit log (one JSON event per line); lines that are not JSON are skipped. */
export function parseAuditLog(text: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as AuditEvent);
    } catch {
      // a line cut short while the apiserver was writing it
    }
  }
  return events;
}

/**
 * The user's requests, one per auditID (a watch still open has only ResponseStarted). A
 * server-side apply that created its object (a PATCH answered 201) was also authorized as
 * `create` of that name, so it is a use of both.
 */
export function deriveUses(events: readonly AuditEvent[], options: DeriveOptions): Derived {
  const byId = new Map<string, AuditEvent>();
  for (const event of events) {
    if (event.user?.username !== options.username || !KEEP_STAGES.has(event.stage)) continue;
    if (options.since && Date.parse(event.requestReceivedTimestamp ?? "") < options.since.getTime()) continue;
    if ((options.excludeUserAgents ?? []).some((ua) => (event.userAgent ?? "").startsWith(ua))) continue;
    const known = byId.get(event.auditID);
    if (!known || event.stage !== "ResponseStarted") byId.set(event.auditID, event);
  }
  const uses: Use[] = [];
  const refused: Use[] = [];
  const nonResource = new Set<string>();
  for (const event of byId.values()) {
    const ref = event.objectRef;
    if (!ref?.resource) {
      nonResource.add(`${event.verb} ${(event.requestURI ?? "").split("?")[0]}`);
      continue;
    }
    const use: Use = {
      verb: event.verb,
      group: ref.apiGroup ?? "",
      resource: ref.resource,
      subresource: ref.subresource ?? "",
      namespace: ref.namespace ?? "",
      name: ref.name ?? "",
    };
    const code = event.responseStatus?.code ?? 0;
    if (code === 401 || code === 403) {
      refused.push(use);
      continue;
    }
    uses.push(use);
    if (use.verb === "patch" && code === 201) uses.push({ ...use, verb: "create" });
  }
  return { uses: distinct(uses), refused: distinct(refused), nonResource: [...nonResource].sort() };
}

/** An RBAC PolicyRule. */
export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** A role's rules where they apply: everywhere (a ClusterRole bound cluster-wide) or one namespace. */
export interface Grant {
  role: string;
  /** "" for cluster-wide. */
  namespace: string;
  rules: Rule[];
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind?: string; name?: string };
  subjects?: Array<{ kind?: string; name?: string; namespace?: string }>;
}

/** The grants the manifests bind to one ServiceAccount. */
export function grantsFor(
  manifests: readonly unknown[],
  serviceAccount: { namespace: string; name: string },
) {
  const objects = manifests as Manifest[];
  const role = (kind: string, name: string | undefined, namespace?: string) =>
    objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata?.name === name &&
        (namespace === undefined || o.metadata?.namespace === namespace),
    );
  const boundHere = (o: Manifest) =>
    (o.subjects ?? []).some(
      (s) =>
        s.kind === "ServiceAccount" &&
        s.name === serviceAccount.name &&
        s.namespace === serviceAccount.namespace,
    );
  const grants: Grant[] = [];
  for (const binding of objects) {
    if (!boundHere(binding)) continue;
    const refKind = binding.roleRef?.kind ?? "";
    const namespace = binding.kind === "RoleBinding" ? (binding.metadata?.namespace ?? "") : "";
    if (binding.kind !== "ClusterRoleBinding" && binding.kind !== "RoleBinding") continue;
    const target =
      refKind === "ClusterRole"
        ? role("ClusterRole", binding.roleRef?.name)
        : role("Role", binding.roleRef?.name, namespace);
    if (!target) continue;
    grants.push({ role: `${target.kind}/${target.metadata?.name}`, namespace, rules: target.rules ?? [] });
  }
  return grants;
}

const has = (list: readonly string[] | undefined, value: string) =>
  (list ?? []).includes(value) || (list ?? []).includes("*");

function ruleMatches(rule: Rule, use: Use): boolean {
  const resource = use.subresource ? `${use.resource}/${use.subresource}` : use.resource;
  if (!has(rule.apiGroups, use.group) || !has(rule.resources, resource) || !has(rule.verbs, use.verb)) {
    return false;
  }
  return !rule.resourceNames?.length || rule.resourceNames.includes(use.name);
}

/** Whether RBAC would allow the use under these grants. */
export function allowed(grants: readonly Grant[], use: Use): boolean {
  return grants.some(
    (g) => (g.namespace === "" || g.namespace === use.namespace) && g.rules.some((r) => ruleMatches(r, use)),
  );
}

/** The smallest thing a role grants: one verb on one group/resource, by one name or any. */
export interface GrantUnit {
  role: string;
  namespace: string;
  verb: string;
  group: string;
  resource: string;
  /** "" when the rule names none. */
  name: string;
}

export function grantUnits(grants: readonly Grant[]): GrantUnit[] {
  const units: GrantUnit[] = [];
  for (const g of grants) {
    for (const rule of g.rules) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          for (const verb of rule.verbs) {
            for (const name of rule.resourceNames?.length ? rule.resourceNames : [""]) {
              units.push({ role: g.role, namespace: g.namespace, verb, group, resource, name });
            }
          }
        }
      }
    }
  }
  return units;
}

function unitUsed(unit: GrantUnit, uses: readonly Use[]): boolean {
  return uses.some(
    (u) =>
      (unit.namespace === "" || unit.namespace === u.namespace) &&
      ruleMatches(
        {
          apiGroups: [unit.group],
          resources: [unit.resource],
          verbs: [unit.verb],
          ...(unit.name ? { resourceNames: [unit.name] } : {}),
        },
        u,
      ),
  );
}

/**
 * Paths every authenticated user may GET by the apiserver's default roles (system:discovery,
 * system:public-info-viewer): not the operator's grants, so they are not compared with them.
 */
const DEFAULT_NON_RESOURCE = [/^\/(healthz|livez|readyz|version)(\/.*)?$/, /^\/(api|apis|openapi)(\/.*)?$/];

export interface Comparison {
  /** Requests made that the grants would not allow. */
  notGranted: Use[];
  /** Grant units no request used. */
  unused: GrantUnit[];
  refused: Use[];
  /** Non-resource requests beyond the default roles' paths. */
  nonResourceNotGranted: string[];
}

export function compare(derived: Derived, grants: readonly Grant[]): Comparison {
  const nonResourceRules = grants.flatMap((g) => g.rules.filter((r) => r.nonResourceURLs?.length));
  return {
    notGranted: derived.uses.filter((u) => !allowed(grants, u)),
    unused: grantUnits(grants).filter((unit) => !unitUsed(unit, derived.uses)),
    refused: derived.refused,
    nonResourceNotGranted: derived.nonResource.filter((entry) => {
      const [verb = "", path = ""] = entry.split(" ");
      if (verb === "get" && DEFAULT_NON_RESOURCE.some((re) => re.test(path))) return false;
      return !nonResourceRules.some((r) => has(r.verbs, verb) && has(r.nonResourceURLs, path));
    }),
  };
}

export function isClean(comparison: Comparison): boolean {
  return (
    comparison.notGranted.length === 0 &&
    comparison.unused.length === 0 &&
    comparison.refused.length === 0 &&
    comparison.nonResourceNotGranted.length === 0
  );
}

const resourceOf = (group: string, resource: string, subresource = "") =>
  `${group || "core"}/${resource}${subresource ? `/${subresource}` : ""}`;
const scopeOf = (namespace: string) => (namespace ? `ns ${namespace}` : "cluster");

function useLine(u: Use): string {
  return `${u.verb.padEnd(7)} ${resourceOf(u.group, u.resource, u.subresource)}  ${scopeOf(u.namespace)}${u.name ? `  name ${u.name}` : ""}`;
}

/**
 * The derived set, summarised: one line per verb, resource and scope kind, with the names when
 * they are fixed (few) and a count when they vary (namespaces, workloads, migrations).
 */
export function summarizeUses(uses: readonly Use[]): string[] {
  const groups = new Map<string, { namespaces: Set<string>; names: Set<string> }>();
  for (const u of uses) {
    const key = `${u.verb.padEnd(7)} ${resourceOf(u.group, u.resource, u.subresource)}`;
    const entry = groups.get(key) ?? { namespaces: new Set(), names: new Set() };
    entry.namespaces.add(u.namespace);
    entry.names.add(u.name);
    groups.set(key, entry);
  }
  const few = (values: Set<string>, what: string, none: string) => {
    const list = [...values].sort();
    if (list.length === 1 && list[0] === "") return none;
    return list.length <= 3 ? `${what} ${list.map((v) => v || "-").join(",")}` : `${list.length} ${what}s`;
  };
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([key, e]) =>
        `${key}  ${few(e.namespaces, "namespace", "cluster-wide")}  ${few(e.names, "name", "any name")}`,
    );
}

/** The report the script prints and the e2e test attaches to its failure. */
export function report(derived: Derived, comparison: Comparison): string {
  const unitLine = (u: GrantUnit) =>
    `${u.verb.padEnd(7)} ${resourceOf(u.group, u.resource)}  ${u.role}${u.namespace ? ` in ${u.namespace}` : ""}${u.name ? `  name ${u.name}` : ""}`;
  const section = (title: string, lines: string[]) =>
    [`${title} (${lines.length}):`, ...lines.map((l) => `  ${l}`)].join("\n");
  return [
    section("used", summarizeUses(derived.uses)),
    section("non-resource requests", derived.nonResource),
    section("used but not granted", comparison.notGranted.map(useLine)),
    section("granted but never used", comparison.unused.map(unitLine)),
    section("refused (401/403)", comparison.refused.map(useLine)),
    section("non-resource requests beyond the default roles", comparison.nonResourceNotGranted),
    isClean(comparison) ? "RBAC matches the evidence." : "RBAC does not match the evidence.",
  ].join("\n");
}
