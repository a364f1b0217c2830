// The scaffolding every operator end-to-end suite shares: the CRD installed, one
// operator process for the file, and clean-up of what the tests created
// (MeshMigrations first, while the operator still runs to release them).
import { afterAll, beforeAll } from "vitest";
import { type AppNamespaceOptions, createAppNamespace } from "./apps.ts";
import { installCrd } from "./crd.ts";
import { type E2eClients, e2eClients, uniqueName } from "./kube.ts";
import { deleteMigration, patchMigrationSpec } from "./migrations.ts";
import { type OperatorOptions, type OperatorProcess, startOperator } from "./operator.ts";

export interface MigrationSuite {
  clients: E2eClients;
  operator: () => OperatorProcess;
  /** A uniquely named namespace with sample workloads, deleted after the file. */
  appNamespace: (prefix: string, options?: AppNamespaceOptions) => Promise<string>;
  /** A unique MeshMigration name, deleted after the file. */
  migrationName: (prefix: string) => string;
  /** Tracks a namespace created by the test itself for deletion after the file. */
  trackNamespace: (name: string) => string;
  /** `kubectl patch meshmigration NAME --type=merge` of the spec, as a user would. */
  patchSpec: (name: string, spec: Record<string, unknown>) => Promise<void>;
}

export function migrationSuite(options: { operator?: OperatorOptions; before?: () => Promise<void> } = {}) {
  const clients = e2eClients();
  const namespaces: string[] = [];
  const migrations: string[] = [];
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await installCrd();
    await options.before?.();
    operator = await startOperator(options.operator);
  });

  afterAll(async () => {
    for (const name of migrations) await deleteMigration(name);
    await operator?.stop();
    for (const name of namespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  });

  const suite: MigrationSuite = {
    clients,
    operator: () => {
      if (!operator) throw new Error("the operator has not started yet");
      return operator;
    },
    appNamespace: async (prefix, appOptions = {}) => {
      const name = suite.trackNamespace(uniqueName(prefix));
      await createAppNamespace(clients, name, appOptions);
      return name;
    },
    migrationName: (prefix) => {
      const name = uniqueName(prefix);
      migrations.push(name);
      return name;
    },
    trackNamespace: (name) => {
      namespaces.push(name);
      return name;
    },
    patchSpec: patchMigrationSpec,
  };
  return suite;
}
