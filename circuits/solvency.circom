pragma circom 2.1.6;

// SolvencyBatch(K, M, T): one batch of B = 2^K consecutive leaves of a Merkle sum tree of depth
// D = K + T, the subtree at index batchIndex, proving the statement of pymargin.zk.statement
// (docs/spec.md §7). At the market views of the statement it computes, per account:
//   * range checks, equity = pymargin.margin.equity, mm and im (maintenance / initial margin);
//   * liability max(equity, 0), deficit max(-equity, 0), below = (equity < mm) and shortfall
//     max(mm - equity, 0); no account needs to be above mm;
//   * every position's market id < marketCount (a slot with id >= marketCount must be empty);
//   * per market: long size max(size, 0), short size max(-size, 0), cost basis, size * f;
// and, for the batch:
//   * the leaves hash (§6) to the batch subtree (node sums: liability, mm), and that subtree with
//     the T siblings gives the committed root (rootHash, L, Σmm);
//   * leaf i is the engine's account i (no order of ids to check); a padding leaf (id hash 0)
//     is all zeros and only padding follows it (the chain carries whether padding has begun);
//   * running sums of liability, deficit, below count, shortfall, mm, im, account count (real
//     leaves), collateral and the per-market sums: out = in + batch; batch 0 starts at zero, the
//     last batch (batchIndex = 2^T - 1) ends at the statement's totals and aggregates.
// Its public signals (outputs, in this order) are (ctx, batchIndex, stateIn, stateOut), with ctx as
// in pymargin.zk.statement and the chain state
//   state = Poseidon_5(padded, Poseidon_6(L, deficit, below, shortfall, mm, im), count,
//                      collateral + 2^200, aggHash of the running per-market sums)
// so on-chain verification costs the same for every batch size, and the registry verifies all of an
// epoch's batches in one check with no hash per batch (docs/spec.md §7.5).

include "circomlib/circuits/comparators.circom";
include "fixedpoint.circom";
include "margin.circom";
include "commit.circom";
include "solvency_options.circom";

// marketsHash of the market views: m_M, m_0 = 0, m_{j+1} = Poseidon_5(m_j, price_j, F_j + 2^100, imf_j, mmf_j).
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

// aggHash of per-market sums: g_M, g_0 = 0, g_{j+1} = Poseidon_5(g_j, long_j, short_j, cost_j + 2^200, sizeF_j + 2^240).
template AggregatesHash(M) {
    signal input agg[M][4]; // long, short, cost, sizeF
    signal output out;
    component h[M];
    for (var j = 0; j < M; j++) {
        h[j] = Poseidon(5);
        h[j].inputs[0] <== j == 0 ? 0 : h[j - 1].out;
        h[j].inputs[1] <== agg[j][0];
        h[j].inputs[2] <== agg[j][1];
        h[j].inputs[3] <== agg[j][2] + (1 << 200);
        h[j].inputs[4] <== agg[j][3] + (1 << 240);
    }
    out <== h[M - 1].out;
}

// The figures and book sums the chain carries: fig = (L, deficit, below, shortfall, mm, im),
// count, collateral, agg[M] (long, short, cost, sizeF).
// Hash: Poseidon_4(Poseidon_6(fig), count, collateral + 2^200, aggHash) (the statement's totalsHash)
// or, with the padding flag first, Poseidon_5(padded, Poseidon_6(fig), count, collateral + 2^200, aggHash)
// (the chain state). With EXTRA = 1 (a book with options) the hash of the per-row option sums
// (seriesAggHash, §7.9) is one more last input: Poseidon_5 / Poseidon_6.
template SumsHash(M, WITH_PAD, EXTRA) {
    signal input padded;
    signal input fig[6];
    signal input count;
    signal input collateral;
    signal input agg[M][4];
    signal output out;
    component figures = Poseidon(6);
    figures.inputs <== fig;
    component aggs = AggregatesHash(M);
    aggs.agg <== agg;
    var n = 5 + EXTRA;
    var parts[6] = [padded, figures.out, count, collateral + (1 << 200), aggs.out, 0];
    if (EXTRA == 1) {
        signal input extra;
        parts[5] = extra;
    }
    if (WITH_PAD == 1) {
        component h = Poseidon(n);
        for (var i = 0; i < n; i++) {
            h.inputs[i] <== parts[i];
        }
        out <== h.out;
    } else {
        padded === 0;
        component h = Poseidon(n - 1);
        for (var i = 1; i < n; i++) {
            h.inputs[i - 1] <== parts[i];
        }
        out <== h.out;
    }
}

