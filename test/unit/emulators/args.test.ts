// The emulator's command line.
import { describe, expect, it } from "vitest";
import { parseEmulatorArgs } from "../../emulators/args.ts";

describe("parseEmulatorArgs", () => {
  it("defaults to native sidecars and the 1-24 revision", () => {
    expect(parseEmulatorArgs(["--kubeconfig", "/k", "--state-dir", "/s"])).toEqual({
      kubeconfig: "/k",
      stateDir: "/s",
      nativeSidecars: true,
      istioRevisions: ["1-24"],
      meshes: "emulated",
      istioBinDir: undefined,
      linkerdBinDir: undefined,
    });
  });

  it("runs the real meshes only with their binaries", () => {
    expect(() => parseEmulatorArgs(["--kubeconfig", "/k", "--state-dir", "/s", "--meshes=real"])).toThrow(
      /--istio-bin-dir/,
    );
    expect(
      parseEmulatorArgs([
        "--kubeconfig=/k",
        "--state-dir=/s",
        "--meshes=real",
        "--istio-bin-dir=/i",
        "--linkerd-bin-dir=/l",
      ]),
    ).toMatchObject({ meshes: "real", istioBinDir: "/i", linkerdBinDir: "/l" });
    expect(() => parseEmulatorArgs(["--kubeconfig=/k", "--state-dir=/s", "--meshes=fake"])).toThrow(
      /real or emulated/,
    );
  });

  it("accepts the --flag=value form the launcher uses", () => {
    const options = parseEmulatorArgs([
      "--kubeconfig=/k",
      "--state-dir=/s",
      "--native-sidecars=false",
      "--istio-revisions=1-24,canary,1-24,default",
    ]);
    expect(options.nativeSidecars).toBe(false);
    expect(options.istioRevisions).toEqual(["1-24", "canary"]);
  });

  it("allows no extra revision", () => {
    expect(
      parseEmulatorArgs(["--kubeconfig=/k", "--state-dir=/s", "--istio-revisions="]).istioRevisions,
    ).toEqual([]);
  });

  it.each([
    [["--state-dir=/s"], /kubeconfig/],
    [["--kubeconfig=/k"], /state-dir/],
    [["--kubeconfig=/k", "--state-dir=/s", "--native-sidecars=yes"], /native-sidecars/],
    [["--kubeconfig=/k", "--state-dir=/s", "--istio-revisions=Bad_Rev"], /revision/],
    [["--kubeconfig=/k", "--state-dir=/s", "--unknown"], /unknown/i],
  ])("rejects %j", (argv, message) => {
    expect(() => parseEmulatorArgs(argv)).toThrow(message);
  });
});
