// Installs the generated CRD on the e2e cluster and waits until it is served.
import { resolve } from "node:path";
import { kubectl } from "./kubectl.ts";

export const CRD_DIR = resolve(import.meta.dirname, "../../crds");

export async function installCrd(): Promise<void> {
  const applied = await kubectl(["apply", "--server-side", "--force-conflicts", "-f", CRD_DIR]);
  if (applied.code !== 0) throw new Error(`kubectl apply of crds/ failed: ${applied.stderr}`);
  const established = await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/meshmigrations.meshmigration.io",
  ]);
  if (established.code !== 0) throw new Error(`CRD not established: ${established.stderr}`);
}

/** Stand-ins for the mesh policy CRDs a meshed cluster has (the preflight's informers watch them). */
export const POLICY_CRD_DIR = resolve(import.meta.dirname, "../fixtures/policy-crds");

export async function installPolicyCrds(): Promise<void> {
  const applied = await kubectl(["apply", "--server-side", "-f", POLICY_CRD_DIR]);
  if (applied.code !== 0) throw new Error(`kubectl apply of the policy CRDs failed: ${applied.stderr}`);
  const established = await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "-f",
    POLICY_CRD_DIR,
  ]);
  if (established.code !== 0) throw new Error(`policy CRDs not established: ${established.stderr}`);
}
