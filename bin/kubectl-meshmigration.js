#!/usr/bin/env node
// The kubectl-meshmigration command: kubectl runs it as `kubectl meshmigration ...` when it is on
// PATH. An installed package runs the compiled dist/; a repository checkout runs the TypeScript
// sources directly (Node >= 24 strips the types).
import "./require-node.js";
import { existsSync } from "node:fs";

const compiled = new URL("../dist/cli/plugin/main.js", import.meta.url);
const entry = existsSync(compiled) ? compiled : new URL("../src/cli/plugin/main.ts", import.meta.url);
const { runPluginProcess } = await import(entry.href);
await runPluginProcess(process.argv.slice(2));
