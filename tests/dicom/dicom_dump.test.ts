/**
 * Data sets as dcmdump text (lib/dicom/dump.ts): lines DCMTK 3.6.7 printed
 * (findscu's request and response identifiers, dcmdump), and, whenever
 * DCMTK is installed, dcmdump and findscu reading the bytes we format.
 */

import assert from "node:assert/strict";
import {
  attribute,
  type Attributes,
  decodeAttributes,
  encodeAttributes,
} from "../../lib/dicom/attributes.ts";
import { formatAttributes, formatDataset } from "../../lib/dicom/dump.ts";
import { encodeFileMeta } from "../../lib/dicom/part10.ts";
import { queryFromKeys } from "../../lib/dicom/query_keys.ts";
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../../lib/dicom/uids.ts";
import { hex } from "../../testing/hex.ts";
import { dcmtkAvailable, runCommand, show } from "../../testing/procs.ts";
import { preferring, runAgainstPeer } from "../../testing/qr_peer.ts";
import { withTempDir } from "../../testing/temp_files.ts";

Deno.test("dump: a dcmqrscp match as findscu -v printed it", () => {
  // The identifier dcmqrscp sent (its UIDs padded with a space), as read off the wire.
  const bytes = hex(`08002000 08000000 3230323430313032
                     08005200 06000000 535455445920
                     08005400 06000000 434f4d4d4f4e
                     10001000 0a000000 536d6974685e4a6f686e
                     20000d00 0c000000 312e322e332e342e31303020`);
  assert.deepEqual(formatDataset(bytes, IMPLICIT_VR_LITTLE_ENDIAN), [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Implicit",
    "(0008,0020) DA [20240102]                               #   8, 1 StudyDate",
    "(0008,0052) CS [STUDY ]                                 #   6, 1 QueryRetrieveLevel",
    "(0008,0054) AE [COMMON]                                 #   6, 1 RetrieveAETitle",
    "(0010,0010) PN [Smith^John]                             #  10, 1 PatientName",
    "(0020,000d) UI [1.2.3.4.100 ]                           #  12, 1 StudyInstanceUID",
  ]);
});

Deno.test("dump: request identifiers as findscu -v prints keys it built", () => {
  const query = queryFromKeys([
    "ScheduledProcedureStepSequence[0].Modality=MR",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
    "PatientName",
    "(0008,0005)=ISO_IR 100",
    "ReferencedStudySequence",
  ]);
  assert.deepEqual(formatAttributes(query), [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0005) CS [ISO_IR 100]                             #  10, 1 SpecificCharacterSet",
    "(0008,1110) SQ (Sequence with explicit length #=0)      #   0, 1 ReferencedStudySequence",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0010,0010) PN (no value available)                     #   0, 0 PatientName",
    "(0040,0100) SQ (Sequence with explicit length #=1)      #   0, 1 ScheduledProcedureStepSequence",
    "  (fffe,e000) na (Item with explicit length #=2)          #   0, 1 Item",
    "    (0008,0060) CS [MR]                                     #   2, 1 Modality",
    "    (0040,0001) AE (no value available)                     #   0, 0 ScheduledStationAETitle",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
  ]);
});

Deno.test("dump: undefined lengths, numbers, tags, UIDs by name, unknown tags, as dcmdump prints them", () => {
  const bytes = hex(`0800 1600 5549 1a00 312e322e3834302e31303030382e352e312e342e312e312e3700
                     0900 0110 554e 0000 04000000 0102ff00
                     1800 8990 4644 1000 9a9999999999b93f 000000000000f03f
                     2800 0900 4154 0400 18006310
                     2800 0601 5353 0200 fdff
                     4000 0001 5351 0000 ffffffff
                       feff00e0 ffffffff 0800 6000 4353 0200 4d52 feff0de0 00000000
                     feffdde0 00000000`);
  assert.deepEqual(formatDataset(bytes, EXPLICIT_VR_LITTLE_ENDIAN), [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0016) UI =SecondaryCaptureImageStorage            #  26, 1 SOPClassUID",
    "(0009,1001) UN 01\\02\\ff\\00                              #   4, 1 Unknown Tag & Data",
    "(0018,9089) FD 0.1\\1                                    #  16, 2 DiffusionGradientOrientation",
    "(0028,0009) AT (0018,1063)                              #   4, 1 FrameIncrementPointer",
    "(0028,0106) SS -3                                       #   2, 1 SmallestImagePixelValue",
    "(0040,0100) SQ (Sequence with undefined length #=1)     # u/l, 1 ScheduledProcedureStepSequence",
    "  (fffe,e000) na (Item with undefined length #=1)         # u/l, 1 Item",
    "    (0008,0060) CS [MR]                                     #   2, 1 Modality",
    "  (fffe,e00d) na (ItemDelimitationItem)                   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem",
  ]);
});

