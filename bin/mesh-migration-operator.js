#!/usr/bin/env node
// The mesh-migration-operator command. An installed package runs the compiled dist/; a
// repository checkout runs the TypeScript sources directly (Node >= 24 strips the types).
import "./require-node.js";
import { existsSync } from "node:fs";

const compiled = new URL("../dist/cli/main.js", import.meta.url);
const entry = existsSync(compiled) ? compiled : new URL("../src/cli/main.ts", import.meta.url);
const { runCli } = await import(entry.href);
process.exitCode = await runCli(process.argv.slice(2));
