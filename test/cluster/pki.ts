// Certificates for the local control plane, made with the openssl CLI: one CA,
// the apiserver's serving certificate for 127.0.0.1, and one client certificate
// per component (RBAC sees each under its real user and group).
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ClientCert {
  cert: string;
  key: string;
}

export interface ClusterPki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  clients: Record<ClientName, ClientCert>;
}

export type ClientName = "admin" | "controller-manager" | "scheduler" | "kwok";

const CLIENT_SUBJECTS: Record<ClientName, string> = {
  admin: "/O=system:masters/CN=kubernetes-admin",
  "controller-manager": "/CN=system:kube-controller-manager",
  scheduler: "/CN=system:kube-scheduler",
  kwok: "/O=system:masters/CN=kwok",
};

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function signedCert(dir: string, name: string, subject: string, extensions: string): ClientCert {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(["genrsa", "-out", key, "2048"], dir);
  openssl(["req", "-new", "-key", key, "-subj", subject, "-out", csr], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-sha256",
      "-extfile",
      ext,
      "-out",
      cert,
    ],
    dir,
  );
  return { cert, key };
}

/** Creates (once) every key and certificate the cluster needs under `dir`. */
export function ensurePki(dir: string): ClusterPki {
  const pki: ClusterPki = {
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    servingCert: join(dir, "apiserver.crt"),
    servingKey: join(dir, "apiserver.key"),
    serviceAccountKey: join(dir, "service-account.key"),
    serviceAccountPub: join(dir, "service-account.pub"),
    clients: {} as Record<ClientName, ClientCert>,
  };
  for (const name of Object.keys(CLIENT_SUBJECTS) as ClientName[]) {
    pki.clients[name] = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  }
  if (existsSync(pki.clients.kwok.cert)) return pki;

  openssl(["genrsa", "-out", "ca.key", "2048"], dir);
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-nodes",
      "-key",
      "ca.key",
      "-subj",
      "/CN=mmo-local-ca",
      "-days",
      "3650",
      "-out",
      "ca.crt",
    ],
    dir,
  );
  signedCert(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc",
      "",
    ].join("\n"),
  );
  for (const [name, subject] of Object.entries(CLIENT_SUBJECTS)) {
    signedCert(
      dir,
      name,
      subject,
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    );
  }
  openssl(["genrsa", "-out", "service-account.key", "2048"], dir);
  openssl(["rsa", "-in", "service-account.key", "-pubout", "-out", "service-account.pub"], dir);
  return pki;
}
