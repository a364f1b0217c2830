// Writes the MeshMigration CRD generated from src/api/schema.ts. Run: npm run crds
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CRD_FILE, renderCrdYaml } from "../src/api/crd.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const target = resolve(root, CRD_FILE);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, renderCrdYaml());
console.log(`wrote ${CRD_FILE}`);
