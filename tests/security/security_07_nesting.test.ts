/**
 * docs/SECURITY_CLASSES.md #7: unbounded nesting in data sets. C-STORE data sets
 * holding sequences nested 10,000 deep, of undefined and of defined length,
 * before the SOP UIDs, between them and the Study Instance UID (-su) and
 * after everything storescp looks at, sent over a real association: each
 * is refused with 0xC000 (PS3.4 B.2.3 "Cannot understand") naming the
 * nesting, nothing is stored, no stack overflows (the test process would
 * die), the association goes on and the next peer is served. The parser
 * also reads them directly, each in a few milliseconds.
 *
 * Already covered elsewhere: dicom_codec.test.ts (the parser: 32 levels
 * parse, 33 fail with too-deep; deep nesting within a raised limit uses no
 * recursion), dicom_transcode.test.ts (malformed input fails a transcode).
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../lib/util/bytes.ts";
import { DatasetParser } from "../../lib/dicom/parser.ts";
import { DicomParseError } from "../../lib/dicom/errors.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE } from "../../lib/dicom/uids.ts";
import {
  assertNextServed,
  associated,
  commandPdv,
  cStoreRq,
  dataPdv,
  element,
  MR,
  mrDataset,
  pdata,
  text,
  withScp,
} from "../../testing/bad_peer.ts";

const DEPTH = 10_000;

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >> 8]);
}
function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
const tagBytes = (tag: number) => concatBytes([u16(tag >>> 16), u16(tag & 0xffff)]);
const SQ = (tag: number, length: number) =>
  concatBytes([tagBytes(tag), text("SQ"), new Uint8Array(2), u32(length)]);
const ITEM = (length: number) => concatBytes([tagBytes(0xfffee000), u32(length)]);
const ITEM_END = concatBytes([tagBytes(0xfffee00d), u32(0)]);
const SEQ_END = concatBytes([tagBytes(0xfffee0dd), u32(0)]);

/**
 * A sequence `tag` whose single item holds a sequence whose single item...
 * `depth` levels, explicit VR little endian; lengths undefined or defined.
 */
function nested(tag: number, depth: number, defined: boolean): Uint8Array {
  // Built inside out, as a list of parts, so that no level copies the ones it holds.
  const before: Uint8Array[] = [];
  const after: Uint8Array[] = [];
  let inner = 0;
  const lengths: number[] = [];
  for (let level = 0; level < depth; level++) {
    lengths.push(inner);
    inner += 12 + 8 + (defined ? 0 : 16);
  }
  for (let level = depth - 1; level >= 0; level--) {
    const content = lengths[level];
    before.push(
      defined ? SQ(tag, 8 + content) : SQ(tag, 0xffffffff),
      defined ? ITEM(content) : ITEM(0xffffffff),
    );
    if (!defined) after.unshift(ITEM_END, SEQ_END);
  }
  return concatBytes([...before, ...after]);
}

/** Where the deep sequence goes, by tag (elements stay in ascending order). */
const PLACES: { name: string; tag: number; at: "before" | "middle" | "after"; pad?: Uint8Array }[] =
  [
    { name: "before the SOP UIDs (0008,0006)", tag: 0x00080006, at: "before" },
    { name: "between SOP UIDs and Study UID (0008,1140)", tag: 0x00081140, at: "middle" },
    { name: "after everything looked at (0040,0275)", tag: 0x00400275, at: "after" },
    {
      name: "(0040,0275) after 40 KB of other data, in later PDVs",
      tag: 0x00400275,
      at: "after",
      // A private OB element first: the deep sequence starts PDVs after the UIDs.
      pad: element(0x00291010, "OB", new Uint8Array(40_000)),
    },
  ];

Deno.test("class 7: sequences nested 10,000 deep: 0xC000, no stack overflow", async (t) => {
  for (const defined of [false, true]) {
    await t.step(`the parser, ${defined ? "defined" : "undefined"} lengths`, () => {
      const bytes = nested(0x00081140, DEPTH, defined);
      const parser = new DatasetParser({ explicitVr: true, littleEndian: true });
      assert.throws(
        () => parser.push(bytes),
        (e) => e instanceof DicomParseError && /too deep|nest/i.test(e.message),
      );
    });
  }
  for (const sortStudyPrefix of [undefined, "st"]) {
    await withScp({ store: { sortStudyPrefix } }, async (scp) => {
      const { peer } = await associated(scp.port, { contexts: [[MR, ELE]] });
      let n = 0;
      for (const place of PLACES) {
        for (const defined of [false, true]) {
          const name = `${sortStudyPrefix ? "-su st" : "default"}: ${place.name}, ${
            defined ? "defined" : "undefined"
          } lengths`;
          await t.step(name, async () => {
            const uid = `1.2.826.0.1.3680043.2.1125.7.${++n}`;
            const deep = nested(place.tag, DEPTH, defined);
            const data = mrDataset({
              sopInstance: uid,
              study: "1.2.3",
              [place.at]: place.pad ? concatBytes([place.pad, deep]) : deep,
            });
            const mark = scp.mark();
            await peer.write(pdata(commandPdv(1, cStoreRq(uid, n))));
            // The data set in PDVs of at most 16372 bytes (our maximum is 16384).
            for (let off = 0; off < data.length; off += 16372) {
              const end = Math.min(off + 16372, data.length);
              await peer.write(pdata(dataPdv(1, data.subarray(off, end), end === data.length)));
            }
            const rsp = await peer.response();
            assert.ok(typeof rsp === "object" && "command" in rsp, JSON.stringify(rsp));
            assert.equal(rsp.command.Status, 0xc000, JSON.stringify(rsp.command));
            assert.match(rsp.command.ErrorComment ?? "", /deep|nest/i);
            const lines = scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
            assert.equal(lines.length, 1, lines.join("\n"));
            assert.match(lines[0], /^E: Store SCP: bad data set: .*: refusing with 0xC000/);
            assert.deepEqual(await scp.files(), []);
          });
        }
      }
      await peer.release();
      await assertNextServed(scp, "class 7");
    });
  }
});
