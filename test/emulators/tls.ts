// A self-signed CA and a serving certificate for 127.0.0.1, made with the openssl
// CLI. Reused across restarts of the emulator when already present.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ServingTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The CA, base64, as webhook clientConfig.caBundle wants it. */
  caBundle: string;
}

export function ensureServingTls(stateDir: string): ServingTls {
  const dir = join(stateDir, "tls");
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  const key = join(dir, "serving.key");
  const cert = join(dir, "serving.crt");
  if (![caKey, caCert, key, cert].every((path) => existsSync(path))) {
    mkdirSync(dir, { recursive: true });
    const openssl = (...args: string[]) =>
      execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "3650",
      "-subj",
      "/CN=emulated-meshes-ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-keyout",
      caKey,
      "-out",
      caCert,
    );
    const csr = join(dir, "serving.csr");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr);
    const extensions = join(dir, "serving.ext");
    writeFileSync(
      extensions,
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      caCert,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      extensions,
      "-out",
      cert,
    );
  }
  const caPem = readFileSync(caCert, "utf8");
  return {
    caPem,
    certPem: readFileSync(cert, "utf8"),
    keyPem: readFileSync(key, "utf8"),
    caBundle: Buffer.from(caPem).toString("base64"),
  };
}
