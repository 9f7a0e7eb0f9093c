pragma circom 2.1.6;

// Leaf and node hashing of the Merkle sum tree, exactly as docs/spec.md §6 (pymargin.commit):
//   a_k = market_id * 2^95 + (size + 2^94),  b_k = (cost + 2^130) * 2^101 + (f + 2^100)
//   leaf = Poseidon_11(id_hash, salt, collateral + 2^128, a_0, b_0, a_1, b_1, a_2, b_2, a_3, b_3)
//   node = Poseidon_6(L.hash, L.equity, L.mm, R.hash, R.equity, R.mm), sums L + R.
// The packing is injective because its parts are range-checked (AccountMargin, SolvencyBatch).

include "circomlib/circuits/poseidon.circom";

template LeafHash() {
    signal input idHash;
    signal input salt;
    signal input collateral;
    signal input slots[4][4];
    signal output out;
    component leaf = Poseidon(11);
    leaf.inputs[0] <== idHash;
    leaf.inputs[1] <== salt;
    leaf.inputs[2] <== collateral + (1 << 128);
    for (var k = 0; k < 4; k++) {
        leaf.inputs[3 + 2 * k] <== slots[k][0] * (1 << 95) + slots[k][1] + (1 << 94);
        leaf.inputs[4 + 2 * k] <== (slots[k][2] + (1 << 130)) * (1 << 101) + slots[k][3] + (1 << 100);
    }
    out <== leaf.out;
}

// A parent node (hash, equity, mm) over left and right children.
template NodeHash() {
    signal input left[3];
    signal input right[3];
    signal output out[3];
    component h = Poseidon(6);
    for (var i = 0; i < 3; i++) {
        h.inputs[i] <== left[i];
        h.inputs[3 + i] <== right[i];
    }
    out[0] <== h.out;
    out[1] <== left[1] + right[1];
    out[2] <== left[2] + right[2];
}

// The root of a node at path position given by bits (bit l = 1: the node is the right child at
// level l) with siblings[l] (hash, equity, mm).
template PathRoot(T) {
    signal input node[3];
    signal input bits[T];
    signal input siblings[T][3];
    signal output root[3];
    component parents[T];
    signal cur[T + 1][3];
    signal left[T][3];
    signal right[T][3];
    cur[0] <== node;
    for (var l = 0; l < T; l++) {
        for (var i = 0; i < 3; i++) {
            left[l][i] <== cur[l][i] + bits[l] * (siblings[l][i] - cur[l][i]);
            right[l][i] <== siblings[l][i] + cur[l][i] - left[l][i];
        }
        parents[l] = NodeHash();
        parents[l].left <== left[l];
        parents[l].right <== right[l];
        cur[l + 1] <== parents[l].out;
    }
    root <== cur[T];
}
