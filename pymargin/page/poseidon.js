// Poseidon over the BN254 scalar field for 1 to 8 and 11 inputs: circomlib's Poseidon(n), the plain
// (unoptimised) permutation of circomlibjs's poseidon_reference with its constants for t = n + 1
// (8 full rounds, circomlib's partial rounds for each t). POSEIDON_CONSTANTS is poseidon_constants.json, written by
// scripts/gen_page_poseidon.mjs from circomlibjs; tests/test_page.py checks this equals circomlibjs.
"use strict";
const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const POSEIDON_FULL_ROUNDS = 8;
const POSEIDON_PARTIAL_ROUNDS = { 2: 56, 3: 57, 4: 56, 5: 60, 6: 60, 7: 63, 8: 64, 9: 63, 12: 60 };
const poseidonParams = {};

function poseidonParamsOf(t) {
  if (!poseidonParams[t]) {
    const raw = POSEIDON_CONSTANTS[String(t)];
    if (!raw) throw new Error(`Poseidon with ${t - 1} inputs is not built into this page`);
    poseidonParams[t] = { C: raw.C.map(BigInt), M: raw.M.map((row) => row.map(BigInt)) };
  }
  return poseidonParams[t];
}

function pow5(x) {
  const x2 = (x * x) % FIELD_P;
  return (((x2 * x2) % FIELD_P) * x) % FIELD_P;
}

/** Poseidon_n(inputs) for n = 1 .. 8 and 11; every input must already be in [0, p). */
function poseidon(inputs) {
  const t = inputs.length + 1;
  const { C, M } = poseidonParamsOf(t);
  const partial = POSEIDON_PARTIAL_ROUNDS[t];
  let state = [0n, ...inputs];
  for (let r = 0; r < POSEIDON_FULL_ROUNDS + partial; r++) {
    state = state.map((a, i) => (a + C[r * t + i]) % FIELD_P);
    if (r < POSEIDON_FULL_ROUNDS / 2 || r >= POSEIDON_FULL_ROUNDS / 2 + partial) state = state.map(pow5);
    else state[0] = pow5(state[0]);
    state = M.map((row) => row.reduce((acc, m, j) => (acc + m * state[j]) % FIELD_P, 0n));
  }
  return state[0];
}