Deno.test("dump: implicit VR shows the dictionary's VR: xs for US or SS, ?? for an unknown tag", () => {
  const bytes = hex(`09000110 04000000 0102ff00
                     40001692 02000000 0500`);
  assert.deepEqual(formatDataset(bytes, IMPLICIT_VR_LITTLE_ENDIAN).slice(2), [
    "(0009,1001) ?? 01\\02\\ff\\00                              #   4, 1 Unknown Tag & Data",
    "(0040,9216) xs 5                                        #   2, 1 RealWorldValueFirstValueMapped",
  ]);
});

Deno.test("dump: an open VR in implicit VR follows the Pixel Representation in force (multi_vr.ts)", () => {
  const image = (pixelRepresentation: number) =>
    encodeAttributes([
      attribute(0x00280103, [pixelRepresentation]),
      attribute(0x00280106, [65533], "US"),
      attribute(0x00400100, [[attribute(0x00409216, [65530], "US")]], "SQ"),
    ], IMPLICIT_VR_LITTLE_ENDIAN);
  // As DCMTK 3.6.7's findscu prints them, where the item holds its Pixel Representation.
  assert.deepEqual(formatDataset(image(0), IMPLICIT_VR_LITTLE_ENDIAN).slice(3, 4), [
    "(0028,0106) US 65533                                    #   2, 1 SmallestImagePixelValue",
  ]);
  assert.deepEqual(formatDataset(image(1), IMPLICIT_VR_LITTLE_ENDIAN).slice(3, 4), [
    "(0028,0106) SS -3                                       #   2, 1 SmallestImagePixelValue",
  ]);
  // In a nested item, the image's Pixel Representation is in force (PS3.3 C.7.6.16.2.11), as
  // decodeDataset reads it; DCMTK looks in the item only and shows "xs 65530".
  assert.equal(
    formatDataset(image(1), IMPLICIT_VR_LITTLE_ENDIAN)[6],
    "    (0040,9216) SS -6                                       #   2, 1 RealWorldValueFirstValueMapped",
  );
  assert.deepEqual(
    decodeAttributes(image(1), IMPLICIT_VR_LITTLE_ENDIAN)[1],
    attribute(0x00280106, [-3], "SS"),
  );
});

Deno.test("dump: text shows decoded from its character set; undecodable bytes are reported", () => {
  const latin1 = encodeAttributes(
    [attribute(0x00080005, "ISO_IR 100"), attribute(0x00100010, "Buc^Jérôme")],
    EXPLICIT_VR_LITTLE_ENDIAN,
  );
  assert.equal(
    formatDataset(latin1, EXPLICIT_VR_LITTLE_ENDIAN)[3],
    "(0010,0010) PN [Buc^Jérôme]                             #  10, 1 PatientName",
  );
  const undeclared = hex("10001000 0a000000 4275635e4ae972f46d65");
  assert.throws(() => formatDataset(undeclared, IMPLICIT_VR_LITTLE_ENDIAN), /0xE9 outside/);
  const problems: string[] = [];
  const lines = formatDataset(undeclared, IMPLICIT_VR_LITTLE_ENDIAN, {
    onCharsetProblem: (e) => problems.push(e.message),
  });
  assert.equal(
    lines[2],
    "(0010,0010) PN [Buc^J\ufffdr\ufffdme]                             #  10, 1 PatientName",
  );
  assert.equal(problems.length, 1);
});

// ---------------------------------------------------------------------------
// Against DCMTK 3.6.7

const HAVE_DCMTK = dcmtkAvailable(["dcmdump", "findscu"]);

