// The H points of a snarkjs zkey from arkworks' h_query (pymargin/zk/zkey.py explains the formula).
// Usage: node coset_h.cjs IN OUT N
//   IN:  N G1 points, affine, Montgomery little-endian (64 bytes each): h_query[j] = τ^j·Z(τ)/δ
//        for j < N - 1, then the point at infinity (zeros)
//   OUT: N G1 points, same encoding: H_i = Σ_j −½·g^(−j)·ω^(−ij)·h_query[j] = ifft(b)_i, b_j = −½·g^(−j)·h_query[j]
//        (ω a primitive N-th root of unity, g = ω_2N; ifft includes the factor 1/N)
const fs = require("fs");
const { buildBn128 } = require("ffjavascript");

async function main() {
    const [inPath, outPath, nText] = process.argv.slice(2);
    const n = Number(nText);
    const curve = await buildBn128();
    const Fr = curve.Fr;
    const power = Math.log2(n);
    if (!Number.isInteger(power)) throw new Error(`N = ${n} is not a power of 2`);
    const buff = new Uint8Array(fs.readFileSync(inPath));
    if (buff.byteLength !== n * 64) throw new Error(`${inPath} holds ${buff.byteLength} bytes, expected ${n * 64}`);
    const g = Fr.w[power + 1];
    const scaled = await curve.G1.batchApplyKey(buff, Fr.neg(Fr.inv(Fr.e(2))), Fr.inv(g), "affine", "affine");
    const h = await curve.G1.ifft(scaled, "affine", "affine");
    fs.writeFileSync(outPath, h);
    await curve.terminate();
}

main().catch((err) => {
    console.error(err.message || String(err));
    process.exit(1);
});
