// kubectl as the demo runs it: the binary built with the local cluster (same version as the
// apiserver) and the cluster's kubeconfig, whatever the user's environment says.
import { execFile } from "node:child_process";
import { join } from "node:path";

export interface Kubectl {
  /** Absolute path of the kubectl binary. */
  path: string;
  kubeconfig: string;
  /** Runs kubectl; resolves with its output, rejects with stderr when it exits non-zero. */
  run(args: string[], input?: string): Promise<string>;
}

export function clusterKubectl(binDir: string, kubeconfig: string): Kubectl {
  const path = join(binDir, "kubectl");
  return {
    path,
    kubeconfig,
    run: (args, input) =>
      new Promise((resolvePromise, reject) => {
        const child = execFile(
          path,
          ["--kubeconfig", kubeconfig, ...args],
          { maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => {
            if (error) {
              reject(new Error(`kubectl ${args.join(" ")} failed: ${(stderr || String(error)).trim()}`));
            } else {
              resolvePromise(stdout);
            }
          },
        );
        if (input !== undefined) child.stdin?.end(input);
      }),
  };
}
