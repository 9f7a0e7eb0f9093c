pragma circom 2.1.6;

// Portfolio (risk-array) margin of an account, exactly pymargin.riskarray.maintenance_margin /
// initial_margin per underlying and pymargin.riskbatch (RiskArrayBook.maintenanceMargin) over
// underlyings (docs/spec.md §4.1, §4.2, §7.8):
//   per underlying u:  MM_u = max(0, max_s ⌈−t_s / WAD⌉, ⌈Σ_{size<0} |size|·som / WAD⌉),
//                      t_s = Σ_{positions in u} size·array[s]   (S = 16 scenarios)
//   MM = Σ_u MM_u (no credit between underlyings),   IM = ⌈MM·multiple / WAD⌉.
// Ceil is monotone, so MM_u = ⌈max(0, −t_0, …, −t_15, somSum) / WAD⌉: the maximum of 18
// integers (WAD² scale), then one division.
//
// Layout: the public tables hold N = U·K series, underlying u owning series u·K … u·K + K − 1
// (a venue's series sorted by underlying, unused rows all zero). An account has P slots
// (series index, size); an empty slot has size 0. A series may fill two slots: the scenario sums
// are linear, and the short-option minimum counts each short slot, as the contract does.
//
// Bounds (range-checked: sizes here, tables by RiskTablesRangeCheck):
//   |size| <= 2^94 (SignedRangeCheck(94)), |array[s]| <= 2^130 (SignedRangeCheck(130)),
//   0 <= som < 2^130, WAD <= multiple < WAD + 2^64, series index in [0, N) (one-hot).
// Hence |t_s| <= Σ_p |size_p|·2^130 <= P·2^224 < 2^nT with nT = 224 + bitLength(P), and
// 0 <= somSum <= P·2^94·2^130 < 2^nT; MM_u < 2^(nT−59) (WAD > 2^59), MM < 2^(nT−59+bitLength(U)),
// MM·multiple < 2^(nT+6+bitLength(U)) <= 2^250 < p/2 (asserted): no intermediate wraps the field.

include "circomlib/circuits/poseidon.circom";
include "fixedpoint.circom";

function portfolioLossBits(P) {
    return 224 + bitLength(P);
}

// The public tables are in range: |array[j][s]| <= 2^130, 0 <= som[j] < 2^130,
// multiple − WAD ∈ [0, 2^64). Once per circuit: N·(16·131 + 130) + 64 constraints.
template RiskTablesRangeCheck(N) {
    signal input array[N][16];
    signal input som[N];
    signal input multiple;
    component a[N][16];
    component s[N];
    for (var j = 0; j < N; j++) {
        for (var k = 0; k < 16; k++) {
            a[j][k] = SignedRangeCheck(130);
            a[j][k].in <== array[j][k];
        }
        s[j] = RangeCheck(130);
        s[j].in <== som[j];
    }
    component m = RangeCheck(64);
    m.in <== multiple - 10**18;
}

// e[j] = 1 iff index = j, for an index in [0, N); no assignment exists for any other index.
// N + 2 constraints (N booleans, Σ e = 1, Σ j·e = index); --O2 substitutes the two linear ones
// into the last entries' uses, leaving N.
template OneHot(N) {
    signal input index;
    signal output e[N];
    var sum = 0;
    var at = 0;
    for (var j = 0; j < N; j++) {
        e[j] <-- index == j ? 1 : 0;
        e[j] * (e[j] - 1) === 0;
        sum += e[j];
        at += j * e[j];
    }
    sum === 1;
    at === index;
}

// Per series j: net[j] = Σ_p [series_p = j]·size_p and short[j] = Σ_p [series_p = j]·max(−size_p, 0),
// sizes range-checked to [−2^94, 2^94). Per slot, after --O2: 95 (range) + 1 (short size) + N
// (one-hot) + 2N (selection products) constraints.
template NetSizes(N, P) {
    signal input series[P];
    signal input size[P];
    signal output net[N];
    signal output short[N];
    component range[P];
    component select[P];
    signal shortSize[P];
    signal netTerm[P][N];
    signal shortTerm[P][N];
    for (var p = 0; p < P; p++) {
        range[p] = SignedRangeCheck(94);
        range[p].in <== size[p];
        shortSize[p] <== -range[p].neg * size[p];
        select[p] = OneHot(N);
        select[p].index <== series[p];
        for (var j = 0; j < N; j++) {
            netTerm[p][j] <== select[p].e[j] * size[p];
            shortTerm[p][j] <== select[p].e[j] * shortSize[p];
        }
    }
    for (var j = 0; j < N; j++) {
        var n = 0;
        var s = 0;
        for (var p = 0; p < P; p++) {
            n += netTerm[p][j];
            s += shortTerm[p][j];
        }
        net[j] <== n;
        short[j] <== s;
    }
}

