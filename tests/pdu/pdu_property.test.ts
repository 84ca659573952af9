/**
 * Seeded random mutations of valid PDUs: each must either decode or throw
 * PduDecodeError (never another exception), and whatever decodes must
 * re-encode to bytes that decode to the same value.
 */

import assert from "node:assert/strict";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import { PduDecodeError } from "../../lib/pdu/errors.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { Pdu } from "../../lib/pdu/types.ts";
import {
  DCMTK_AC,
  DCMTK_RQ,
  fullAssociatePdus,
  PDU_VECTORS,
  prng,
} from "../../testing/pdu_vectors.ts";

const SEEDS = [1, 2, 3, 0xdc4];
const MUTATIONS_PER_SEED = 2500;

const BASES = [
  ...PDU_VECTORS.map((v) => v.bytes),
  ...fullAssociatePdus().map((p) => encodePdu(p)),
  DCMTK_RQ.raw,
  DCMTK_AC.raw,
];

/**
 * One random mutation of `base`: overwrite, insert or delete a few bytes of
 * the variable field, or set a 16-bit field to a boundary value. The
 * PDU-length is then fixed up, so the mutation reaches the item decoders
 * instead of stopping at the header check.
 */
function mutate(base: Uint8Array, rand: () => number): Uint8Array {
  const bytes = [...base];
  const pick = (n: number) => Math.floor(rand() * n);
  for (let k = 1 + pick(3); k > 0; k--) {
    const at = 6 + pick(bytes.length - 6);
    switch (pick(4)) {
      case 0:
        bytes[at] = pick(256);
        break;
      case 1:
        bytes.splice(at, 0, pick(256));
        break;
      case 2:
        bytes.splice(at, 1 + pick(4));
        break;
      default: {
        const v = [0, 1, 2, 0xff, 0xffff][pick(5)];
        bytes[at] = v >> 8;
        if (at + 1 < bytes.length) bytes[at + 1] = v & 0xff;
      }
    }
  }
  const out = Uint8Array.from(bytes);
  if (out.length >= 6) new DataView(out.buffer).setUint32(2, out.length - 6);
  return out;
}

/** decodePdu, with anything but PduDecodeError failing the test. */
function tryDecode(bytes: Uint8Array): Pdu | undefined {
  try {
    return decodePdu(bytes);
  } catch (e) {
    if (e instanceof PduDecodeError) return undefined;
    throw e;
  }
}

/** The PDU the reader yields when fed `bytes` in random chunks, or undefined if it throws PduDecodeError. */
function readInChunks(bytes: Uint8Array, rand: () => number): Pdu | undefined {
  const reader = new PduReader();
  let got: Pdu | undefined;
  for (let at = 0; at < bytes.length;) {
    const end = at + 1 + Math.floor(rand() * 64);
    reader.push(bytes.subarray(at, end));
    at = end;
    try {
      got = reader.next()?.pdu ?? got;
    } catch (e) {
      if (e instanceof PduDecodeError) return undefined;
      throw e;
    }
  }
  return got;
}

for (const seed of SEEDS) {
  Deno.test(`property: random mutations, seed ${seed}`, () => {
    const rand = prng(seed);
    let decoded = 0;
    for (let i = 0; i < MUTATIONS_PER_SEED; i++) {
      const bytes = mutate(BASES[i % BASES.length], rand);
      const pdu = tryDecode(bytes);
      assert.deepEqual(readInChunks(bytes, rand), pdu, `reader, seed ${seed}, mutation ${i}`);
      if (pdu === undefined) continue;
      decoded++;
      assert.deepEqual(decodePdu(encodePdu(pdu)), pdu, `seed ${seed}, mutation ${i}`);
    }
    // Enough mutations survive for the round trip to be exercised.
    assert.ok(decoded > MUTATIONS_PER_SEED / 20, `only ${decoded} decoded`);
  });
}
