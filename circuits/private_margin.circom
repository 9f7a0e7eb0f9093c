pragma circom 2.1.6;

// PrivateMargin(M): one account proves, against its public commitment (its leaf hash, §6), that
// its equity >= its initial margin (initial = 1) or maintenance margin (initial = 0) at the given
// market views, revealing nothing else (docs/spec.md §7). Its only public signal is
//   pub = Poseidon_3(leafHash, marketsHash, initial)
// with marketsHash as in SolvencyBatch.

include "fixedpoint.circom";
include "margin.circom";
include "commit.circom";
include "solvency.circom";

template PrivateMargin(M) {
    signal input idHash;
    signal input salt;
    signal input collateral;
    signal input slots[4][4];
    signal input price[M];
    signal input fundingIndex[M];
    signal input imf[M];
    signal input mmf[M];
    signal input initial;
    signal output pub;

    initial * (initial - 1) === 0;
    component idRange = RangeCheck(248);
    idRange.in <== idHash;
    component saltRange = RangeCheck(248);
    saltRange.in <== salt;
    component marketsRange = MarketsRangeCheck(M);
    marketsRange.price <== price;
    marketsRange.fundingIndex <== fundingIndex;
    marketsRange.imf <== imf;
    marketsRange.mmf <== mmf;

    signal fraction[M];
    for (var j = 0; j < M; j++) {
        fraction[j] <== mmf[j] + initial * (imf[j] - mmf[j]);
    }
    component margin = AccountMargin(M);
    margin.collateral <== collateral;
    margin.slots <== slots;
    margin.price <== price;
    margin.fundingIndex <== fundingIndex;
    margin.fraction <== fraction;
    component enough = AssertGreaterEq(142);
    enough.a <== margin.equity;
    enough.b <== margin.requirement;

    component leaf = LeafHash();
    leaf.idHash <== idHash;
    leaf.salt <== salt;
    leaf.collateral <== collateral;
    leaf.slots <== slots;
    component markets = MarketsHash(M);
    markets.price <== price;
    markets.fundingIndex <== fundingIndex;
    markets.imf <== imf;
    markets.mmf <== mmf;
    component h = Poseidon(3);
    h.inputs <== [leaf.out, markets.out, initial];
    pub <== h.out;
}
