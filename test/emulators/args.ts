// Command line of the emulator:
//   node test/emulators/main.ts --kubeconfig <path> --state-dir <dir>
//        [--native-sidecars=true|false] [--istio-revisions=1-24,...]
import { parseArgs } from "node:util";

export interface EmulatorOptions {
  kubeconfig: string;
  stateDir: string;
  nativeSidecars: boolean;
  /** Non-default Istio revisions to install next to "default". */
  istioRevisions: string[];
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
  return {
    kubeconfig: values.kubeconfig,
    stateDir: values["state-dir"],
    nativeSidecars: native === "true",
    istioRevisions: [...new Set(istioRevisions)],
  };
}
