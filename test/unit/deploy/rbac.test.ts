// The kustomize base in deploy/: least-privilege RBAC and a restricted, highly available
// Deployment. Read from the manifests as kubectl would apply them (kustomization resources).
// That the RBAC is exactly what the operator uses is proven from the apiserver's audit log by
// test/e2e/least-privilege.test.ts; here, the properties that hold whatever it uses, against the
// names the code writes to.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseDockerfile } from "../../../scripts/image/dockerfile.ts";
import { DEFAULT_LEADER_ELECTION_ID } from "../../../src/api/constants.ts";
import { EVENT_NAMESPACE } from "../../../src/controller/events.ts";
import { GUARD_BINDING_NAME, GUARD_POLICY_NAME } from "../../../src/controller/guard.ts";
import { POLICY_RESOURCES } from "../../../src/preflight/index.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const DEPLOY = resolve(REPO_ROOT, "deploy");
const NAMESPACE = "mesh-migration-system";
const SERVICE_ACCOUNT = "mesh-migration-operator";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
  privileged?: boolean;
}

const kustomization = parseAllDocuments(
  readFileSync(resolve(DEPLOY, "kustomization.yaml"), "utf8"),
)[0]?.toJS() as {
  namespace: string;
  resources: string[];
  images: Array<{ name: string; newName?: string; newTag: string }>;
};
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(resolve(DEPLOY, file), "utf8")).map((doc) => doc.toJS() as Manifest),
);
const all = (kind: string) => manifests.filter((m) => m.kind === kind);
const one = (kind: string): Manifest => {
  const found = all(kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Manifest;
};
const rulesOf = (m: Manifest) => (m as unknown as { rules: Rule[] }).rules;

const sorted = (verbs: string[]) => [...verbs].sort();

describe("kustomization", () => {
  it("lists every manifest in deploy/ and only files that exist", () => {
    const yamlFiles = readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
    expect(sorted(kustomization.resources)).toEqual(sorted(yamlFiles));
    for (const file of kustomization.resources) expect(existsSync(resolve(DEPLOY, file)), file).toBe(true);
  });

  it("installs into mesh-migration-system, Events' Role aside, and pins the image to the package version", () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    // A `namespace:` would move the events Role and RoleBinding out of the Events' namespace.
    expect(kustomization.namespace).toBeUndefined();
    expect(one("Namespace").metadata.name).toBe(NAMESPACE);
    expect(kustomization.images).toContainEqual(
      expect.objectContaining({ name: "mesh-migration-operator", newTag: pkg.version }),
    );
    for (const m of manifests) {
      const clusterScoped =
        m.kind === "Namespace" || m.kind.startsWith("Cluster") || m.kind.startsWith("ValidatingAdmission");
      if (clusterScoped) continue;
      const eventsRbac = m.metadata.name === "mesh-migration-operator-events";
      expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe(
        eventsRbac ? EVENT_NAMESPACE : NAMESPACE,
      );
    }
  });
});

