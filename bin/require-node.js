// Imported first by every command in bin/: the package declares Node >= 24 (package.json engines)
// and an older Node fails later with an obscure error (ERR_UNKNOWN_FILE_EXTENSION ".ts" from a
// checkout), so say it in one line instead.
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);
if (major < REQUIRED_MAJOR) {
  console.error(
    `This command needs Node.js ${REQUIRED_MAJOR} or newer; this is Node.js ${process.version} (${process.execPath}). ` +
      "In a checkout of the repository, run it through the Node it pins (npx mesh-migration-operator ..., npx kubectl-meshmigration ...); " +
      "elsewhere install Node.js 24.",
  );
  process.exit(1);
}
