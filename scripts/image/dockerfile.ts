// The Dockerfile read as data, and the project's rules for it, without a Docker engine: what
// the Deployment's restricted security context and the test runtime need from the image.
// Used by test/unit/deploy/dockerfile.test.ts (the rules), image-layout.test.ts (the layout it
// builds and runs) and rbac.test.ts (the image's USER against the Deployment's).
import { readFileSync } from "node:fs";
import { join, posix, resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dirname, "../..");

// ---------------------------------------------------------------------------------------------
// Parsing

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** The image named by FROM, as written. */
  image: string;
  /** The `AS` name, if any. */
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG instructions before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

/** Splits a Dockerfile into stages and instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Dockerfile {
  const result: Dockerfile = { globalArgs: [], stages: [] };
  const lines = text.split(/\r?\n/);
  let pending: { args: string[]; line: number } | undefined;
  const finish = (logical: string, line: number) => {
    const match = /^(\S+)\s*([\s\S]*)$/.exec(logical.trim());
    if (!match) return;
    const instruction = { keyword: (match[1] ?? "").toUpperCase(), args: (match[2] ?? "").trim(), line };
    if (instruction.keyword === "FROM") {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      const stage: Stage = { image: from?.[1] ?? instruction.args, instructions: [instruction] };
      if (from?.[2]) stage.name = from[2];
      result.stages.push(stage);
    } else if (result.stages.length === 0) {
      if (instruction.keyword === "ARG") result.globalArgs.push(instruction);
    } else {
      result.stages.at(-1)?.instructions.push(instruction);
    }
  };
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comments (parser directives included) and blank lines, also between continuation lines.
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const continued = trimmed.endsWith("\\");
    const content = continued ? trimmed.slice(0, -1) : trimmed;
    if (pending) pending.args.push(content);
    else pending = { args: [content], line: index + 1 };
    if (!continued) {
      finish(pending.args.join(" "), pending.line);
      pending = undefined;
    }
  });
  if (pending) finish(pending.args.join(" "), pending.line);
  return result;
}

/** The arguments of an exec-form (JSON array) instruction, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `--flag=value` options and the remaining words of a COPY/ADD instruction. */
export function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const words = execForm(args) ?? args.split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith("--")) {
    const [flag = "", value = ""] = (words.shift() ?? "").slice(2).split("=", 2);
    flags[flag] = value;
  }
  const dest = words.pop() ?? "";
  return { flags, sources: words, dest };
}

/** The stage images, with global ARG defaults substituted. */
export function resolvedImage(dockerfile: Dockerfile, stage: Stage): string {
  const defaults = new Map<string, string>();
  for (const arg of dockerfile.globalArgs) {
    const [name = "", value = ""] = arg.args.split("=", 2);
    defaults.set(name, value.replace(/^"|"$/g, ""));
  }
  return stage.image.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => defaults.get(name) ?? whole);
}

/** The Node major an image provides: node:<version>-..., or distroless nodejs<major>. */
export function nodeMajorOf(image: string): number | undefined {
  const official = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[.-]|$)/.exec(image);
  if (official) return Number(official[1]);
  const distroless = /\/distroless\/nodejs(\d+)-/.exec(image);
  if (distroless) return Number(distroless[1]);
  return undefined;
}

function referencesStage(dockerfile: Dockerfile, image: string): boolean {
  return dockerfile.stages.some((s) => s.name !== undefined && s.name === image);
}

// ---------------------------------------------------------------------------------------------
// The project's rules

export interface RuleOptions {
  /** The Node major the tests run on (node_modules/node's version). */
  nodeMajor: number;
}

/** What the image must satisfy; empty when all hold. */
export function dockerfileProblems(dockerfile: Dockerfile, options: RuleOptions): string[] {
  const problems: string[] = [];
  const { stages } = dockerfile;
  const final = stages.at(-1);
  if (!final) return ["no FROM instruction"];
  if (stages.length < 2) problems.push("not a multi-stage build: build tools would end up in the image");

  for (const stage of stages) {
    const image = resolvedImage(dockerfile, stage);
    if (referencesStage(dockerfile, image)) continue;
    const tag = /:([^/:@]+)$/.exec(image.split("@")[0] ?? "")?.[1];
    if (!image.includes("@sha256:") && (tag === undefined || tag === "latest")) {
      problems.push(`FROM ${image}: pin a version tag (or digest)`);
    }
    const major = nodeMajorOf(image);
    if (major === undefined) problems.push(`FROM ${image}: not a Node base image this check knows`);
    else if (major !== options.nodeMajor) {
      problems.push(`FROM ${image}: Node ${major}, but the tests run on Node ${options.nodeMajor}`);
    }
    for (const instruction of stage.instructions) {
      if (instruction.keyword === "ADD") {
        problems.push(`line ${instruction.line}: use COPY, not ADD (no remote URLs or implicit unpacking)`);
      }
      if (instruction.keyword === "RUN" && /\bnpm\s+(install|i)\b/.test(instruction.args)) {
        problems.push(`line ${instruction.line}: use npm ci (the lockfile), not npm install`);
      }
    }
  }

  const productionInstall = stages.some((s) =>
    s.instructions.some(
      (i) => i.keyword === "RUN" && /\bnpm\s+ci\b/.test(i.args) && /--omit=dev\b/.test(i.args),
    ),
  );
  if (!productionInstall) problems.push("no stage installs production dependencies (npm ci --omit=dev)");
  if (final.instructions.some((i) => i.keyword === "RUN" && /\bnpm\b/.test(i.args))) {
    problems.push("the final stage runs npm: install in an earlier stage and copy node_modules");
  }

  const user = final.instructions.filter((i) => i.keyword === "USER").at(-1);
  if (!user) problems.push("the final stage sets no USER: the container would run as root");
  else {
    const [uid = "", gid] = user.args.split(":");
    if (!/^\d+$/.test(uid) || (gid !== undefined && !/^\d+$/.test(gid))) {
      problems.push(`USER ${user.args}: use a numeric uid:gid so runAsNonRoot can verify it`);
    } else if (Number(uid) === 0 || gid === "0") {
      problems.push(`USER ${user.args}: must not be root`);
    }
  }

  const entrypoint = final.instructions.filter((i) => i.keyword === "ENTRYPOINT").at(-1);
  const command = entrypoint ? execForm(entrypoint.args) : undefined;
  if (!command) problems.push("the final stage needs an exec-form ENTRYPOINT (signals reach node directly)");
  else if (command[0] !== "node" || command.some((word) => /^(npm|npx|sh|bash)$/.test(word))) {
    problems.push(`ENTRYPOINT ${entrypoint?.args}: run node directly (no npm, no shell)`);
  }
  if (!final.instructions.some((i) => i.keyword === "EXPOSE" && /\b8080\b/.test(i.args))) {
    problems.push("the final stage does not EXPOSE 8080 (metrics and probes)");
  }
  return problems;
}

/** The Node version the tests run on: the "node" devDependency's installed package. */
export function testNodeVersion(repoRoot: string = REPO_ROOT): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "node_modules/node/package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

/** Docker's .dockerignore semantics: last matching pattern wins; a match on a parent directory counts. */
export function dockerignoreFilter(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const pattern = posix.normalize((negated ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, "");
      return { negated, regex: globToRegExp(pattern) };
    });
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let included = true;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) included = rule.negated;
    }
    return included;
  };
}

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? "";
    if (c === "*" && pattern[i + 1] === "*") {
      source += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i);
      if (end < 0) source += "\\[";
      else {
        source += `[${pattern.slice(i + 1, end).replace(/^!/, "^")}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
