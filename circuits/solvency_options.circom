pragma circom 2.1.6;

// The option part of SolvencyBatch(K, M, T, U, R, P) with P > 0 (docs/spec.md §7.9): public option
// tables of N = U·R rows (§7.8's risk arrays and som, plus each row's value v per long unit and series
// key, and each market's perp row), and per account P option slots (row, size). No pricing here: the
// arrays and values are the epoch's public data. An account holding an option (a slot of size ≠ 0) is
// margined as the engine margins it (§5.13):
//   equity = §4 equity + ⌊Σ_p size_p·v_{row_p} / WAD⌋                       (signed Floor)
//   mm     = §7.8's requirement (UnderlyingMargin per underlying) over its perps (market j's net on
//            row perpRow_j) and its option slots
//   im     = ⌈mm·multiple / WAD⌉
// and its leaf is Poseidon_2(leaf, Poseidon_P(row_p·2^95 + size_p + 2^94 …)); an account without
// options keeps §4's figures and its §6.2 leaf.

include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "fixedpoint.circom";
include "portfolio.circom";

// The public option tables are in range: arrays, som, multiple (RiskTablesRangeCheck), 0 <= v < 2^130,
// every market's perp row in [0, N); perpRow[j][r] = 1 iff market j's perp series is row r.
template OptionTables(M, N) {
    signal input array[N][16];
    signal input som[N];
    signal input value[N];
    signal input multiple;
    signal input perpRow[M];
    signal output perpOneHot[M][N];
    component tables = RiskTablesRangeCheck(N);
    tables.array <== array;
    tables.som <== som;
    tables.multiple <== multiple;
    component v[N];
    for (var r = 0; r < N; r++) {
        v[r] = RangeCheck(130);
        v[r].in <== value[r];
    }
    component rows[M];
    for (var j = 0; j < M; j++) {
        rows[j] = OneHot(N);
        rows[j].index <== perpRow[j];
        perpOneHot[j] <== rows[j].e;
    }
}

// optionsHash = Poseidon_3(riskHash, marksHash, perpHash) with riskHash = RiskTablesHash(0, U, R, P)
// (§7.8's, B = 0), marksHash = q_N, q_0 = 0, q_{r+1} = Poseidon_3(q_r, seriesKey_r, v_r), and
// perpHash = h_M, h_0 = 0, h_{j+1} = Poseidon_2(h_j, perpRow_j).
template OptionTablesHash(M, U, R, P) {
    var N = U * R;
    signal input array[N][16];
    signal input som[N];
    signal input multiple;
    signal input seriesKey[N];
    signal input value[N];
    signal input perpRow[M];
    signal output out;
    component risk = RiskTablesHash(0, U, R, P);
    risk.array <== array;
    risk.som <== som;
    risk.multiple <== multiple;
    component marks[N];
    for (var r = 0; r < N; r++) {
        marks[r] = Poseidon(3);
        marks[r].inputs <== [r == 0 ? 0 : marks[r - 1].out, seriesKey[r], value[r]];
    }
    component perp[M];
    for (var j = 0; j < M; j++) {
        perp[j] = Poseidon(2);
        perp[j].inputs <== [j == 0 ? 0 : perp[j - 1].out, perpRow[j]];
    }
    component h = Poseidon(3);
    h.inputs <== [risk.out, marks[N - 1].out, perp[M - 1].out];
    out <== h.out;
}

// seriesAggHash = a_N, a_0 = 0, a_{r+1} = Poseidon_3(a_r, long_r, short_r) of per-row option sums.
template SeriesAggregatesHash(N) {
    signal input agg[N][2];
    signal output out;
    component h[N];
    for (var r = 0; r < N; r++) {
        h[r] = Poseidon(3);
        h[r].inputs <== [r == 0 ? 0 : h[r - 1].out, agg[r][0], agg[r][1]];
    }
    out <== h[N - 1].out;
}

