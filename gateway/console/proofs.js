// The console's checks, done in the browser: the C2SP signed note and
// checkpoint, the verifier key, Ed25519 signatures (WebCrypto), and RFC 9162
// inclusion and consistency proofs (leaf hash H(0x00 ‖ leaf), node hash
// H(0x01 ‖ left ‖ right)) with H the log's hash, `sha256` (WebCrypto) or
// `sm3` (sm3.js). Nothing here trusts the gateway: every function either
// proves its claim or throws an Error saying what failed. A wrong hash named
// by the gateway makes proofs fail, never pass.
"use strict";

const Proofs = (() => {
  const enc = new TextEncoder();

  function b64(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // The log's tree hash `alg` of `bytes`.
  async function hash(alg, bytes) {
    if (alg === "sha256") return sha256(bytes);
    if (alg === "sm3") return Sm3.digest(bytes);
    throw new Error(`unknown log hash ${alg}`);
  }

  const leafHash = (alg, leaf) => hash(alg, concat(Uint8Array.of(0), leaf));
  const nodeHash = (alg, l, r) => hash(alg, concat(Uint8Array.of(1), l, r));

  // A verifier key `name+keyid+base64(0x01 ‖ public key)`, its key id checked.
  // Split at the first two `+` only: the base64 may hold `+` itself (the name
  // cannot, the hex key id does not).
  async function parseVerifierKey(text) {
    const line = text.trim();
    const first = line.indexOf("+");
    const second = first < 0 ? -1 : line.indexOf("+", first + 1);
    if (first <= 0 || second < 0) throw new Error("verifier key is not name+keyid+base64");
    const [name, idHex, keyB64] = [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1)];
    if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error("verifier key id is not 8 hex digits");
    let raw;
    try {
      raw = b64(keyB64);
    } catch (_) {
      throw new Error("verifier key is not base64");
    }
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("verifier key is not an Ed25519 key");
    const want = (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a), raw))).slice(0, 4);
    if (hex(want) !== idHex) throw new Error("verifier key id does not match its key");
    const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, [
      "verify",
    ]);
    return { name, id: want, key, text: line };
  }

  // A C2SP checkpoint in a signed note: its text is verified against the
  // pinned key before any of it is believed.
  async function verifyCheckpoint(note, vkey) {
    const split = note.indexOf("\n\n");
    if (split < 0) throw new Error("checkpoint has no blank line before its signatures");
    const text = note.slice(0, split + 1);
    const lines = text.split("\n");
    if (lines.length < 4) throw new Error("checkpoint lacks origin, size or root");
    const origin = lines[0];
    if (!/^[0-9]+$/.test(lines[1])) throw new Error("checkpoint size is not a number");
    const size = Number(lines[1]);
    if (!Number.isSafeInteger(size)) throw new Error("checkpoint size is too large");
    const root = b64(lines[2]);
    if (root.length !== 32) throw new Error("checkpoint root is not 32 bytes");
    const cp = { origin, size, root, rootB64: lines[2], note, signed: false };
    if (!vkey) return cp;
    if (origin !== vkey.name) {
      throw new Error(`checkpoint origin ${origin} is not the pinned key's name ${vkey.name}`);
    }
    const sigs = note.slice(split + 2).split("\n").filter((l) => l.length > 0);
    for (const line of sigs) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== vkey.name) continue;
      const blob = b64(m[2]);
      if (blob.length !== 68 || !equal(blob.slice(0, 4), vkey.id)) continue;
      const ok = await crypto.subtle.verify(
        { name: "Ed25519" },
        vkey.key,
        blob.slice(4),
        enc.encode(text),
      );
      if (!ok) throw new Error("checkpoint signature does not verify with the pinned key");
      cp.signed = true;
      return cp;
    }
    throw new Error("checkpoint carries no signature by the pinned key");
  }

  // RFC 9162 §2.1.3.2.
  async function verifyInclusion(alg, index, size, leaf, proof, root) {
    if (index >= size) throw new Error(`index ${index} is not below tree size ${size}`);
    let fn = index;
    let sn = size - 1;
    let r = await leafHash(alg, leaf);
    for (const p of proof) {
      if (sn === 0) throw new Error("inclusion proof is longer than the tree is deep");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(alg, p, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        r = await nodeHash(alg, r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("inclusion proof is shorter than the tree is deep");
    if (!equal(r, root)) throw new Error("inclusion proof does not lead to the checkpoint's root");
  }

  // RFC 9162 §2.1.4.2.
  async function verifyConsistency(alg, first, second, proof, firstRoot, secondRoot) {
    if (first > second) throw new Error(`the log shrank from ${first} to ${second} leaves`);
    if (first === second) {
      if (!equal(firstRoot, secondRoot)) throw new Error("two different roots for one size");
      return;
    }
    if (first === 0) return;
    let path = proof.slice();
    let n = first;
    while (n % 2 === 0) n /= 2;
    if (n === 1) path.unshift(firstRoot);
    if (path.length === 0) throw new Error("consistency proof is empty");
    let fn = first - 1;
    let sn = second - 1;
    while (fn % 2 === 1) {
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) throw new Error("consistency proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(alg, c, fr);
        sr = await nodeHash(alg, c, sr);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        sr = await nodeHash(alg, sr, c);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("consistency proof is too short");
    if (!equal(fr, firstRoot)) throw new Error("consistency proof does not lead to the earlier root");
    if (!equal(sr, secondRoot)) throw new Error("consistency proof does not lead to the new root");
  }

  return { b64, hex, sha256, hash, leafHash, nodeHash, parseVerifierKey, verifyCheckpoint, verifyInclusion, verifyConsistency };
})();
