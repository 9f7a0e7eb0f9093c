// Native solc's interface over the npm `solc` package (the official compiler as WebAssembly).
// Supports `--version` and `--standard-json` (JSON on stdin, JSON on stdout), plus the path flags
// py-solc-x passes (--base-path, --allow-paths, --include-path) for import resolution.
'use strict';
const fs = require('fs');
const path = require('path');

function loadSolc() {
  const dirs = (process.env.PYMARGIN_NODE_MODULES ? [process.env.PYMARGIN_NODE_MODULES] : [])
    .concat(module.paths);
  for (const dir of dirs) {
    const candidate = path.join(dir, 'solc');
    if (fs.existsSync(path.join(candidate, 'package.json'))) return require(candidate);
  }
  process.stderr.write('solc-npm: the npm package `solc` is not installed: run scripts/bootstrap.sh\n');
  process.exit(1);
}

const args = process.argv.slice(2);
const solc = loadSolc();
if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc-npm: only --version and --standard-json are supported\n');
  process.exit(1);
}
function flagValues(name) {
  const out = [];
  args.forEach((a, i) => { if (a === name && i + 1 < args.length) out.push(...args[i + 1].split(',')); });
  return out;
}
const roots = [...flagValues('--base-path'), ...flagValues('--include-path'), ...flagValues('--allow-paths'), process.cwd()];
function findImports(p) {
  for (const root of roots) {
    const full = path.resolve(root, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: 'File not found: ' + p + ' (searched ' + roots.join(', ') + ')' };
}
const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