// One underlying's scenario losses (WAD²): loss[s] = −Σ_k net[k]·array[k][s]. 16·K constraints.
template ScenarioLosses(K) {
    signal input net[K];
    signal input array[K][16];
    signal output loss[16];
    signal product[K][16];
    for (var s = 0; s < 16; s++) {
        var t = 0;
        for (var k = 0; k < K; k++) {
            product[k][s] <== net[k] * array[k][s];
            t += product[k][s];
        }
        loss[s] <== -t;
    }
}

// One underlying's short-option minimum before rounding (WAD²): Σ_k short[k]·som[k]. K constraints.
template ShortOptionMinimum(K) {
    signal input short[K];
    signal input som[K];
    signal output out;
    signal term[K];
    var total = 0;
    for (var k = 0; k < K; k++) {
        term[k] <== short[k] * som[k];
        total += term[k];
    }
    out <== total;
}

// out = max(in[0], …, in[n−1]) for signed integers |in[i]| < 2^b (the caller's bound), b + 1 <= 252.
// out − in[i] ∈ [0, 2^(b+1)) for every i (out is at least each), and Π_i (out − in[i]) = 0 (out is
// one of them: the field has no zero divisors): n·(b + 2) − 1 constraints. Any other out fails:
// a smaller one makes out − max negative, i.e. ≥ p − 2^(b+1) as a field element, outside the range.
template MaxOf(n, b) {
    assert(b + 1 <= 252);
    signal input in[n];
    signal output out;
    var best = in[0];
    for (var i = 1; i < n; i++) {
        best = in[i] > best ? in[i] : best; // circom compares field elements as signed values
    }
    out <-- best;
    component above[n];
    signal chain[n];
    for (var i = 0; i < n; i++) {
        above[i] = RangeCheck(b + 1);
        above[i].in <== out - in[i];
        if (i == 0) {
            chain[i] <== out - in[i];
        } else {
            chain[i] <== chain[i - 1] * (out - in[i]);
        }
    }
    chain[n - 1] === 0;
}

// MM_u of one underlying with K series (net and short sizes from NetSizes over P slots):
// ⌈max(0, loss[0..15], somSum) / WAD⌉, one Ceil division bounded by DivRounded (quotient in
// [−2^(nT−58), 2^(nT−58))).
template UnderlyingMargin(K, P) {
    var nT = portfolioLossBits(P);
    signal input net[K];
    signal input short[K];
    signal input array[K][16];
    signal input som[K];
    signal output mm;
    component losses = ScenarioLosses(K);
    losses.net <== net;
    losses.array <== array;
    component minimum = ShortOptionMinimum(K);
    minimum.short <== short;
    minimum.som <== som;
    component worst = MaxOf(18, nT);
    worst.in[0] <== 0;
    for (var s = 0; s < 16; s++) {
        worst.in[1 + s] <== losses.loss[s];
    }
    worst.in[17] <== minimum.out;
    component ceil = DivRounded(1, nT, 10**18);
    ceil.in <== worst.out;
    mm <== ceil.out;
}

// MM and IM of one account (P slots) against tables of U underlyings × K series each, which the
// caller has range-checked (RiskTablesRangeCheck).
template PortfolioMargin(U, K, P) {
    var N = U * K;
    var nT = portfolioLossBits(P);
    var nIm = nT + 6 + bitLength(U);
    assert(nIm <= 250);
    signal input array[N][16];
    signal input som[N];
    signal input multiple;
    signal input series[P];
    signal input size[P];
    signal output mm;
    signal output im;
    component sizes = NetSizes(N, P);
    sizes.series <== series;
    sizes.size <== size;
    component under[U];
    var total = 0;
    for (var u = 0; u < U; u++) {
        under[u] = UnderlyingMargin(K, P);
        for (var k = 0; k < K; k++) {
            under[u].net[k] <== sizes.net[u * K + k];
            under[u].short[k] <== sizes.short[u * K + k];
            under[u].array[k] <== array[u * K + k];
            under[u].som[k] <== som[u * K + k];
        }
        total += under[u].mm;
    }
    mm <== total;
    component initial = MulDivRounded(1, nIm, 10**18);
    initial.a <== mm;
    initial.b <== multiple;
    im <== initial.out;
}