// One leaf's padding step. Leaf i of the tree is the engine's account i (creation order,
// `accountAt(i)`, docs/spec.md §6.3), so the circuit checks no order of ids: a position holds one
// leaf, and each user (or audit-epoch, for every account) checks the leaf at their own index. A
// leaf with id hash 0 is padding and must be all zeros -- checked as its leaf hash being
// PADDING_LEAF_HASH = Poseidon_11(0, 0, 2^128, e_a, e_b, e_a, e_b, e_a, e_b, e_a, e_b), the empty slot
// packed as e_a = 2^94, e_b = 2^231 + 2^100 (§6.2; one constraint instead of one per field: another
// preimage would be a Poseidon collision, and the leaf packing is injective on range-checked
// values) -- and once a padding leaf is seen (paddedIn = 1) only padding follows, so the real
// leaves are exactly indices 0 .. accountCount - 1.
template PadStep() {
    var PADDING_LEAF_HASH = 7393071454826895682490486897051197986226055196524617414191100835943796648863;
    signal input paddedIn;
    signal input idHash;
    signal input leafHash;
    signal output padding;
    component pad = IsZero();
    pad.in <== idHash;
    paddedIn * (1 - pad.out) === 0;
    pad.out * (leafHash - PADDING_LEAF_HASH) === 0;
    padding <== pad.out;
}

// One account's figures at the market views (tables of MarketTerms(M, 2) over [mmf, imf]):
// equity, mm, im, liability, deficit, below, shortfall, and its per-market sums agg[M] (long, short,
// cost, sizeF); every slot's market id is below marketCount or the slot is empty. marketCount
// must already be range-checked to nCount bits.
template AccountFigures(M, nCount) {
    signal input collateral;
    signal input slots[4][4];
    signal input priceLessIndex[M];
    signal input priceFraction[2][M]; // price * mmf, price * imf
    signal input marketCount;
    signal output equity;
    signal output mm;
    signal output im;
    signal output liability;
    signal output deficit;
    signal output below;
    signal output shortfall;
    signal output agg[M][4];

    component margins = AccountMargins(M, 2);
    margins.collateral <== collateral;
    margins.slots <== slots;
    margins.priceLessIndex <== priceLessIndex;
    margins.priceFraction <== priceFraction;
    equity <== margins.equity;
    mm <== margins.requirement[0];
    im <== margins.requirement[1];

    // |equity| < 2^128 + 4 * 2^130 + 2^138 < 2^140; 0 <= mm < 2^131. The sign check of equity is
    // also the bound AccountMargins needs on its Floor quotient (equity - collateral + Σ cost).
    component sign = SignedRangeCheck(140);
    sign.in <== equity;
    liability <== equity - sign.neg * equity;
    deficit <== liability - equity;
    component gapSign = SignedRangeCheck(141);
    gapSign.in <== equity - mm;
    below <== gapSign.neg;
    shortfall <== below * (mm - equity);

    // Markets exist: marketId < marketCount, or the slot is (0, 0, 0, 0): marketId * 2^95 + size = 0
    // and cost * 2^101 + f = 0 (its packed words a - 2^94, b - 2^231 - 2^100 of §6.1; with the range
    // checks, |size| <= 2^94 and |f| <= 2^100 are not multiples of 2^95, 2^101 unless 0, and nothing
    // wraps: two constraints, not four).
    component exists[4];
    for (var k = 0; k < 4; k++) {
        exists[k] = LessThan(nCount);
        exists[k].in <== [slots[k][0], marketCount]; // slots[k][0] < M (SelectMarket)
        (1 - exists[k].out) * (slots[k][0] * (1 << 95) + slots[k][1]) === 0;
        (1 - exists[k].out) * (slots[k][2] * (1 << 101) + slots[k][3]) === 0;
    }

    // Per-market sums of (long, size, cost, size * f) with long = max(size, 0) = (size + |size|) / 2
    // (linear) and short = long - size: part[k][j] = onehot_j * v for markets j < M - 1; market M - 1
    // gets v - Σ_{j<M-1} part[k][j] (the one-hot sums to 1), so M - 1 products per slot and value.
    var HALF = 10944121435919637611123202872628637544274182200208017171849102093287904247809; // 1/2 mod p
    signal sizeF[4];
    signal part[4][M][4];
    for (var k = 0; k < 4; k++) {
        sizeF[k] <== slots[k][1] * slots[k][3];
        var v[4] = [(slots[k][1] + margins.absSize[k]) * HALF, slots[k][1], slots[k][2], sizeF[k]];
        for (var c = 0; c < 4; c++) {
            var rest = v[c];
            for (var j = 0; j < M - 1; j++) {
                part[k][j][c] <== margins.market[k][j] * v[c];
                rest -= part[k][j][c];
            }
            part[k][M - 1][c] <== rest;
        }
    }
    for (var j = 0; j < M; j++) {
        agg[j][0] <== part[0][j][0] + part[1][j][0] + part[2][j][0] + part[3][j][0];
        agg[j][1] <== agg[j][0] - (part[0][j][1] + part[1][j][1] + part[2][j][1] + part[3][j][1]);
        agg[j][2] <== part[0][j][2] + part[1][j][2] + part[2][j][2] + part[3][j][2];
        agg[j][3] <== part[0][j][3] + part[1][j][3] + part[2][j][3] + part[3][j][3];
    }
}

