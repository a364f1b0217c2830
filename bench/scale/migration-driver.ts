// The benchmark's hand on its MeshMigrations: apply, roll back, pause, wait, delete, by the
// API as a user's kubectl would.
import * as k8s from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../../src/api/constants.ts";

const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

export class MigrationDriver {
  readonly #api: k8s.CustomObjectsApi;
  readonly #run: string;
  readonly #created = new Set<string>();

  constructor(kc: k8s.KubeConfig, run: string) {
    this.#api = kc.makeApiClient(k8s.CustomObjectsApi);
    this.#run = run;
  }

  name(suffix: string): string {
    return `${this.#run}-${suffix}`;
  }

  async phase(suffix: string): Promise<string | undefined> {
    const object = (await this.#api.getClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      name: this.name(suffix),
    })) as {
      status?: { phase?: string };
    };
    return object.status?.phase;
  }

  async waitForPhase(suffix: string, phase: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.phase(suffix)) !== phase) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${this.name(suffix)} to reach ${phase}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async migrate(
    suffix: string,
    namespaces: readonly string[],
    strategy: Record<string, number>,
    timeoutMs: number,
  ) {
    const name = this.name(suffix);
    this.#created.add(name);
    await this.#api.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "MeshMigration",
        metadata: { name, labels: { "bench.meshmigration.io/run": this.#run } },
        spec: {
          source: { mesh: "istio" },
          target: { mesh: "linkerd" },
          batches: [{ name: "all", namespaces: [...namespaces] }],
          strategy: { ...strategy, blockOnWarnings: false },
        },
      },
    });
    await this.waitForPhase(suffix, "Succeeded", timeoutMs);
  }

  async patchSpec(suffix: string, spec: Record<string, unknown>): Promise<void> {
    await this.#api.patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, name: this.name(suffix), body: { spec } },
      MERGE,
    );
  }

  async rollBack(suffix: string, timeoutMs: number): Promise<void> {
    await this.patchSpec(suffix, { rollback: true });
    await this.waitForPhase(suffix, "RolledBack", timeoutMs);
  }

  /** Deletes it and waits until it is gone (the finalizer has run). */
  async remove(suffix: string): Promise<void> {
    const name = this.name(suffix);
    await this.#api
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })
      .catch(() => undefined);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const gone = await this.phase(suffix).then(
        () => false,
        (error) => (error as { code?: number }).code === 404,
      );
      if (gone) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    this.#created.delete(name);
  }

  async removeAll(): Promise<void> {
    for (const name of [...this.#created]) await this.remove(name.slice(this.#run.length + 1));
  }
}
