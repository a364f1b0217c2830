// The deployable operator against a real apiserver: the kustomize base in deploy/ validates and
// installs under the restricted Pod Security Standard. What the operator may do with its
// ServiceAccount is test/e2e/least-privilege.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { livePods, meshOf } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import {
  applyBaseObjects,
  DEPLOY_DIR,
  OPERATOR_NAMESPACE as NAMESPACE,
  operatorNamespaceUsable,
  renderedBase,
  SERVICE_ACCOUNT,
  waitUntilNamespaceGone,
} from "../support/deploy.ts";
import { e2eClients } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";

const clients = e2eClients();

beforeAll(async () => {
  await installCrd();
  await operatorNamespaceUsable(clients);
});

afterAll(async () => {
  await kubectl(["delete", "-k", DEPLOY_DIR, "--ignore-not-found", "--wait=false"]);
  await waitUntilNamespaceGone(clients, NAMESPACE).catch(() => undefined);
});

describe("deploy/ kustomize base", () => {
  it("passes the apiserver's validation: kubectl apply -k deploy/ --dry-run=server", async () => {
    // Namespaced objects can only be dry-run into an existing namespace (kubectl creates none in a
    // dry run), so the namespace goes first, as deploy/README.md tells users.
    await applyBaseObjects(new Set(["Namespace"]));
    const dryRun = await kubectl(["apply", "-k", DEPLOY_DIR, "--dry-run=server"]);
    expect(dryRun.stderr).toBe("");
    expect(dryRun.code).toBe(0);
    const { objects } = await renderedBase();
    for (const object of objects) {
      expect(dryRun.stdout).toMatch(new RegExp(`${object.kind.toLowerCase()}[^ ]*/${object.metadata.name} `));
    }
  });

  it("installs two unmeshed replicas that the restricted Pod Security Standard admits", async () => {
    const applied = await kubectl(["apply", "-k", DEPLOY_DIR]);
    expect(applied.code, applied.stderr).toBe(0);
    // The namespace enforces "restricted": a pod that broke it would be refused, not created.
    expect(applied.stderr).not.toMatch(/PodSecurity/);
    const rollout = await kubectl([
      "rollout",
      "status",
      "-n",
      NAMESPACE,
      "deployment/mesh-migration-operator",
      "--timeout=120s",
    ]);
    expect(rollout.code, rollout.stderr).toBe(0);
    const pods = await livePods(clients, NAMESPACE);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(meshOf(pod)).toBe("none");
      expect(pod.spec?.serviceAccountName).toBe(SERVICE_ACCOUNT);
      expect(pod.spec?.containers[0]?.image).toBe("mesh-migration-operator:0.1.0");
      expect(pod.spec?.containers[0]?.env?.map((e) => e.name)).toEqual([
        "POD_NAME",
        "POD_NAMESPACE",
        "NODE_OPTIONS",
      ]);
    }
    const budget = await kubectl(["get", "pdb", "-n", NAMESPACE, "mesh-migration-operator", "-o", "json"]);
    expect(JSON.parse(budget.stdout).spec.minAvailable).toBe(1);
    // The pods above are kwok's stand-ins (no container runs here); least-privilege.test.ts runs
    // the operator as a process with the ServiceAccount's token. Scale down so nothing claims its Lease.
    await kubectl(["scale", "-n", NAMESPACE, "deployment/mesh-migration-operator", "--replicas=0"]);
  });
});
