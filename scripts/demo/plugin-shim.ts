// `kubectl meshmigration` in the demo's shell: kubectl runs any executable named kubectl-<name>
// on PATH, and bin/kubectl-meshmigration.js needs Node 24, which a system Node may not be. The
// demo writes a two-line shim that runs it on the Node the demo itself runs on (the pinned one).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./settings.ts";

const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** Writes the shim into DIR/plugin-bin and returns that directory, for the PATH. */
export function writePluginShim(clusterDir: string): string {
  const dir = join(clusterDir, "plugin-bin");
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, "kubectl-meshmigration");
  const plugin = join(REPO_ROOT, "bin", "kubectl-meshmigration.js");
  writeFileSync(shim, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(plugin)} "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}
