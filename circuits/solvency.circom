pragma circom 2.1.6;

// SolvencyBatch(K, M, T): one batch of B = 2^K consecutive leaves of a Merkle sum tree of depth
// D = K + T, the subtree at index batchIndex (docs/spec.md §7). It proves, at the market views
// of the public context:
//   * every account's range checks, equity = pymargin.margin.equity, mm = maintenance_margin,
//     equity >= mm (so equity >= 0: no negative balance);
//   * the leaves hash (§6) to the batch subtree, and that subtree with the T siblings gives the
//     committed root (hash and totals);
//   * id hashes strictly increase across the whole book (the chain carries the last id); a
//     padding leaf (id hash 0) is all zeros and only padding follows it;
//   * running totals: equityOut = equityIn + batch equity, mmOut = mmIn + batch mm; the first
//     batch starts from (0, 0, 0), the last (batchIndex = 2^T - 1) ends at the root totals.
// Its only public signal is
//   pub = Poseidon_4(ctx, batchIndex, stateIn, stateOut)
//   ctx = Poseidon_5(Poseidon_4(epoch, chainId, registry, D), marketsHash, rootHash, totalEquity, totalMm)
//   marketsHash = m_M with m_0 = 0, m_{j+1} = Poseidon_5(m_j, price_j, F_j + 2^100, imf_j, mmf_j)
//   state = Poseidon_3(lastIdHash, equity so far, mm so far)
// so on-chain verification costs the same for every batch size.

include "circomlib/circuits/comparators.circom";
include "fixedpoint.circom";
include "margin.circom";
include "commit.circom";

// marketsHash of the market views (see above).
template MarketsHash(M) {
    signal input price[M];
    signal input fundingIndex[M];
    signal input imf[M];
    signal input mmf[M];
    signal output out;
    component h[M];
    for (var j = 0; j < M; j++) {
        h[j] = Poseidon(5);
        h[j].inputs[0] <== j == 0 ? 0 : h[j - 1].out;
        h[j].inputs[1] <== price[j];
        h[j].inputs[2] <== fundingIndex[j] + (1 << 100);
        h[j].inputs[3] <== imf[j];
        h[j].inputs[4] <== mmf[j];
    }
    out <== h[M - 1].out;
}

// One leaf's ordering step: a real leaf needs lastIn < idHash < 2^248 and passes on idHash; a
// padding leaf (idHash = 0) must be all zeros and passes on END = 2^248, which no later real leaf
// can exceed.
template OrderStep() {
    signal input lastIn;
    signal input idHash;
    signal input salt;
    signal input collateral;
    signal input slots[4][4];
    signal output lastOut;
    component idRange = RangeCheck(248);
    idRange.in <== idHash;
    component pad = IsZero();
    pad.in <== idHash;
    signal gap <== (1 - pad.out) * (idHash - lastIn - 1);
    component gapRange = RangeCheck(249);
    gapRange.in <== gap;
    pad.out * salt === 0;
    pad.out * collateral === 0;
    for (var k = 0; k < 4; k++) {
        for (var i = 0; i < 4; i++) {
            pad.out * slots[k][i] === 0;
        }
    }
    lastOut <== idHash + pad.out * (1 << 248);
}

template SolvencyBatch(K, M, T) {
    var B = 1 << K;
    signal input epoch;
    signal input chainId;
    signal input registry;
    signal input price[M];
    signal input fundingIndex[M];
    signal input imf[M];
    signal input mmf[M];
    signal input rootHash;
    signal input totalEquity;
    signal input totalMm;
    signal input batchIndex;
    signal input lastIdIn;
    signal input equityIn;
    signal input mmIn;
    signal input idHash[B];
    signal input salt[B];
    signal input collateral[B];
    signal input slots[B][4][4];
    signal input siblings[T][3];
    signal output pub;

    component marketsRange = MarketsRangeCheck(M);
    marketsRange.price <== price;
    marketsRange.fundingIndex <== fundingIndex;
    marketsRange.imf <== imf;
    marketsRange.mmf <== mmf;

    // Accounts: margin, solvency, leaf hash, order.
    component margin[B];
    component solvent[B];
    component leaf[B];
    component order[B];
    signal leafNode[B][3];
    for (var i = 0; i < B; i++) {
        margin[i] = AccountMargin(M);
        margin[i].collateral <== collateral[i];
        margin[i].slots <== slots[i];
        margin[i].price <== price;
        margin[i].fundingIndex <== fundingIndex;
        margin[i].fraction <== mmf;
        solvent[i] = AssertGreaterEq(142); // |equity - mm| < 2^142
        solvent[i].a <== margin[i].equity;
        solvent[i].b <== margin[i].requirement;

        leaf[i] = LeafHash();
        leaf[i].idHash <== idHash[i];
        leaf[i].salt <== salt[i];
        leaf[i].collateral <== collateral[i];
        leaf[i].slots <== slots[i];
        leafNode[i][0] <== leaf[i].out;
        leafNode[i][1] <== margin[i].equity;
        leafNode[i][2] <== margin[i].requirement;

        order[i] = OrderStep();
        order[i].lastIn <== i == 0 ? lastIdIn : order[i - 1].lastOut;
        order[i].idHash <== idHash[i];
        order[i].salt <== salt[i];
        order[i].collateral <== collateral[i];
        order[i].slots <== slots[i];
    }

    // The batch subtree, then the path to the root.
    component nodes[B - 1];
    signal level[2 * B - 1][3];
    for (var i = 0; i < B; i++) {
        level[i] <== leafNode[i];
    }
    for (var n = 0; n < B - 1; n++) {
        nodes[n] = NodeHash();
        nodes[n].left <== level[2 * n];
        nodes[n].right <== level[2 * n + 1];
        level[B + n] <== nodes[n].out;
    }
    component path = PathRoot(T);
    path.node <== level[2 * B - 2];
    if (T == 0) {
        batchIndex === 0;
    } else {
        component index = Num2Bits(T); // also batchIndex < 2^T
        index.in <== batchIndex;
        path.bits <== index.out;
    }
    path.siblings <== siblings;
    path.root[0] === rootHash;
    path.root[1] === totalEquity;
    path.root[2] === totalMm;

    // Chain: first batch starts empty, last batch ends at the root totals.
    signal equityOut <== equityIn + level[2 * B - 2][1];
    signal mmOut <== mmIn + level[2 * B - 2][2];
    component first = IsZero();
    first.in <== batchIndex;
    first.out * lastIdIn === 0;
    first.out * equityIn === 0;
    first.out * mmIn === 0;
    component last = IsEqual();
    last.in[0] <== batchIndex;
    last.in[1] <== (1 << T) - 1;
    last.out * (equityOut - totalEquity) === 0;
    last.out * (mmOut - totalMm) === 0;

    // The public hash.
    component markets = MarketsHash(M);
    markets.price <== price;
    markets.fundingIndex <== fundingIndex;
    markets.imf <== imf;
    markets.mmf <== mmf;
    component meta = Poseidon(4);
    meta.inputs <== [epoch, chainId, registry, K + T];
    component ctx = Poseidon(5);
    ctx.inputs <== [meta.out, markets.out, rootHash, totalEquity, totalMm];
    component stateIn = Poseidon(3);
    stateIn.inputs <== [lastIdIn, equityIn, mmIn];
    component stateOut = Poseidon(3);
    stateOut.inputs <== [order[B - 1].lastOut, equityOut, mmOut];
    component h = Poseidon(4);
    h.inputs <== [ctx.out, batchIndex, stateIn.out, stateOut.out];
    pub <== h.out;
}
