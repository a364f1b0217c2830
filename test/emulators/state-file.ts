// The emulator's state file: its presence means "registered and serving".
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { STATE_FILE } from "./names.ts";

export interface EmulatorsState {
  pid: number;
  istioPort: number;
  linkerdPort: number;
  /** Port of each non-default Istio revision's injector. */
  istioRevisionPorts: Record<string, number>;
  nativeSidecars: boolean;
  /** Whose injectors serve: the meshes' own binaries, or our emulations. */
  meshes: "real" | "emulated";
}

export function stateFilePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** Written atomically (temp file, then rename), so a reader never sees half of it. */
export function writeStateFile(stateDir: string, state: EmulatorsState): void {
  const path = stateFilePath(stateDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

export function readStateFile(stateDir: string): EmulatorsState | undefined {
  try {
    return JSON.parse(readFileSync(stateFilePath(stateDir), "utf8")) as EmulatorsState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export function removeStateFile(stateDir: string): void {
  rmSync(stateFilePath(stateDir), { force: true });
}
