/**
 * TopLevelWatcher with `wholeDataset` (storescp's check of every file it
 * stores, docs/SECURITY_CLASSES.md #7): tokens only until its values are
 * found, the rest checked without tokens (DatasetParser.check), and still
 * every fault seen.
 */
import assert from "node:assert/strict";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { TopLevelWatcher } from "../../lib/dicom/watcher.ts";
import {
  EXPLICIT_VR_BIG_ENDIAN as EVRBE,
  EXPLICIT_VR_LITTLE_ENDIAN as EVRLE,
  IMPLICIT_VR_LITTLE_ENDIAN as IVRLE,
} from "../../lib/dicom/uids.ts";
import { JPEG_LOSSLESS_SV1, makeImageFile } from "../../testing/dicom_files.ts";
import { hex } from "../../testing/hex.ts";

const SYNTAXES = [IVRLE, EVRLE, EVRBE, JPEG_LOSSLESS_SV1];
const UIDS = { sopInstanceUid: "1.2.3.4", studyUid: "1.2.3.5", seriesUid: "1.2.3.6" };
const SOP_INSTANCE = 0x00080018;

function dataset(ts: string): Uint8Array {
  const file = makeImageFile({ ts, rows: 32, cols: 32, frames: 2, ...UIDS });
  return file.slice(decodeFileMeta(file).length);
}

/** The Pixel Data element's offset in an explicit VR little endian data set. */
function pixelDataAt(ds: Uint8Array): number {
  const at = ds.findIndex((_, i) =>
    ds[i] === 0xe0 && ds[i + 1] === 0x7f && ds[i + 2] === 0x10 && ds[i + 3] === 0
  );
  assert.ok(at > 300, `Pixel Data at ${at}`);
  return at;
}

Deno.test("TopLevelWatcher wholeDataset: a fault after the values is caught though the rest is only skimmed", () => {
  const ds = dataset(EVRLE);
  ds.set(hex("FEFFDDE0 00000000"), pixelDataAt(ds));
  for (const step of [16384, 100, ds.length]) {
    const watcher = new TopLevelWatcher(EVRLE, [SOP_INSTANCE], { wholeDataset: true });
    for (let at = 0; at < ds.length; at += step) watcher.push(ds.subarray(at, at + step));
    watcher.end();
    assert.equal(watcher.error?.code, "bad-item", `pieces of ${step}`);
    assert.deepEqual(watcher.values(), new Map([[SOP_INSTANCE, "1.2.3.4"]]));
  }
  // A data set cut short after its values: end() says so.
  const good = dataset(EVRLE);
  const cut = new TopLevelWatcher(EVRLE, [SOP_INSTANCE], { wholeDataset: true });
  cut.push(good.subarray(0, good.length - 10));
  assert.equal(cut.done, false);
  cut.end();
  assert.equal(cut.error?.code, "truncated");
});

Deno.test("TopLevelWatcher wholeDataset: the values of a whole push, in any pieces and syntax", () => {
  const wanted = [SOP_INSTANCE, 0x0020000d, 0x00100020];
  for (const ts of SYNTAXES) {
    const ds = dataset(ts);
    const reference = new TopLevelWatcher(ts, wanted);
    reference.push(ds);
    for (const step of [1, 33, 300, 16384]) {
      const watcher = new TopLevelWatcher(ts, wanted, { wholeDataset: true });
      for (let at = 0; at < ds.length; at += step) watcher.push(ds.subarray(at, at + step));
      assert.equal(watcher.done, false, `${ts}: not done before end()`);
      watcher.end();
      assert.equal(watcher.error, undefined, `${ts} pieces of ${step}`);
      assert.deepEqual(watcher.rawValues(), reference.rawValues(), `${ts} pieces of ${step}`);
    }
  }
});
