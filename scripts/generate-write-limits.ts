// Writes deploy/write-limits.yaml from src/install/write-limits.ts. Run: npm run crds
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderWriteLimitsYaml, WRITE_LIMITS_FILE } from "../src/install/write-limits.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(resolve(root, WRITE_LIMITS_FILE), renderWriteLimitsYaml());
console.log(`wrote ${WRITE_LIMITS_FILE}`);
