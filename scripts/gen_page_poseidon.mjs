// Writes pymargin/page/poseidon_constants.json: circomlibjs's Poseidon round constants C and MDS
// matrices M for t = 2 .. 9 and 12 (1 to 8 and 11 inputs: the leaf's 11, the nodes' 6, and an options holder's
// Poseidon_2 and Poseidon_P), as hex strings, for the verification page.
// Run from the repository root: node scripts/gen_page_poseidon.mjs
import { writeFileSync } from "node:fs";
// circomlibjs exports no subpaths, so its file is imported by path (the one poseidon_reference.js uses)
import constants from "../node_modules/circomlibjs/src/poseidon_constants.js";

const out = {};
for (const t of [2, 3, 4, 5, 6, 7, 8, 9, 12]) {
  out[t] = { C: constants.C[t - 2], M: constants.M[t - 2] };
}
writeFileSync("pymargin/page/poseidon_constants.json", JSON.stringify(out) + "\n");
