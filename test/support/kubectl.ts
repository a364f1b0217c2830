// kubectl for end-to-end tests: the one built with the local cluster (same
// version as the apiserver), or $KUBECTL, or the one on PATH.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { e2eKubeconfigPath } from "./kube.ts";

function cachedKubectl(): string | undefined {
  const versions = readFileSync(resolve(import.meta.dirname, "../../scripts/cluster/versions.env"), "utf8");
  const value = (key: string) => new RegExp(`^${key}=(.+)$`, "m").exec(versions)?.[1];
  const root =
    process.env.MMO_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "mesh-migration-operator");
  const path = join(
    root,
    "bin",
    `k8s-${value("KUBERNETES_VERSION")}_etcd-${value("ETCD_VERSION")}_kwok-${value("KWOK_VERSION")}`,
    "kubectl",
  );
  return existsSync(path) ? path : undefined;
}

export function kubectlPath(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  if (process.env.E2E_CLUSTER_BIN_DIR) return join(process.env.E2E_CLUSTER_BIN_DIR, "kubectl");
  return cachedKubectl() ?? "kubectl";
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the e2e cluster; never throws on a non-zero exit (tests assert on it). */
export function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      kubectlPath(),
      ["--kubeconfig", e2eKubeconfigPath(), ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (input !== undefined) {
      child.stdin?.end(input);
    }
  });
}