/** Attributes whose printing exercises every VR family and the shortening of long values. */
function sample(): Attributes {
  return [
    attribute(0x00080016, "1.2.840.10008.5.1.4.1.1.7"),
    attribute(0x00080018, "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26"),
    attribute(0x00081030, "x".repeat(69), "LO"),
    attribute(
      0x00081032,
      [[attribute(0x00080100, "CODE"), attribute(0x00080104, "y".repeat(70))]],
      "SQ",
    ),
    attribute(0x00090010, "ACME"),
    attribute(0x00091001, Uint8Array.from({ length: 40 }, (_, i) => i), "OB"),
    attribute(0x00091002, Uint8Array.from({ length: 40 }, (_, i) => i * 3), "OW"),
    attribute(0x00091003, Uint8Array.from({ length: 8 }, (_, i) => i), "UN"),
    attribute(0x00091010, Uint8Array.from({ length: 40 }, (_, i) => i), "OL"),
    attribute(0x00091011, Uint8Array.from({ length: 40 }, (_, i) => i), "OF"),
    attribute(0x00091012, Uint8Array.from({ length: 40 }, (_, i) => i), "OD"),
    attribute(0x00091013, Uint8Array.from({ length: 40 }, (_, i) => i), "OV"),
    attribute(0x00100020, ""),
    attribute(0x00181310, [1, 2, 3, 4]),
    attribute(0x00189089, [0.1, 1 / 3, 1 / 7, 2 / 7, 1e-7, 123456789012345680, -0.5, 1e21], "FD"),
    attribute(0x00189219, [-3], "SS"),
    attribute(0x00280009, [0x00181063, 0x00181065]),
    attribute(0x00280010, Array.from({ length: 40 }, (_, i) => i * 100)),
    attribute(0x00280030, Array.from({ length: 30 }, (_, i) => String(i)).join("\\")),
    attribute(0x00400100, [], "SQ"),
    attribute(0x00720076, [0.1, 2.5, 1 / 3, 100000, 1e-5], "FL"),
    attribute(0x00720082, [-5n], "SV"),
    attribute(0x00720083, [7n], "UV"),
  ];
}

Deno.test({
  name: "dump: dcmdump reads our files as formatDataset shows them, long values shortened",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("dump", async (dir) => {
      for (
        const ts of [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN]
      ) {
        const dataset = encodeAttributes(sample(), ts);
        const meta = encodeFileMeta({
          mediaStorageSopClassUid: "1.2.840.10008.5.1.4.1.1.7",
          mediaStorageSopInstanceUid: "1.2.3",
          transferSyntaxUid: ts,
        });
        await Deno.writeFile(`${dir}/f.dcm`, Uint8Array.from([...meta, ...dataset]));
        const run = await runCommand("dcmdump", [`${dir}/f.dcm`]);
        assert.equal(run.code, 0, show(run));
        const lines = run.stdout.split("\n");
        const theirs = lines.slice(lines.indexOf("# Dicom-Data-Set")).filter((l) => l !== "");
        assert.deepEqual(formatDataset(dataset, ts, { shortenLongValues: true }), theirs, ts);
      }
    });
  },
});

Deno.test({
  name: "dump: findscu -d prints our response identifiers as formatDataset does, in each syntax",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const responses: Attributes[] = [
      queryFromKeys([
        "QueryRetrieveLevel=STUDY",
        "PatientName=Smith^John",
        "StudyInstanceUID=1.2.3",
        "ModalitiesInStudy=MR\\CT",
        "StudyDescription=" + "abcdefghij".repeat(6) + "1234567",
        "ScheduledProcedureStepSequence[1].ScheduledProtocolCodeSequence[0].CodeValue=X1",
        "ReferencedStudySequence",
      ]),
      sample().filter((a) => a.tag !== 0x00091012 && a.tag !== 0x00091013 && a.tag < 0x00720082),
    ];
    for (
      const ts of [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN]
    ) {
      for (const attrs of responses) {
        const bytes = encodeAttributes(attrs, ts);
        const got = await runAgainstPeer(
          "findscu",
          ["-d", "-S", "-k", "QueryRetrieveLevel=STUDY"],
          preferring(ts, () => [
            {
              message: {
                type: "C-FIND-RSP",
                messageIdBeingRespondedTo: 1,
                status: 0xff00,
                datasetPresent: true,
              },
              dataset: bytes,
            },
            { message: { type: "C-FIND-RSP", messageIdBeingRespondedTo: 1, status: 0 } },
          ]),
        );
        const lines = got.output.split("\n");
        const block: string[] = [];
        for (let i = lines.indexOf("D: Response Identifiers:") + 2; lines[i] !== "D: "; i++) {
          block.push(lines[i].slice(3));
        }
        assert.deepEqual(formatDataset(bytes, ts), block, `${ts}\n${show(got.run)}`);
      }
    }
  },
});
