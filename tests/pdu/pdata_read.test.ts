/**
 * The one-pass P-DATA-TF read (`readPdvs`, issue 15's receive path) against
 * the field-by-field read it stands in for: the same PDVs (context, flags,
 * data as views of the PDU's bytes) for every well-formed body, and for
 * every malformed one nothing, so that the field reads name the fault with
 * the same message and abort reason as before (PS3.8 9.3.5, 9.3.5.1).
 */

import assert from "node:assert/strict";
import { decodePdu, encodePdu } from "../../lib/pdu/codec.ts";
import { PduDecodeError } from "../../lib/pdu/errors.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import { readPdvs } from "../../lib/pdu/pdata.ts";
import type { PDataTfPdu, Pdv } from "../../lib/pdu/types.ts";

/** A deterministic generator. */
function rng(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
}

/** A P-DATA-TF of 1-5 PDVs of random contexts, flags and lengths (0-300 bytes). */
function randomPData(next: () => number): PDataTfPdu {
  const pdvs: Pdv[] = [];
  for (let i = 0, n = 1 + (next() % 5); i < n; i++) {
    const data = new Uint8Array(next() % 301).map(() => next() & 0xff);
    pdvs.push({
      contextId: 1 + 2 * (next() % 128),
      isCommand: next() % 2 === 0,
      isLast: next() % 3 === 0,
      data,
    });
  }
  return { type: "P-DATA-TF", pdvs };
}

Deno.test("readPdvs: a well-formed P-DATA-TF reads as the field reads read it, data as views of its bytes", () => {
  const next = rng(15);
  for (let k = 0; k < 500; k++) {
    const pdu = randomPData(next);
    const bytes = encodePdu(pdu);
    const pdvs = readPdvs(bytes, 6, bytes.length)!;
    assert.deepEqual(pdvs, pdu.pdvs, `PDU ${k}`);
    for (const pdv of pdvs) assert.equal(pdv.data.buffer, bytes.buffer, "a view, not a copy");
    assert.deepEqual(decodePdu(bytes), pdu);
  }
});

Deno.test("readPdvs: nothing for a malformed body, whose fault the decoder names as before", () => {
  const item = (length: number, ...rest: number[]) => [
    (length >>> 24) & 0xff,
    (length >>> 16) & 0xff,
    (length >>> 8) & 0xff,
    length & 0xff,
    ...rest,
  ];
  const cases: [string, number[], RegExp][] = [
    ["no item", [], /P-DATA-TF without PDV items/],
    ["item length 1", item(1, 1), /PDV item length 1 is below the minimum of 2/],
    ["item length 0", item(0), /PDV item length 0 is below the minimum of 2/],
    ["item past the end", item(10, 1, 0, 1, 2), /needs 10 more bytes but only 4 remain/],
    [
      "a good item, then 3 bytes",
      [...item(3, 1, 2, 9), 0, 0, 0],
      /needs 4 more bytes but only 3 remain/,
    ],
    [
      "a good item, then a short one",
      [...item(2, 1, 0), ...item(5, 1, 0)],
      /needs 5 more bytes but only 2 remain/,
    ],
  ];
  for (const [what, body, message] of cases) {
    const bytes = Uint8Array.from([0x04, 0, ...item(body.length).slice(0, 4), ...body]);
    assert.equal(readPdvs(bytes, 6, bytes.length), undefined, what);
    assert.throws(
      () => decodePdu(bytes),
      (e) => e instanceof PduDecodeError && message.test(e.message),
      what,
    );
    // The reader hands the fault on as the decoder names it.
    const reader = new PduReader();
    reader.push(bytes);
    assert.throws(
      () => reader.next(),
      (e) => e instanceof PduDecodeError && message.test(e.message),
      what,
    );
  }
});