describe("RBAC", () => {
  const roles = [...all("ClusterRole"), ...all("Role")];

  it("has no wildcards, no secrets, no exec or token minting, no escalate, bind or impersonate", () => {
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      for (const rule of rulesOf(role)) {
        const words = [
          ...(rule.apiGroups ?? []),
          ...(rule.resources ?? []),
          ...rule.verbs,
          ...(rule.resourceNames ?? []),
        ];
        expect(
          words.filter((w) => w.includes("*")),
          `${role.metadata.name}: wildcard`,
        ).toEqual([]);
        expect(rule.nonResourceURLs, `${role.metadata.name}: nonResourceURLs`).toBeUndefined();
        for (const resource of rule.resources ?? []) {
          expect(resource).not.toMatch(
            /^(secrets|pods\/(exec|attach|portforward)|serviceaccounts\/token|nodes\/proxy)$/,
          );
        }
        for (const verb of rule.verbs) expect(verb).not.toMatch(/^(escalate|bind|impersonate)$/);
      }
    }
  });

  /** Every rule of every role, with where it applies. */
  const rules = roles.flatMap((role) =>
    rulesOf(role).map((rule) => ({ ...rule, role: role.metadata.name, namespace: role.metadata.namespace })),
  );
  const on = (group: string, resource: string) =>
    rules.filter((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource));

  it("never deletes or replaces: every write is a patch, or a create that is scoped", () => {
    // Waypoints aside: created and deleted under their own write limit (waypoint-write-limits.ts).
    const waypoints = (rule: (typeof rules)[number]) =>
      rule.apiGroups?.join() === "gateway.networking.k8s.io" && rule.resources?.join() === "gateways";
    for (const rule of rules.filter((r) => !waypoints(r))) {
      expect(rule.verbs.filter((v) => /^(delete|deletecollection|update)$/.test(v))).toEqual([]);
      // A create is scoped by name (a server-side apply that creates), or by one namespace.
      if (rule.verbs.includes("create")) expect(rule.resourceNames ?? rule.namespace).toBeDefined();
    }
  });

  it("writes admission configuration only under the double-mesh guard's own names", () => {
    const admission = rules.filter((r) => r.apiGroups?.includes("admissionregistration.k8s.io"));
    for (const rule of admission) {
      const writes = rule.verbs.filter((v) => !["get", "list", "watch"].includes(v));
      if (writes.length === 0) continue;
      expect(rule.resources?.sort()).toEqual([
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
      ]);
      expect(rule.resourceNames).toEqual([...new Set([GUARD_POLICY_NAME, GUARD_BINDING_NAME])]);
    }
    for (const rule of on("admissionregistration.k8s.io", "mutatingwebhookconfigurations")) {
      expect(rule.verbs.sort()).toEqual(["list", "watch"]);
    }
  });

  it("grants Events only in the namespace the recorder writes them to", () => {
    const events = on("events.k8s.io", "events");
    expect(events.length).toBeGreaterThan(0);
    for (const rule of [...events, ...on("", "events")]) expect(rule.namespace).toBe(EVENT_NAMESPACE);
  });

  it("grants Leases only in the operator's namespace, read and patched by the default Lease name", () => {
    const leases = on("coordination.k8s.io", "leases");
    expect(leases.length).toBeGreaterThan(0);
    for (const rule of leases) {
      expect(rule.namespace).toBe(NAMESPACE);
      if (rule.verbs.some((v) => v !== "create"))
        expect(rule.resourceNames).toEqual([DEFAULT_LEADER_ELECTION_ID]);
    }
  });

  it("can read every mesh policy resource the preflight reads (one list, POLICY_RESOURCES)", () => {
    for (const resource of POLICY_RESOURCES) {
      const readable = on(resource.group, resource.plural).flatMap((r) => r.verbs);
      expect(readable, `${resource.group}/${resource.plural}`).toEqual(
        expect.arrayContaining(["list", "watch"]),
      );
    }
  });

  it("binds every role to the operator's ServiceAccount and nothing else", () => {
    const serviceAccount = one("ServiceAccount");
    expect(serviceAccount.metadata).toMatchObject({ name: SERVICE_ACCOUNT, namespace: NAMESPACE });
    const subject = { kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: NAMESPACE };
    const clusterBinding = one("ClusterRoleBinding") as Manifest & { roleRef: unknown; subjects: unknown };
    expect(clusterBinding.roleRef).toMatchObject({
      kind: "ClusterRole",
      name: one("ClusterRole").metadata.name,
    });
    expect(clusterBinding.subjects).toEqual([subject]);
    const bindings = all("RoleBinding") as Array<Manifest & { roleRef: { kind: string; name: string } }>;
    expect(bindings.map((b) => b.roleRef.name).sort()).toEqual(
      all("Role")
        .map((r) => r.metadata.name)
        .sort(),
    );
    for (const binding of bindings) {
      const role = all("Role").find((r) => r.metadata.name === binding.roleRef.name);
      expect(binding.metadata.namespace).toBe(role?.metadata.namespace);
      expect(binding.roleRef.kind).toBe("Role");
      expect((binding as unknown as { subjects: unknown }).subjects).toEqual([subject]);
    }
  });
});

