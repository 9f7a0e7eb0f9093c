// Writes pymargin/commit/poseidon_opt_constants.json: circomlibjs's constants for Poseidon with the
// optimised partial rounds (poseidon_opt.js: round constants C, sparse matrices S, MDS M, pre-sparse P)
// for 1..8 inputs (t = 2..9), as hex strings, for pymargin.commit.poseidon_opt.
// Run from the repository root: node scripts/gen_poseidon_opt.mjs [max inputs, default 8]
import { writeFileSync } from "node:fs";
// circomlibjs exports no subpaths, so its file is imported by path (the one poseidon_opt.js uses)
import constants from "../node_modules/circomlibjs/src/poseidon_constants_opt.js";

const maxInputs = Number(process.argv[2] || 8);
const out = {};
for (let n = 1; n <= maxInputs; n++) {
  const i = n - 1; // circomlibjs indexes by t - 2 = n - 1
  out[n] = { C: constants.C[i], S: constants.S[i], M: constants.M[i], P: constants.P[i] };
}
writeFileSync("pymargin/commit/poseidon_opt_constants.json", JSON.stringify(out) + "\n");
