// The kustomize base in deploy/: least-privilege RBAC and a restricted, highly available
// Deployment. Read from the manifests as kubectl would apply them (kustomization resources).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseDockerfile } from "../../../scripts/image/dockerfile.ts";
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

/** group/resource → sorted verbs, for every rule of a role. */
function grants(rules: Rule[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group || "core"}/${resource}`;
        out[key] ??= new Set();
        for (const verb of rule.verbs) out[key].add(verb);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

const read = ["get", "list", "watch"];
const sorted = (verbs: string[]) => [...verbs].sort();

describe("kustomization", () => {
  it("lists every manifest in deploy/ and only files that exist", () => {
    const yamlFiles = readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
    expect(sorted(kustomization.resources)).toEqual(sorted(yamlFiles));
    for (const file of kustomization.resources) expect(existsSync(resolve(DEPLOY, file)), file).toBe(true);
  });

  it("installs into mesh-migration-system and pins the image to the package version", () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(kustomization.namespace).toBe(NAMESPACE);
    expect(one("Namespace").metadata.name).toBe(NAMESPACE);
    expect(kustomization.images).toContainEqual(
      expect.objectContaining({ name: "mesh-migration-operator", newTag: pkg.version }),
    );
    for (const m of manifests) {
      if (m.kind !== "Namespace" && !m.kind.startsWith("Cluster"))
        expect(m.metadata.namespace).toBe(NAMESPACE);
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

  it("grants the operator exactly what it uses, cluster wide", () => {
    expect(grants(rulesOf(one("ClusterRole")))).toEqual({
      "meshmigration.io/meshmigrations": sorted([...read, "patch", "update"]),
      "meshmigration.io/meshmigrations/status": sorted(["get", "patch", "update"]),
      "meshmigration.io/meshmigrations/finalizers": ["update"],
      "core/namespaces": sorted([...read, "patch"]),
      "core/pods": sorted(read),
      "events.k8s.io/events": sorted(["create", "patch"]),
      "apps/deployments": sorted([...read, "patch"]),
      "apps/statefulsets": sorted([...read, "patch"]),
      "apps/daemonsets": sorted([...read, "patch"]),
      "admissionregistration.k8s.io/mutatingwebhookconfigurations": sorted(read),
      "admissionregistration.k8s.io/validatingadmissionpolicies": sorted([
        ...read,
        "create",
        "patch",
        "update",
        "delete",
      ]),
      "admissionregistration.k8s.io/validatingadmissionpolicybindings": sorted([
        ...read,
        "create",
        "patch",
        "update",
        "delete",
      ]),
      // Every mesh policy resource the preflight reads (one list, POLICY_RESOURCES), read-only.
      ...Object.fromEntries(POLICY_RESOURCES.map((r) => [`${r.group}/${r.plural}`, sorted(read)])),
    });
  });

  it("grants Leases only in the operator's namespace, for leader election", () => {
    const role = one("Role");
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(grants(rulesOf(role))).toEqual({
      "coordination.k8s.io/leases": sorted(["get", "create", "patch", "update"]),
    });
  });

  it("binds both roles to the operator's ServiceAccount and nothing else", () => {
    const serviceAccount = one("ServiceAccount");
    expect(serviceAccount.metadata).toMatchObject({ name: SERVICE_ACCOUNT, namespace: NAMESPACE });
    const subject = { kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: NAMESPACE };
    const clusterBinding = one("ClusterRoleBinding") as Manifest & { roleRef: unknown; subjects: unknown };
    expect(clusterBinding.roleRef).toMatchObject({
      kind: "ClusterRole",
      name: one("ClusterRole").metadata.name,
    });
    expect(clusterBinding.subjects).toEqual([subject]);
    const binding = one("RoleBinding") as Manifest & { roleRef: unknown; subjects: unknown };
    expect(binding.metadata.namespace).toBe(NAMESPACE);
    expect(binding.roleRef).toMatchObject({ kind: "Role", name: one("Role").metadata.name });
    expect(binding.subjects).toEqual([subject]);
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