// An account's standing: liability max(equity, 0), deficit max(-equity, 0), below = [equity < mm],
// shortfall max(mm - equity, 0), for |equity| < 2^140 and |equity - mm| < 2^141 (range-checked: no
// witness outside), as AccountFigures computes them: the standing of an account holding options (§7.9).
template Standing() {
    signal input equity;
    signal input mm;
    signal output liability;
    signal output deficit;
    signal output below;
    signal output shortfall;
    component sign = SignedRangeCheck(140);
    sign.in <== equity;
    liability <== equity - sign.neg * equity;
    deficit <== liability - equity;
    component gapSign = SignedRangeCheck(141);
    gapSign.in <== equity - mm;
    below <== gapSign.neg;
    shortfall <== below * (mm - equity);
}

template SolvencyBatch(K, M, T, U, R, P) {
    assert(P == 0 ? U == 0 && R == 0 : U > 0 && R > 0);
    var B = 1 << K;
    var N = U * R; // option rows
    var nCount = bitLength(M) + 1; // marketCount <= M < 2^nCount
    // the statement (pymargin.zk.statement)
    signal input chainId;
    signal input registry;
    signal input engine;
    signal input checkpointId;
    signal input marketCount;
    signal input price[M];
    signal input fundingIndex[M];
    signal input imf[M];
    signal input mmf[M];
    signal input rootHash;
    signal input totalFig[6]; // L, deficit, belowMmCount, shortfall, Σmm, Σim
    signal input totalCount;
    signal input totalCollateral;
    signal input totalAgg[M][4]; // long, short, cost, sizeF
    // this batch and the chain state before it
    signal input batchIndex;
    signal input paddedIn; // 1 once a padding leaf has been seen in an earlier batch
    signal input figIn[6];
    signal input countIn;
    signal input collateralIn;
    signal input aggIn[M][4];
    // the leaves and the path
    signal input idHash[B];
    signal input salt[B];
    signal input collateral[B];
    signal input slots[B][4][4];
    signal input siblings[T][3];
    // the public signals
    signal output ctx;
    signal output index;
    signal output stateIn;
    signal output stateOut;

    component marketsRange = MarketsRangeCheck(M);
    marketsRange.price <== price;
    marketsRange.fundingIndex <== fundingIndex;
    marketsRange.imf <== imf;
    marketsRange.mmf <== mmf;
    component countRange = RangeCheck(nCount);
    countRange.in <== marketCount;
    component countMax = LessThan(nCount);
    countMax.in <== [marketCount, M + 1];
    countMax.out === 1;

    // The per-market tables every slot selects from (price - F, price * mmf, price * imf).
    component tables = MarketTerms(M, 2);
    tables.price <== price;
    tables.fundingIndex <== fundingIndex;
    tables.fraction <== [mmf, imf];

    component first = IsZero();
    first.in <== batchIndex;
    component last = IsEqual();
    last.in[0] <== batchIndex;
    last.in[1] <== (1 << T) - 1;

    // Accounts: §4 figures and leaf hash; with options, AccountOptions and the standing at its figures
    // (§7.9); then the tree, the padding and the sums.
    component account[B];
    component leaf[B];
    component pad[B];
    signal leafNode[B][3];
    var accountLiability[B];
    var accountDeficit[B];
    var accountBelow[B];
    var accountShortfall[B];
    var accountMm[B];
    var accountIm[B];
    var accountLeaf[B];
    for (var i = 0; i < B; i++) {
        account[i] = AccountFigures(M, nCount);
        account[i].collateral <== collateral[i];
        account[i].slots <== slots[i];
        account[i].priceLessIndex <== tables.priceLessIndex;
        account[i].priceFraction <== tables.priceFraction;
        account[i].marketCount <== marketCount;
        leaf[i] = LeafHash();
        leaf[i].idHash <== idHash[i];
        leaf[i].salt <== salt[i];
        leaf[i].collateral <== collateral[i];
        leaf[i].slots <== slots[i];
        accountLiability[i] = account[i].liability;
        accountDeficit[i] = account[i].deficit;
        accountBelow[i] = account[i].below;
        accountShortfall[i] = account[i].shortfall;
        accountMm[i] = account[i].mm;
        accountIm[i] = account[i].im;
        accountLeaf[i] = leaf[i].out;
    }
    var optionsCtx = 0; // with options: optionsHash, and the per-row option sums' hashes
    var optionsIn = 0;
    var optionsOut = 0;
    var optionsTotals = 0;
    if (P > 0) {
        // the option tables (public: optionsHash) and the per-row option sums
        signal input array[N][16];
        signal input som[N];
        signal input value[N];
        signal input seriesKey[N];
        signal input multiple;
        signal input perpRow[M];
        signal input totalSeriesAgg[N][2]; // Σ long, Σ short option size per row
        signal input seriesAggIn[N][2];
        // each leaf's option slots
        signal input optionRow[B][P];
        signal input optionSize[B][P];

        component optionTables = OptionTables(M, N);
        optionTables.array <== array;
        optionTables.som <== som;
        optionTables.value <== value;
        optionTables.multiple <== multiple;
        optionTables.perpRow <== perpRow;
        component options[B];
        component standing[B];
        var seriesAgg[N][2];
        for (var r = 0; r < N; r++) {
            seriesAgg[r] = [0, 0];
        }
        for (var i = 0; i < B; i++) {
            options[i] = AccountOptions(M, U, R, P);
            options[i].baseEquity <== account[i].equity;
            options[i].baseMm <== account[i].mm;
            options[i].baseIm <== account[i].im;
            options[i].baseLeaf <== leaf[i].out;
            for (var j = 0; j < M; j++) {
                options[i].marketNet[j] <== account[i].agg[j][0] - account[i].agg[j][1];
                options[i].marketShort[j] <== account[i].agg[j][1];
            }
            options[i].perpOneHot <== optionTables.perpOneHot;
            options[i].array <== array;
            options[i].som <== som;
            options[i].value <== value;
            options[i].multiple <== multiple;
            options[i].row <== optionRow[i];
            options[i].size <== optionSize[i];
            standing[i] = Standing();
            standing[i].equity <== options[i].equity;
            standing[i].mm <== options[i].mm;
            accountLiability[i] = standing[i].liability;
            accountDeficit[i] = standing[i].deficit;
            accountBelow[i] = standing[i].below;
            accountShortfall[i] = standing[i].shortfall;
            accountMm[i] = options[i].mm;
            accountIm[i] = options[i].im;
            accountLeaf[i] = options[i].leaf;
            for (var r = 0; r < N; r++) {
                seriesAgg[r][0] += options[i].agg[r][0];
                seriesAgg[r][1] += options[i].agg[r][1];
            }
        }
        signal seriesAggOut[N][2];
        for (var r = 0; r < N; r++) {
            for (var c = 0; c < 2; c++) {
                seriesAggOut[r][c] <== seriesAggIn[r][c] + seriesAgg[r][c];
                first.out * seriesAggIn[r][c] === 0;
                last.out * (seriesAggOut[r][c] - totalSeriesAgg[r][c]) === 0;
            }
        }
        component tablesHash = OptionTablesHash(M, U, R, P);
        tablesHash.array <== array;
        tablesHash.som <== som;
        tablesHash.multiple <== multiple;
        tablesHash.seriesKey <== seriesKey;
        tablesHash.value <== value;
        tablesHash.perpRow <== perpRow;
        optionsCtx = tablesHash.out;
        component aggInHash = SeriesAggregatesHash(N);
        aggInHash.agg <== seriesAggIn;
        optionsIn = aggInHash.out;
        component aggOutHash = SeriesAggregatesHash(N);
        aggOutHash.agg <== seriesAggOut;
        optionsOut = aggOutHash.out;
        component aggTotalHash = SeriesAggregatesHash(N);
        aggTotalHash.agg <== totalSeriesAgg;
        optionsTotals = aggTotalHash.out;
    }

    var fig[6] = [0, 0, 0, 0, 0, 0];
    var count = 0;
    var coll = 0;
    var agg[M][4];
    for (var j = 0; j < M; j++) {
        agg[j] = [0, 0, 0, 0];
    }
    for (var i = 0; i < B; i++) {
        leafNode[i][0] <== accountLeaf[i];
        leafNode[i][1] <== accountLiability[i];
        leafNode[i][2] <== accountMm[i];

        pad[i] = PadStep();
        pad[i].paddedIn <== i == 0 ? paddedIn : pad[i - 1].padding;
        pad[i].idHash <== idHash[i];
        pad[i].leafHash <== accountLeaf[i];

        fig[0] += accountLiability[i];
        fig[1] += accountDeficit[i];
        fig[2] += accountBelow[i];
        fig[3] += accountShortfall[i];
        fig[4] += accountMm[i];
        fig[5] += accountIm[i];
        count += 1 - pad[i].padding;
        coll += collateral[i];
        for (var j = 0; j < M; j++) {
            for (var c = 0; c < 4; c++) {
                agg[j][c] += account[i].agg[j][c];
            }
        }
    }

    // The batch subtree, then the path to the root (rootHash, L, Σmm).
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
        component indexBits = Num2Bits(T); // also batchIndex < 2^T
        indexBits.in <== batchIndex;
        path.bits <== indexBits.out;
    }
    path.siblings <== siblings;
    path.root[0] === rootHash;
    path.root[1] === totalFig[0];
    path.root[2] === totalFig[4];

    // Chain: out = in + batch; the first batch starts at zero, the last ends at the totals.
    signal figOut[6];
    for (var c = 0; c < 6; c++) {
        figOut[c] <== figIn[c] + fig[c];
    }
    signal countOut <== countIn + count;
    signal collateralOut <== collateralIn + coll;
    signal aggOut[M][4];
    for (var j = 0; j < M; j++) {
        for (var c = 0; c < 4; c++) {
            aggOut[j][c] <== aggIn[j][c] + agg[j][c];
        }
    }
    first.out * paddedIn === 0;
    first.out * countIn === 0;
    first.out * collateralIn === 0;
    last.out * (countOut - totalCount) === 0;
    last.out * (collateralOut - totalCollateral) === 0;
    for (var c = 0; c < 6; c++) {
        first.out * figIn[c] === 0;
        last.out * (figOut[c] - totalFig[c]) === 0;
    }
    for (var j = 0; j < M; j++) {
        for (var c = 0; c < 4; c++) {
            first.out * aggIn[j][c] === 0;
            last.out * (aggOut[j][c] - totalAgg[j][c]) === 0;
        }
    }

    // The public signals: the statement's hash, the batch index and the chain states around the batch.
    component shape = Poseidon(4);
    shape.inputs <== [K, T, M, 4];
    component meta = Poseidon(6);
    meta.inputs <== [shape.out, chainId, registry, engine, checkpointId, marketCount];
    component markets = MarketsHash(M);
    markets.price <== price;
    markets.fundingIndex <== fundingIndex;
    markets.imf <== imf;
    markets.mmf <== mmf;
    var extra = P > 0 ? 1 : 0;
    component totals = SumsHash(M, 0, extra);
    totals.padded <== 0;
    totals.fig <== totalFig;
    totals.count <== totalCount;
    totals.collateral <== totalCollateral;
    totals.agg <== totalAgg;
    component inHash = SumsHash(M, 1, extra);
    inHash.padded <== paddedIn;
    inHash.fig <== figIn;
    inHash.count <== countIn;
    inHash.collateral <== collateralIn;
    inHash.agg <== aggIn;
    component outHash = SumsHash(M, 1, extra);
    outHash.padded <== pad[B - 1].padding;
    outHash.fig <== figOut;
    outHash.count <== countOut;
    outHash.collateral <== collateralOut;
    outHash.agg <== aggOut;
    if (P == 0) {
        component ctxHash = Poseidon(4);
        ctxHash.inputs <== [meta.out, markets.out, rootHash, totals.out];
        ctx <== ctxHash.out;
    } else {
        totals.extra <== optionsTotals;
        inHash.extra <== optionsIn;
        outHash.extra <== optionsOut;
        component ctxHash = Poseidon(5);
        ctxHash.inputs <== [meta.out, markets.out, rootHash, totals.out, optionsCtx];
        ctx <== ctxHash.out;
    }
    index <== batchIndex;
    stateIn <== inHash.out;
    stateOut <== outHash.out;
}
