// The commands end to end against a scripted API: what they print, which exit code they give, and
// that a refused verb writes nothing while a concurrent edit is reported rather than overwritten.
import { describe, expect, it } from "vitest";
import {
  EXIT_REFUSED,
  type PluginIo,
  runGet,
  runList,
  runVerb,
} from "../../../../src/cli/plugin/commands.ts";
import { runPlugin } from "../../../../src/cli/plugin/main.ts";
import {
  type LiveMigration,
  type MigrationApi,
  MigrationNotFound,
  PatchConflict,
} from "../../../../src/cli/plugin/migration-api.ts";
import type { SpecPatch } from "../../../../src/cli/plugin/verbs.ts";
import type { Terminal } from "../../../../src/cli/plugin/watch.ts";
import { NAME, NOW, progressingMigration, shopOrdersRestarting } from "./fixtures.ts";

const connection = { kubeconfig: undefined, context: undefined };

class ScriptedApi implements MigrationApi {
  readonly patches: SpecPatch[] = [];
  readonly namespacesRead: string[][] = [];
  /** Patches refused with a conflict before one lands, and what happens to the object at each. */
  conflicts = 0;
  onConflict: (object: Record<string, unknown>) => void = () => {};
  readonly objects: Record<string, unknown>;
  constructor(objects: Record<string, unknown>) {
    this.objects = objects;
  }
  async get(name: string) {
    if (!(name in this.objects)) throw new MigrationNotFound(`meshmigration ${name} not found`);
    return this.objects[name];
  }
  async list() {
    return Object.values(this.objects);
  }
  async patchSpec(name: string, patch: SpecPatch) {
    if (this.conflicts > 0) {
      this.conflicts--;
      this.onConflict(this.objects[name] as Record<string, unknown>);
      throw new PatchConflict(`meshmigration ${name} was changed by someone else`);
    }
    this.patches.push(patch);
    return this.objects[name];
  }
  async namespaceObjects(namespaces: readonly string[]) {
    this.namespacesRead.push([...namespaces]);
    return new Map(namespaces.map((ns) => [ns, shopOrdersRestarting()]));
  }
  live(): LiveMigration {
    throw new Error("not watched in these tests");
  }
}

const pipe: Terminal = {
  tty: false,
  color: false,
  size: () => undefined,
  write: () => {},
  listenForKeys: () => () => {},
  listenForSignals: () => () => {},
  listenForResize: () => () => {},
};

function io(api: MigrationApi) {
  const out: string[] = [];
  const err: string[] = [];
  const pluginIo: PluginIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readStdin: async () => "",
    terminal: () => pipe,
    connect: () => api,
    now: () => NOW,
  };
  return { pluginIo, stdout: () => out.join(""), stderr: () => err.join("") };
}

describe("steering verbs", () => {
  it("sends the one patch and prints what changed", async () => {
    const api = new ScriptedApi({ [NAME]: progressingMigration() });
    const run = io(api);
    expect(await runVerb({ name: NAME, request: { verb: "pause" }, connection }, run.pluginIo)).toBe(0);
    expect(api.patches).toEqual([{ metadata: { resourceVersion: "81234" }, spec: { paused: true } }]);
    expect(run.stdout()).toMatch(/^meshmigration\/istio-to-linkerd patched\n {2}paused: false → true\n/);
  });

  it("refuses with exit 2 and writes nothing", async () => {
    const api = new ScriptedApi({ [NAME]: progressingMigration() });
    const run = io(api);
    expect(await runVerb({ name: NAME, request: { verb: "resume" }, connection }, run.pluginIo)).toBe(
      EXIT_REFUSED,
    );
    expect(api.patches).toEqual([]);
    expect(run.stderr()).toMatch(/^refused: meshmigration istio-to-linkerd is not paused/);
  });

  it("reports a concurrent edit of the spec with exit 1 instead of overwriting it", async () => {
    const api = new ScriptedApi({ [NAME]: progressingMigration() });
    api.conflicts = 1;
    api.onConflict = (object) => {
      object.metadata = { ...(object.metadata as object), generation: 5, resourceVersion: "81240" };
    };
    const run = io(api);
    expect(await runVerb({ name: NAME, request: { verb: "rollback" }, connection }, run.pluginIo)).toBe(1);
    expect(run.stderr()).toBe(
      "error: meshmigration istio-to-linkerd's spec was changed by someone else while this command ran " +
        "(generation 4 → 5): nothing was changed. Run the command again to act on its spec as it is now.\n",
    );
    expect(api.patches).toEqual([]);
    expect(run.stdout()).toBe("");
  });

  it("reads again and patches when only the status moved on (the operator reporting progress)", async () => {
    const api = new ScriptedApi({ [NAME]: progressingMigration() });
    api.conflicts = 1;
    api.onConflict = (object) => {
      object.metadata = { ...(object.metadata as object), resourceVersion: "81239" };
    };
    const run = io(api);
    expect(await runVerb({ name: NAME, request: { verb: "rollback" }, connection }, run.pluginIo)).toBe(0);
    expect(api.patches).toEqual([{ metadata: { resourceVersion: "81239" }, spec: { rollback: true } }]);
  });

  it("gives up with the conflict after three status-only conflicts in a row", async () => {
    const api = new ScriptedApi({ [NAME]: progressingMigration() });
    api.conflicts = 3;
    const run = io(api);
    expect(await runVerb({ name: NAME, request: { verb: "rollback" }, connection }, run.pluginIo)).toBe(1);
    expect(run.stderr()).toBe("error: meshmigration istio-to-linkerd was changed by someone else\n");
  });
});

describe("get and list", () => {
  it("reads the workloads of the moving namespaces only, and prints the tree", async () => {
    const api = new ScriptedApi({ [NAME]: progressingMigration() });
    const run = io(api);
    expect(await runGet({ name: NAME, watch: false, allWorkloads: false, connection }, run.pluginIo)).toBe(0);
    expect(api.namespacesRead).toEqual([["shop-orders"]]);
    expect(run.stdout()).toContain("│  ├─ deployment/api     ◐ Restarting");
  });

  it("says a missing migration is not found, with exit 1", async () => {
    const run = io(new ScriptedApi({}));
    expect(await runGet({ name: "nope", watch: false, allWorkloads: false, connection }, run.pluginIo)).toBe(
      1,
    );
    expect(run.stderr()).toBe("error: meshmigration nope not found\n");
  });

  it("lists every migration", async () => {
    const run = io(new ScriptedApi({ [NAME]: progressingMigration() }));
    expect(await runList({ connection }, run.pluginIo)).toBe(0);
    expect(run.stdout()).toContain("istio-to-linkerd  ◐ Progressing  forward");
  });
});

describe("the command line", () => {
  it("prints a usage error and where to read more, with exit 1", async () => {
    const run = io(new ScriptedApi({}));
    expect(await runPlugin(["promote"], run.pluginIo)).toBe(1);
    expect(run.stderr()).toBe(
      "error: promote needs the MeshMigration's NAME\nRun kubectl meshmigration promote --help for usage.\n",
    );
  });

  it("keeps plan's own usage errors and exit code", async () => {
    const run = io(new ScriptedApi({}));
    expect(await runPlugin(["plan"], run.pluginIo)).toBe(1);
    expect(run.stderr()).toContain("error: plan needs -f FILE (the MeshMigration manifest)");
    expect(run.stderr()).toContain("kubectl meshmigration plan -f FILE");
  });
});
