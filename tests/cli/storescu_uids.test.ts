/**
 * storescu's words about a file's SOP UIDs (lib/net/store_scu.ts): the
 * warning when the file meta information disagrees with the data set, and
 * what a refusal's diagnosis says: facts, not a guess.
 */
import assert from "node:assert/strict";
import type { DicomFileInfo } from "../../lib/dicom/part10.ts";
import { metaMismatch, refusalFacts } from "../../lib/cli/storescu/engine.ts";
import {
  EXPLICIT_VR_LITTLE_ENDIAN as ELE,
  IMPLICIT_VR_LITTLE_ENDIAN as ILE,
} from "../../lib/dicom/uids.ts";

const MR = "1.2.840.10008.5.1.4.1.1.4";

function info(metaClass: string, metaInstance: string, withMeta = true): DicomFileInfo {
  return {
    path: "f.dcm",
    size: 1000,
    datasetOffset: withMeta ? 200 : 0,
    transferSyntaxUid: ELE,
    sopClassUid: MR,
    sopInstanceUid: "1.2.3",
    meta: withMeta
      ? {
        mediaStorageSopClassUid: metaClass,
        mediaStorageSopInstanceUid: metaInstance,
        transferSyntaxUid: ELE,
      }
      : undefined,
  };
}

Deno.test("metaMismatch: one line naming each pair that differs; none when they agree or are absent", () => {
  assert.equal(metaMismatch(info(MR, "1.2.3")), undefined);
  assert.equal(metaMismatch(info("", "")), undefined); // a meta without them: nothing to say
  assert.equal(metaMismatch(info("", "", false)), undefined);
  assert.equal(metaMismatch(info(MR, "1.2.3 ")), undefined); // padding is no difference
  assert.equal(
    metaMismatch(info(MR, "1.2.4")),
    "the file meta information disagrees with the data set: SOP Instance UID 1.2.4 in the meta " +
      "information (0002,0003), 1.2.3 in the data set (0008,0018); sending the data set's",
  );
  assert.match(
    metaMismatch(info("1.2.840.10008.5.1.4.1.1.2", "1.2.4"))!,
    /SOP Class UID .*; SOP Instance UID/,
  );
});

Deno.test("refusalFacts: the peer's comment and offending element, and what was sent", () => {
  const sent = {
    sopClassUid: MR,
    sopInstanceUid: "1.2.3",
    fileTs: ELE,
    wireTs: ELE,
    edited: false,
  };
  assert.equal(
    refusalFacts({ errorComment: "SOP Class mismatch", offendingElement: [0x00080016] }, sent),
    'its comment: "SOP Class mismatch"; offending element (0008,0016); the request and the data ' +
      `set carried SOP Class UID ${MR} (MRImageStorage) and SOP Instance UID 1.2.3, sent as the ` +
      "file holds it, in Little Endian Explicit: the peer's log says why",
  );
  assert.match(
    refusalFacts({}, { ...sent, fileTs: ILE, edited: true }),
    /^it gave no comment or offending element; .* sent converted from Little Endian Implicit to Little Endian Explicit with values replaced: /,
  );
});
