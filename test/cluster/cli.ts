// `npm run cluster:up` / `npm run cluster:down`.
import { parseArgs } from "node:util";
import {
  DEFAULT_CLUSTER_DIR,
  meshModeFromEnv,
  startLocalCluster,
  stopLocalCluster,
} from "./local-cluster.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: "string", default: process.env.MMO_CLUSTER_DIR ?? DEFAULT_CLUSTER_DIR },
    "no-meshes": { type: "boolean", default: process.env.MMO_CLUSTER_MESHES === "0" },
    meshes: { type: "string" },
  },
});

const command = positionals[0];
if (command === "up") {
  const meshMode = meshModeFromEnv(values.meshes ? { MMO_MESHES: values.meshes } : process.env);
  const cluster = await startLocalCluster({ dir: values.dir, meshes: !values["no-meshes"], meshMode });
  console.log(`Local cluster is up. Use it with:\n  export KUBECONFIG=${cluster.kubeconfig}`);
  console.log(
    `Stop it with: npm run cluster:down${values.dir === DEFAULT_CLUSTER_DIR ? "" : ` -- --dir ${values.dir}`}`,
  );
} else if (command === "down") {
  await stopLocalCluster(values.dir);
  console.log(`Local cluster in ${values.dir} stopped and removed.`);
} else {
  console.error("usage: node test/cluster/cli.ts up|down [--dir DIR] [--no-meshes] [--meshes=real|emulated]");
  process.exit(2);
}
