// SM3 (GB/T 32905-2016), for logs hashed with SM3 (`log.hash = "sm3"`):
// WebCrypto has no SM3, so the console carries this small one. Checked
// against the gateway's own SM3 in gateway/tests/console.rs on inputs of
// every padding case.
"use strict";

const Sm3 = (() => {
  const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];
  const rotl = (x, n) => ((x << n) | (x >>> (32 - n))) >>> 0;
  const p0 = (x) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
  const p1 = (x) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;
  // T_j rotated left by j mod 32, once for all.
  const TJ = Array.from({ length: 64 }, (_, j) => rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32));

  function compress(v, block) {
    const w = new Uint32Array(68);
    const w1 = new Uint32Array(64);
    for (let j = 0; j < 16; j++) {
      const i = 4 * j;
      w[j] = ((block[i] << 24) | (block[i + 1] << 16) | (block[i + 2] << 8) | block[i + 3]) >>> 0;
    }
    for (let j = 16; j < 68; j++) {
      w[j] = (p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6]) >>> 0;
    }
    for (let j = 0; j < 64; j++) w1[j] = (w[j] ^ w[j + 4]) >>> 0;
    let [a, b, c, d, e, f, g, h] = v;
    for (let j = 0; j < 64; j++) {
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + TJ[j]) >>> 0, 7);
      const ss2 = (ss1 ^ a12) >>> 0;
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = ((ff >>> 0) + d + ss2 + w1[j]) >>> 0;
      const tt2 = ((gg >>> 0) + h + ss1 + w[j]) >>> 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = p0(tt2);
    }
    return [a, b, c, d, e, f, g, h].map((x, i) => (x ^ v[i]) >>> 0);
  }

  // The SM3 digest of `bytes` (a Uint8Array), 32 bytes.
  function digest(bytes) {
    const n = bytes.length;
    // Padding: 0x80, zeros up to 56 mod 64, the length in bits (64-bit
    // big-endian).
    const padded = new Uint8Array(Math.ceil((n + 9) / 64) * 64);
    padded.set(bytes);
    padded[n] = 0x80;
    const bits = n * 8;
    const end = padded.length;
    const high = Math.floor(bits / 0x100000000);
    for (let i = 0; i < 4; i++) {
      padded[end - 1 - i] = (bits >>> (8 * i)) & 0xff;
      padded[end - 5 - i] = (high >>> (8 * i)) & 0xff;
    }
    let v = IV;
    for (let at = 0; at < end; at += 64) v = compress(v, padded.subarray(at, at + 64));
    const out = new Uint8Array(32);
    v.forEach((x, i) => {
      out[4 * i] = x >>> 24;
      out[4 * i + 1] = (x >>> 16) & 0xff;
      out[4 * i + 2] = (x >>> 8) & 0xff;
      out[4 * i + 3] = x & 0xff;
    });
    return out;
  }

  return { digest };
})();