// One account, every input private, (mm, im) public: the parity and soundness tests' circuit.
template PortfolioMarginAccount(U, K, P) {
    var N = U * K;
    signal input array[N][16];
    signal input som[N];
    signal input multiple;
    signal input series[P];
    signal input size[P];
    signal output mm;
    signal output im;
    component tables = RiskTablesRangeCheck(N);
    tables.array <== array;
    tables.som <== som;
    tables.multiple <== multiple;
    component margin = PortfolioMargin(U, K, P);
    margin.array <== array;
    margin.som <== som;
    margin.multiple <== multiple;
    margin.series <== series;
    margin.size <== size;
    mm <== margin.mm;
    im <== margin.im;
}

// riskHash of the public tables (pymargin.zk.portfolio.risk_hash):
//   Poseidon_3(Poseidon_4(B, U, K, P), multiple, r_N),  r_0 = 0,
//   r_{j+1} = Poseidon_4(r_j, som_j, Poseidon_8(array_j[0..7] + 2^130), Poseidon_8(array_j[8..15] + 2^130))
// (offset entries are in [0, 2^131): one field element per integer).
template RiskTablesHash(B, U, K, P) {
    var N = U * K;
    signal input array[N][16];
    signal input som[N];
    signal input multiple;
    signal output out;
    component half[N][2];
    component row[N];
    for (var j = 0; j < N; j++) {
        for (var h = 0; h < 2; h++) {
            half[j][h] = Poseidon(8);
            for (var i = 0; i < 8; i++) {
                half[j][h].inputs[i] <== array[j][8 * h + i] + (1 << 130);
            }
        }
        row[j] = Poseidon(4);
        row[j].inputs <== [j == 0 ? 0 : row[j - 1].out, som[j], half[j][0].out, half[j][1].out];
    }
    component shape = Poseidon(4);
    shape.inputs <== [B, U, K, P];
    component h = Poseidon(3);
    h.inputs <== [shape.out, multiple, row[N - 1].out];
    out <== h.out;
}

// PortfolioMarginBatch(B, U, K, P): B accounts' portfolio margins against one set of public tables.
// Public signals (outputs, in this order):
//   riskHash      of the tables (RiskTablesHash), which a verifier recomputes from the published arrays;
//   accountsHash  = c_B, c_0 = 0, c_{i+1} = Poseidon_4(c_i, positionsHash_i, mm_i, im_i), with
//                   positionsHash_i = Poseidon_{1+P}(salt_i, series_p·2^95 + size_p + 2^94 for each slot)
//                   (injective: size_p + 2^94 ∈ [0, 2^95), series_p < N), so each account can check
//                   its own entry and nothing else about the positions is revealed;
//   totalMm = Σ mm_i, totalIm = Σ im_i.
template PortfolioMarginBatch(B, U, K, P) {
    assert(P + 1 <= 12); // Python's Poseidon stops at 12 inputs
    var N = U * K;
    signal input array[N][16];
    signal input som[N];
    signal input multiple;
    signal input salt[B];
    signal input series[B][P];
    signal input size[B][P];
    signal output riskHash;
    signal output accountsHash;
    signal output totalMm;
    signal output totalIm;

    component tables = RiskTablesRangeCheck(N);
    tables.array <== array;
    tables.som <== som;
    tables.multiple <== multiple;
    component tablesHash = RiskTablesHash(B, U, K, P);
    tablesHash.array <== array;
    tablesHash.som <== som;
    tablesHash.multiple <== multiple;
    riskHash <== tablesHash.out;

    component margin[B];
    component positions[B];
    component chain[B];
    var mmSum = 0;
    var imSum = 0;
    for (var i = 0; i < B; i++) {
        margin[i] = PortfolioMargin(U, K, P);
        margin[i].array <== array;
        margin[i].som <== som;
        margin[i].multiple <== multiple;
        margin[i].series <== series[i];
        margin[i].size <== size[i];
        positions[i] = Poseidon(1 + P);
        positions[i].inputs[0] <== salt[i];
        for (var p = 0; p < P; p++) {
            positions[i].inputs[1 + p] <== series[i][p] * (1 << 95) + size[i][p] + (1 << 94);
        }
        chain[i] = Poseidon(4);
        chain[i].inputs <== [i == 0 ? 0 : chain[i - 1].out, positions[i].out, margin[i].mm, margin[i].im];
        mmSum += margin[i].mm;
        imSum += margin[i].im;
    }
    accountsHash <== chain[B - 1].out;
    totalMm <== mmSum;
    totalIm <== imSum;
}
