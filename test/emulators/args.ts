// Command line of the mesh host:
//   node test/emulators/main.ts --kubeconfig <path> --state-dir <dir>
//        [--native-sidecars=true|false] [--istio-revisions=1-24,...]
//        [--meshes=real --istio-bin-dir <dir> --linkerd-bin-dir <dir> | --meshes=emulated]
import { parseArgs } from "node:util";

export interface EmulatorOptions {
  kubeconfig: string;
  stateDir: string;
  nativeSidecars: boolean;
  /** Non-default Istio revisions to install next to "default". */
  istioRevisions: string[];
  /** real: Istio's own istiod and Linkerd's own proxy-injector; emulated: our injectors. */
  meshes: "real" | "emulated";
  /** Where pilot-discovery and istio-render are (real meshes only). */
  istioBinDir?: string | undefined;
  /** Where linkerd-controller and linkerd-values are (real meshes only). */
  linkerdBinDir?: string | undefined;
  /** Where consul-k8s-control-plane is (real meshes only; without it no Consul injector runs). */
  consulBinDir?: string | undefined;
}

const REVISION = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseEmulatorArgs(argv: readonly string[]): EmulatorOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kubeconfig: { type: "string" },
      "state-dir": { type: "string" },
      "native-sidecars": { type: "string", default: "true" },
      "istio-revisions": { type: "string", default: "1-24" },
      meshes: { type: "string", default: "emulated" },
      "istio-bin-dir": { type: "string" },
      "linkerd-bin-dir": { type: "string" },
      "consul-bin-dir": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.kubeconfig) throw new Error("--kubeconfig <path> is required");
  if (!values["state-dir"]) throw new Error("--state-dir <dir> is required");
  const native = values["native-sidecars"];
  if (native !== "true" && native !== "false")
    throw new Error(`--native-sidecars must be true or false, not ${native}`);
  const istioRevisions = values["istio-revisions"]
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r !== "" && r !== "default");
  for (const revision of istioRevisions) {
    if (!REVISION.test(revision))
      throw new Error(`invalid Istio revision "${revision}" (a DNS label is needed)`);
  }
  const meshes = values.meshes;
  if (meshes !== "real" && meshes !== "emulated")
    throw new Error(`--meshes must be real or emulated, not ${meshes}`);
  if (meshes === "real" && (!values["istio-bin-dir"] || !values["linkerd-bin-dir"])) {
    throw new Error(
      "--meshes=real needs --istio-bin-dir and --linkerd-bin-dir (from scripts/meshes/build-*.sh)",
    );
  }
  return {
    meshes,
    istioBinDir: values["istio-bin-dir"],
    linkerdBinDir: values["linkerd-bin-dir"],
    consulBinDir: values["consul-bin-dir"],
    kubeconfig: values.kubeconfig,
    stateDir: values["state-dir"],
    nativeSidecars: native === "true",
    istioRevisions: [...new Set(istioRevisions)],
  };
}
