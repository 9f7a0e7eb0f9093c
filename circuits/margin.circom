pragma circom 2.1.6;

// One account's equity and margin requirement at given market views (docs/spec.md §4, §7):
//   equity      = collateral - Σ cost_i + floor(Σ size_i * (price_i - (F_i - f_i)) / WAD)
//   requirement = ceil(Σ |size_i| * price_i * fraction_i / WAD^2)   (fraction = mmf: maintenance
//                                                                    margin; imf: initial margin)
// equal to pymargin.margin.equity / maintenance_margin / initial_margin and the contract's views.
// Bounds (every input range-checked here or by MarketsRangeCheck):
//   |size| <= 2^94, |cost| <= 2^130, |f| <= 2^100, |collateral| <= 2^128, market_id < M,
//   0 <= price < 2^94, |F| <= 2^100, 0 <= fraction < 2^60.
// Then |size * (price - F + f)| < 2^94 * (2^94 + 2^101) < 2^195.1, four slots < 2^198, and
// |size| * (price * fraction) < 2^248, four slots < 2^250 < p/2: no intermediate wraps the field.
// Per market, the tables the slots select from are computed once per circuit (MarketTerms):
// price - F and price * fraction for each margin fraction.

include "fixedpoint.circom";

// Market views: 0 <= price < 2^94, |F| <= 2^100, 0 <= imf, mmf < 2^60.
template MarketsRangeCheck(M) {
    signal input price[M];
    signal input fundingIndex[M];
    signal input imf[M];
    signal input mmf[M];
    component p[M];
    component f[M];
    component i[M];
    component m[M];
    for (var j = 0; j < M; j++) {
        p[j] = RangeCheck(94);
        p[j].in <== price[j];
        f[j] = SignedRangeCheck(100);
        f[j].in <== fundingIndex[j];
        i[j] = RangeCheck(60);
        i[j].in <== imf[j];
        m[j] = RangeCheck(60);
        m[j].in <== mmf[j];
    }
}

// Per-market terms the slots select from: priceLessIndex = price - F (linear) and, for each of F
// margin fractions, priceFraction[i] = price * fraction[i] (M * F constraints, once per circuit).
template MarketTerms(M, F) {
    signal input price[M];
    signal input fundingIndex[M];
    signal input fraction[F][M];
    signal output priceLessIndex[M];
    signal output priceFraction[F][M];
    for (var j = 0; j < M; j++) {
        priceLessIndex[j] <== price[j] - fundingIndex[j];
        for (var i = 0; i < F; i++) {
            priceFraction[i][j] <== price[j] * fraction[i][j];
        }
    }
}

// out[k] = table[k][marketId] for a marketId in [0, M): a one-hot selector (M constraints plus
// M - 1 per table: out = table[M-1] + Σ_{j<M-1} e_j * (table[j] - table[M-1])); fails for any
// other marketId. onehot[j] = 1 iff marketId = j.
template SelectMarket(M, K) {
    signal input marketId;
    signal input table[K][M];
    signal output out[K];
    signal output onehot[M];
    signal e[M];
    var sum = 0;
    var index = 0;
    for (var j = 0; j < M; j++) {
        e[j] <-- marketId == j ? 1 : 0;
        e[j] * (e[j] - 1) === 0;
        sum += e[j];
        index += j * e[j];
    }
    sum === 1;
    index === marketId;
    onehot <== e;
    signal terms[K][M];
    for (var k = 0; k < K; k++) {
        var acc = table[k][M - 1];
        for (var j = 0; j < M - 1; j++) {
            terms[k][j] <== e[j] * (table[k][j] - table[k][M - 1]);
            acc += terms[k][j];
        }
        out[k] <== acc;
    }
}