describe("Deployment", () => {
  const deployment = one("Deployment") as Manifest & {
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          serviceAccountName: string;
          securityContext?: SecurityContext;
          containers: Container[];
          topologySpreadConstraints?: Array<{ topologyKey: string }>;
          affinity?: { podAntiAffinity?: unknown };
          hostNetwork?: boolean;
          hostPID?: boolean;
        };
      };
    };
  };
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0] as Container;
  /** The value in force: the container's setting, else the pod's. */
  const effective = <K extends keyof SecurityContext>(key: K) =>
    container.securityContext?.[key] ?? pod.securityContext?.[key];

  it("runs one container as the operator's ServiceAccount", () => {
    expect(pod.containers).toHaveLength(1);
    expect(pod.serviceAccountName).toBe(SERVICE_ACCOUNT);
    expect(container.image).toBe("mesh-migration-operator");
  });

  it("meets the restricted Pod Security Standard, as the image's own user", () => {
    const dockerfile = parseDockerfile(readFileSync(resolve(REPO_ROOT, "Dockerfile"), "utf8"));
    const imageUser = dockerfile.stages
      .at(-1)
      ?.instructions.filter((i) => i.keyword === "USER")
      .at(-1)?.args;
    expect(effective("runAsNonRoot")).toBe(true);
    expect(effective("runAsUser")).toBe(65532);
    expect(imageUser?.split(":")[0]).toBe(String(effective("runAsUser")));
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(container.securityContext?.capabilities?.drop).toEqual(["ALL"]);
    expect(container.securityContext?.capabilities?.add).toBeUndefined();
    expect(effective("seccompProfile")).toEqual({ type: "RuntimeDefault" });
    expect(effective("privileged")).not.toBe(true);
    expect(pod.hostNetwork).not.toBe(true);
    expect(pod.hostPID).not.toBe(true);
  });

  it("runs two replicas with leader election, spread across nodes", () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container.args).toContain("--leader-elect=true");
    const spreadKeys = (pod.topologySpreadConstraints ?? []).map((c) => c.topologyKey);
    expect(spreadKeys.includes("kubernetes.io/hostname") || pod.affinity?.podAntiAffinity !== undefined).toBe(
      true,
    );
  });

  it("tells the operator its pod name and namespace through the downward API", () => {
    const fieldOf = (name: string) =>
      container.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldOf("POD_NAME")).toBe("metadata.name");
    expect(fieldOf("POD_NAMESPACE")).toBe("metadata.namespace");
  });

  it("probes /healthz and /readyz on the named metrics port 8080, with requests and limits", () => {
    expect(container.ports).toContainEqual(
      expect.objectContaining({ name: "http-metrics", containerPort: 8080 }),
    );
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http-metrics" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http-metrics" });
    for (const resource of ["cpu", "memory"]) {
      expect(container.resources?.requests?.[resource], `requests.${resource}`).toBeDefined();
      expect(container.resources?.limits?.[resource], `limits.${resource}`).toBeDefined();
    }
  });

  it("keeps Node's heap under the container's memory limit", () => {
    const container = deployment.spec.template.spec.containers[0] as Container;
    const nodeOptions = container.env?.find((e) => e.name === "NODE_OPTIONS")?.value ?? "";
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
    const limitMiB = Number(/^(\d+)Mi$/.exec(container.resources?.limits?.memory ?? "")?.[1]);
    expect(heapMiB).toBeGreaterThan(0);
    expect(heapMiB).toBeLessThanOrEqual(limitMiB / 2);
  });

  it("is selected by the metrics Service and kept available by a PodDisruptionBudget", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    const service = one("Service") as Manifest & {
      spec: { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> };
    };
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.spec.ports.map((p) => p.targetPort)).toContain("http-metrics");
    const budget = one("PodDisruptionBudget") as Manifest & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(budget.spec.minAvailable).toBe(1);
    expect(podLabels).toMatchObject(budget.spec.selector.matchLabels);
  });
});
