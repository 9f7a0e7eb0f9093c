// Writes pymargin/commit/poseidon_opt_constants.json: circomlibjs's constants for Poseidon with the
// optimised partial rounds (poseidon_opt.js: round constants C, sparse matrices S, MDS M, pre-sparse P)
// for the arities the library hashes in batches (default 1..8 and 11, t = n + 1), as hex strings, for
// pymargin.commit.poseidon_opt.
// Run from the repository root: node scripts/gen_poseidon_opt.mjs [arity ...]
import { writeFileSync } from "node:fs";
// circomlibjs exports no subpaths, so its file is imported by path (the one poseidon_opt.js uses)
import constants from "../node_modules/circomlibjs/src/poseidon_constants_opt.js";

const arities = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1, 2, 3, 4, 5, 6, 7, 8, 11];
const out = {};
for (const n of arities) {
  const i = n - 1; // circomlibjs indexes by t - 2 = n - 1
  out[n] = { C: constants.C[i], S: constants.S[i], M: constants.M[i], P: constants.P[i] };
}
writeFileSync("pymargin/commit/poseidon_opt_constants.json", JSON.stringify(out) + "\n");