// One position slot (market_id, size, cost_basis, funding_index f): range checks, and its terms
// value = size * ((price - F) + f) and requirement[i] = |size| * (price * fraction[i]) for F
// margin fractions (tables from MarketTerms); market = the one-hot of its market id, absSize = |size|.
template SlotTerms(M, F) {
    signal input slot[4];
    signal input priceLessIndex[M];
    signal input priceFraction[F][M];
    signal output value;
    signal output requirement[F];
    signal output market[M];
    signal output absSize;

    component size = SignedRangeCheck(94);
    size.in <== slot[1];
    component cost = SignedRangeCheck(130);
    cost.in <== slot[2];
    component f = SignedRangeCheck(100);
    f.in <== slot[3];

    component select = SelectMarket(M, 1 + F);
    select.marketId <== slot[0];
    select.table[0] <== priceLessIndex;
    for (var i = 0; i < F; i++) {
        select.table[1 + i] <== priceFraction[i];
    }
    market <== select.onehot;

    value <== slot[1] * (select.out[0] + slot[3]);
    component abs = SignedAbs();
    abs.in <== slot[1];
    abs.neg <== size.neg;
    absSize <== abs.out;
    for (var i = 0; i < F; i++) {
        requirement[i] <== absSize * select.out[1 + i];
    }
}

// Equity (Floor) and F requirements (Ceil) of one account with MAX_POSITIONS = 4 slots; also each
// slot's market one-hot and |size| (SlotTerms). Each requirement is range-checked to
// [0, 2^131) (which makes its quotient unique); equity's Floor quotient is NOT bounded here: the
// caller must range-check equity to [-2^140, 2^140) (then |quotient| < 2^141 and
// 141 + bitLength(WAD) <= 252, DivRoundedUnbounded), as AccountMargin and SolvencyBatch do.
template AccountMargins(M, F) {
    signal input collateral;
    signal input slots[4][4];
    signal input priceLessIndex[M];
    signal input priceFraction[F][M];
    signal output equity;
    signal output requirement[F];
    signal output market[4][M];
    signal output absSize[4];

    component c = SignedRangeCheck(128);
    c.in <== collateral;
    component terms[4];
    var value = 0;
    var cost = 0;
    var req[F];
    for (var i = 0; i < F; i++) {
        req[i] = 0;
    }
    for (var k = 0; k < 4; k++) {
        terms[k] = SlotTerms(M, F);
        terms[k].slot <== slots[k];
        terms[k].priceLessIndex <== priceLessIndex;
        terms[k].priceFraction <== priceFraction;
        value += terms[k].value;
        for (var i = 0; i < F; i++) {
            req[i] += terms[k].requirement[i];
        }
        cost += slots[k][2];
        market[k] <== terms[k].market;
        absSize[k] <== terms[k].absSize;
    }
    component floorValue = DivRoundedUnbounded(0, 198, 10**18);
    floorValue.in <== value;
    equity <== collateral - cost + floorValue.out;
    // 0 <= Σ |size| * price * fraction < 2^250, so the Ceil quotient is in [0, 2^131).
    component ceilReq[F];
    component reqRange[F];
    for (var i = 0; i < F; i++) {
        ceilReq[i] = DivRoundedUnbounded(1, 250, 10**36);
        ceilReq[i].in <== req[i];
        reqRange[i] = RangeCheck(131);
        reqRange[i].in <== ceilReq[i].out;
        requirement[i] <== ceilReq[i].out;
    }
}

// Equity (Floor) and requirement (Ceil) of one account at one margin fraction (mmf or imf);
// equity is range-checked to [-2^140, 2^140) (|equity| < 2^128 + 2^132 + 2^138.2 < 2^139 inside
// the bounds), which bounds AccountMargins' Floor quotient.
template AccountMargin(M) {
    signal input collateral;
    signal input slots[4][4];
    signal input price[M];
    signal input fundingIndex[M];
    signal input fraction[M];
    signal output equity;
    signal output requirement;

    component tables = MarketTerms(M, 1);
    tables.price <== price;
    tables.fundingIndex <== fundingIndex;
    tables.fraction <== [fraction];
    component margins = AccountMargins(M, 1);
    margins.collateral <== collateral;
    margins.slots <== slots;
    margins.priceLessIndex <== tables.priceLessIndex;
    margins.priceFraction <== tables.priceFraction;
    component equityRange = SignedRangeCheck(140);
    equityRange.in <== margins.equity;
    equity <== margins.equity;
    requirement <== margins.requirement[0];
}
