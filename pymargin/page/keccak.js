// Keccak-256 (the Ethereum hash, padding 0x01), on BigInt lanes. Used for account id hashes and
// EIP-55 addresses; tests/test_page.py checks it against eth_hash on random inputs.
"use strict";
const KECCAK_MASK = (1n << 64n) - 1n;
const KECCAK_ROT = [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44];
const KECCAK_PI = [10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1];
const KECCAK_RC = (() => {
  const rc = [];
  let r = 1;
  for (let round = 0; round < 24; round++) {
    let c = 0n;
    for (let j = 0; j < 7; j++) {
      r = ((r << 1) ^ ((r >> 7) * 0x71)) % 256;
      if (r & 2) c ^= 1n << BigInt((1 << j) - 1);
    }
    rc.push(c);
  }
  return rc;
})();

function keccakRotl(x, n) {
  const b = BigInt(n);
  return ((x << b) | (x >> (64n - b))) & KECCAK_MASK;
}

function keccakF(s) {
  for (let round = 0; round < 24; round++) {
    const c = [0, 1, 2, 3, 4].map((x) => s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20]);
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ keccakRotl(c[(x + 1) % 5], 1);
      for (let y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    let t = s[1];
    for (let i = 0; i < 24; i++) {
      const j = KECCAK_PI[i];
      const next = s[j];
      s[j] = keccakRotl(t, KECCAK_ROT[i]);
      t = next;
    }
    for (let y = 0; y < 25; y += 5) {
      const row = s.slice(y, y + 5);
      for (let x = 0; x < 5; x++) s[y + x] = row[x] ^ (~row[(x + 1) % 5] & KECCAK_MASK & row[(x + 2) % 5]);
    }
    s[0] ^= KECCAK_RC[round];
  }
}

/** keccak256(bytes) as a Uint8Array of 32 bytes. */
function keccak256(bytes) {
  const rate = 136;
  const padded = new Uint8Array((Math.floor(bytes.length / rate) + 1) * rate);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const s = new Array(25).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let k = 7; k >= 0; k--) lane = (lane << 8n) | BigInt(padded[off + 8 * i + k]);
      s[i] ^= lane;
    }
    keccakF(s);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((s[i >> 3] >> BigInt(8 * (i & 7))) & 0xffn);
  return out;
}

/** keccak256 of a string's UTF-8 bytes, as a BigInt. */
function keccak256Utf8(text) {
  const digest = keccak256(new TextEncoder().encode(text));
  return BigInt("0x" + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
}
