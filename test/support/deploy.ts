// The kustomize base in deploy/ as the end-to-end suites install it, and the operator's
// ServiceAccount token as a kubeconfig.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { type E2eClients, e2eKubeConfig } from "./kube.ts";
import { kubectl } from "./kubectl.ts";
import { waitFor } from "./wait.ts";

export const DEPLOY_DIR = resolve(import.meta.dirname, "../../deploy");
export const OPERATOR_NAMESPACE = "mesh-migration-system";
export const SERVICE_ACCOUNT = "mesh-migration-operator";
/** The kinds that give the ServiceAccount its permissions (and the namespace it lives in). */
export const RBAC_KINDS = new Set([
  "Namespace",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
]);

/** The kinds that hold the ServiceAccount to the keys it owns (deploy/write-limits.yaml). */
export const WRITE_LIMIT_KINDS = new Set(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);

export interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The base as `kubectl apply -k` sends it. */
export async function renderedBase(): Promise<{ yaml: string; objects: Manifest[] }> {
  const rendered = await kubectl(["kustomize", DEPLOY_DIR]);
  if (rendered.code !== 0) throw new Error(`kubectl kustomize deploy/ failed: ${rendered.stderr}`);
  const documents = parseAllDocuments(rendered.stdout);
  return { yaml: rendered.stdout, objects: documents.map((d) => d.toJS() as Manifest) };
}

/** The rendered objects of these kinds, as one YAML stream. */
export async function baseObjectsOf(kinds: Set<string>): Promise<string> {
  const { yaml } = await renderedBase();
  return parseAllDocuments(yaml)
    .filter((d) => kinds.has((d.toJS() as Manifest).kind))
    .map((d) => d.toString())
    .join("---\n");
}

export async function applyBaseObjects(kinds: Set<string>): Promise<void> {
  const applied = await kubectl(["apply", "-f", "-"], await baseObjectsOf(kinds));
  if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
}

/** The HTTP status an API call ends with: 200 on success, else the apiserver's code. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "number") return code;
    throw error;
  }
}

export async function waitUntilNamespaceGone(clients: E2eClients, name: string): Promise<void> {
  await waitFor(async () => (await statusOf(clients.core.readNamespace({ name }))) === 404, {
    description: `namespace ${name} to be deleted`,
    timeoutMs: 120_000,
    intervalMs: 500,
  });
}

/** A namespace left terminating by an earlier run would refuse new objects: wait it out. */
export async function operatorNamespaceUsable(clients: E2eClients): Promise<void> {
  const previous = await clients.core.readNamespace({ name: OPERATOR_NAMESPACE }).catch(() => undefined);
  if (previous?.status?.phase === "Terminating") await waitUntilNamespaceGone(clients, OPERATOR_NAMESPACE);
}

/** `kubectl create token` for the operator's ServiceAccount (the RBAC kinds applied first). */
export async function operatorToken(): Promise<string> {
  const token = await kubectl([
    "create",
    "token",
    SERVICE_ACCOUNT,
    "-n",
    OPERATOR_NAMESPACE,
    "--duration=2h",
  ]);
  if (token.code !== 0) throw new Error(`kubectl create token failed: ${token.stderr}`);
  return token.stdout.trim();
}

/** A kubeconfig that authenticates with `token`: the admin kubeconfig's server and CA, no client certificate. */
export function writeTokenKubeconfig(path: string, token: string): string {
  const cluster = e2eKubeConfig().getCurrentCluster();
  if (!cluster) throw new Error("the e2e kubeconfig has no current cluster");
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "e2e", server: cluster.server, caFile: cluster.caFile, caData: cluster.caData }],
    users: [{ name: SERVICE_ACCOUNT, token }],
    contexts: [{ name: "operator", cluster: "e2e", user: SERVICE_ACCOUNT }],
    currentContext: "operator",
  });
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