// One account's option slots at the public tables: its figures as the engine's (above), its leaf, and
// its per-row option sums agg[r] = (Σ max(size, 0), Σ max(−size, 0)) over its slots on row r.
// marketNet[j] / marketShort[j] are its perp net and short size in market j (AccountMargins' one-hot
// sums; Σ_j |marketNet_j| <= 4·2^94), base* its §4 figures, baseLeaf its §6.2 leaf hash.
// Bounds: |size_p| <= 2^94 (NetSizes), 0 <= v < 2^130, so |Σ size·v| < P·2^224 < 2^(224 + bitLength(P)).
template AccountOptions(M, U, R, P) {
    var N = U * R;
    assert(portfolioLossBits(4 + P) + 6 + bitLength(U) <= 250); // PortfolioMargin's bound on MM·multiple
    signal input baseEquity;
    signal input baseMm;
    signal input baseIm;
    signal input baseLeaf;
    signal input marketNet[M];
    signal input marketShort[M];
    signal input perpOneHot[M][N];
    signal input array[N][16];
    signal input som[N];
    signal input value[N];
    signal input multiple;
    signal input row[P];
    signal input size[P];
    signal output equity;
    signal output mm;
    signal output im;
    signal output leaf;
    signal output agg[N][2];

    component options = NetSizes(N, P);
    options.series <== row;
    options.size <== size;

    // Perps on their rows: net_r = Σ_j [perpRow_j = r]·marketNet_j (and the same for short sizes), then
    // §7.8's requirement per underlying over the 4 + P positions (UnderlyingMargin) and the IM.
    signal perpNet[M][N];
    signal perpShort[M][N];
    signal net[N];
    signal short[N];
    for (var r = 0; r < N; r++) {
        var netSum = options.net[r];
        var shortSum = options.short[r];
        for (var j = 0; j < M; j++) {
            perpNet[j][r] <== perpOneHot[j][r] * marketNet[j];
            perpShort[j][r] <== perpOneHot[j][r] * marketShort[j];
            netSum += perpNet[j][r];
            shortSum += perpShort[j][r];
        }
        net[r] <== netSum;
        short[r] <== shortSum;
        agg[r][0] <== options.net[r] + options.short[r];
        agg[r][1] <== options.short[r];
    }
    component under[U];
    var portfolioMm = 0;
    for (var u = 0; u < U; u++) {
        under[u] = UnderlyingMargin(R, 4 + P);
        for (var k = 0; k < R; k++) {
            under[u].net[k] <== net[u * R + k];
            under[u].short[k] <== short[u * R + k];
            under[u].array[k] <== array[u * R + k];
            under[u].som[k] <== som[u * R + k];
        }
        portfolioMm += under[u].mm;
    }
    component initial = MulDivRounded(1, portfolioLossBits(4 + P) + 6 + bitLength(U), 10**18);
    initial.a <== portfolioMm;
    initial.b <== multiple;

    // Value of the options: ⌊Σ_r net_r·v_r / WAD⌋ (signed Floor).
    signal valueTerm[N];
    var total = 0;
    for (var r = 0; r < N; r++) {
        valueTerm[r] <== options.net[r] * value[r];
        total += valueTerm[r];
    }
    component floorValue = DivRounded(0, 224 + bitLength(P), 10**18);
    floorValue.in <== total;
    equity <== baseEquity + floorValue.out;

    // Holds an option iff some slot's size is not 0: Σ size_p² ≠ 0 (< P·2^188, no wrap).
    signal square[P];
    var squares = 0;
    for (var p = 0; p < P; p++) {
        square[p] <== size[p] * size[p];
        squares += square[p];
    }
    component none = IsZero();
    none.in <== squares;
    signal holds <== 1 - none.out;
    mm <== baseMm + holds * (portfolioMm - baseMm);
    im <== baseIm + holds * (initial.out - baseIm);

    component slotsHash = Poseidon(P);
    for (var p = 0; p < P; p++) {
        slotsHash.inputs[p] <== row[p] * (1 << 95) + size[p] + (1 << 94);
    }
    component withOptions = Poseidon(2);
    withOptions.inputs <== [baseLeaf, slotsHash.out];
    leaf <== baseLeaf + holds * (withOptions.out - baseLeaf);
}
