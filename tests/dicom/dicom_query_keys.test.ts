/**
 * Query keys in DCMTK's `-k` syntax (lib/dicom/query_keys.ts): parsing,
 * applying over a query file, errors as one line; and, whenever DCMTK is
 * installed, the identifiers DCMTK 3.6.7's findscu sends for the same keys
 * (and query file), byte for byte in each uncompressed transfer syntax,
 * and the request identifiers it prints.
 */

import assert from "node:assert/strict";
import {
  attribute,
  type Attributes,
  decodeAttributesFile,
  encodeAttributes,
} from "../../lib/dicom/attributes.ts";
import { formatAttributes } from "../../lib/dicom/dump.ts";
import { keywordTag } from "../../lib/dicom/keywords.ts";
import {
  applyQueryKeys,
  parseQueryKey,
  queryFromKeys,
  QueryKeyError,
} from "../../lib/dicom/query_keys.ts";
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../../lib/dicom/uids.ts";
import { dcmtkAvailable, runCommand, show } from "../../testing/procs.ts";
import { preferring, runAgainstPeer } from "../../testing/qr_peer.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const SPS = 0x00400100; // ScheduledProcedureStepSequence

Deno.test("keys: the forms DCMTK accepts parse to the same path", () => {
  for (const text of ["PatientName=Smith", "0010,0010=Smith", "(0010,0010)=Smith", "10,10=Smith"]) {
    assert.deepEqual(parseQueryKey(text).path, [{ tag: 0x00100010 }], text);
    assert.equal(parseQueryKey(text).value, "Smith");
  }
  assert.deepEqual(parseQueryKey("PatientName"), {
    text: "PatientName",
    path: [{ tag: 0x00100010 }],
    value: undefined,
  });
  assert.equal(parseQueryKey("PatientName=").value, "");
  assert.equal(parseQueryKey("PatientName=a=b").value, "a=b");
  assert.deepEqual(
    parseQueryKey("ScheduledProcedureStepSequence[2].(0040,0008)[0].CodeValue=X").path,
    [{ tag: SPS, item: 2 }, { tag: 0x00400008, item: 0 }, { tag: 0x00080100 }],
  );
  assert.deepEqual(parseQueryKey("ScheduledProcedureStepSequence[0]").path, [{
    tag: SPS,
    item: 0,
  }]);
  assert.equal(keywordTag("OverlayRows"), 0x60000010); // a repeating group names its first tag
  assert.equal(keywordTag("RETIRED_CurveDimensions"), keywordTag("CurveDimensions"));
});

Deno.test("keys: malformed keys are one-line QueryKeyErrors", () => {
  const cases: [string, RegExp][] = [
    ["Foo=1", /^bad key 'Foo=1': unknown attribute 'Foo': neither a tag/],
    ["=x", /no attribute before '='/],
    ["(0010,0010=x", /cannot read an attribute at '\(0010,0010'/],
    ["0010,00100=x", /unknown attribute '0010,00100'/],
    ["ScheduledProcedureStepSequence[*].Modality=MR", /item wildcard \[\*\] is not allowed/],
    ["ScheduledProcedureStepSequence[x].Modality=MR", /item index '\[x\]' is not a number/],
    [
      "ScheduledProcedureStepSequence.Modality=MR",
      /'ScheduledProcedureStepSequence' is followed by '\.Modality': only an item \(\[n\]\)/,
    ],
    ["ScheduledProcedureStepSequence[0]Modality", /expected '\.' before 'Modality'/],
    ["ScheduledProcedureStepSequence[0]=x", /an item cannot hold a value/],
  ];
  for (const [key, message] of cases) {
    assert.throws(() => parseQueryKey(key), (e: unknown) => {
      assert.ok(e instanceof QueryKeyError, `${key}: ${e}`);
      assert.match(e.message, message, key);
      assert.ok(!e.message.includes("\n"));
      assert.equal(e.key, key);
      return true;
    });
  }
});

Deno.test("keys: applying keys builds sequences and items, later keys over earlier ones", () => {
  const query = queryFromKeys([
    "PatientName=Smith",
    "ScheduledProcedureStepSequence[1].Modality=MR",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
    "ReferencedStudySequence",
    "PatientName",
    "ModalitiesInStudy=MR\\CT",
    "Rows=512",
    "(0009,1001)=01\\ff",
  ]);
  assert.deepEqual(query, [
    attribute(0x00080061, ["MR", "CT"]),
    attribute(0x00081110, [], "SQ"),
    attribute(0x00091001, new Uint8Array([1, 0xff]), "UN"),
    attribute(0x00100010, []),
    attribute(0x00280010, [512]),
    attribute(SPS, [[attribute(0x00400001, [])], [attribute(0x00080060, ["MR"])]], "SQ"),
  ]);
});

Deno.test("keys: keys override a query file's attributes, which stay as they were", () => {
  const file: Attributes = [
    attribute(0x00100010, "Doe^Jane"),
    attribute(SPS, [[attribute(0x00080060, "CT"), attribute(0x00400002, "20240101")]], "SQ"),
  ];
  const copy = structuredClone(file);
  const query = applyQueryKeys(file, [
    parseQueryKey("ScheduledProcedureStepSequence[0].Modality=MR"),
    parseQueryKey("ScheduledProcedureStepSequence"),
    parseQueryKey("PatientID=42"),
  ]);
  assert.deepEqual(file, copy);
  assert.deepEqual(query, [
    attribute(0x00100010, "Doe^Jane"),
    attribute(0x00100020, "42"),
    attribute(SPS, [[attribute(0x00080060, "MR"), attribute(0x00400002, "20240101")]], "SQ"),
  ]);
});

Deno.test("keys: values are checked against the VR; sequences take no value", () => {
  const cases: [string, RegExp][] = [
    ["Rows=abc", /'abc' is not an integer in 0\.\.65535 \(value of \(0028,0010\) US\)/],
    ["Rows=70000", /'70000' is not an integer in 0\.\.65535/],
    ["(0018,9219)=40000", /not an integer in -32768\.\.32767/],
    ["(0018,9089)=x", /'x' is not a number \(value of \(0018,9089\) FD\)/],
    ["FrameIncrementPointer=0018", /'0018' is not a tag/],
    ["(0009,1001)=abc", /'abc' is not a byte in hex \(value of \(0009,1001\) UN\)/],
    ["ScheduledProcedureStepSequence=x", /\(0040,0100\) is a sequence: it takes no value/],
    ["PatientName[0].Modality=MR", /\(0010,0010\) is PN, not a sequence: it has no items/],
  ];
  for (const [key, message] of cases) {
    assert.throws(() => queryFromKeys([key]), (e: unknown) => {
      assert.ok(e instanceof QueryKeyError, `${key}: ${e}`);
      assert.match(e.message, message, key);
      return true;
    });
  }
  assert.deepEqual(queryFromKeys(["FrameIncrementPointer=(0018,1063)\\0018,1065"]), [
    attribute(0x00280009, [0x00181063, 0x00181065]),
  ]);
  assert.deepEqual(queryFromKeys(["(0018,9089)=0.5\\-1e3"]), [attribute(0x00189089, [0.5, -1000])]);
});

// ---------------------------------------------------------------------------
// Against DCMTK 3.6.7

const HAVE_DCMTK = dcmtkAvailable(["findscu", "dump2dcm"]);
const SYNTAXES = [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN];

/** Key sets DCMTK accepts, covering each VR family, sequences, empty and repeated keys. */
const KEY_SETS: string[][] = [
  [
    "QueryRetrieveLevel=STUDY",
    "PatientName=Smith*",
    "StudyInstanceUID",
    "StudyDate=20200101-20201231",
    "ModalitiesInStudy=MR\\CT",
  ],
  [
    "ScheduledProcedureStepSequence[0].Modality=MR",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
    "PatientName",
    "(0008,0005)=ISO_IR 100",
    "ReferencedStudySequence",
  ],
  [
    "ScheduledProcedureStepSequence[1].ScheduledProtocolCodeSequence[0].CodeValue=X1",
    "0010,0020=PID\\2",
  ],
  [
    "Rows=512",
    "(0028,0034)=1\\1",
    "(0018,9089)=0.5\\1",
    "FrameIncrementPointer=(0018,1063)",
    "(0009,0010)=ACME",
    "(0009,1001)=01\\02\\ff",
    "RealWorldValueFirstValueMapped=5",
    "PatientName=Smith",
    "PatientName",
  ],
  ["PatientName= Smith ", "OverlayRows=4", "(0018,1310)=1\\2\\3\\4", "PixelSpacing=0.5\\0.25"],
];

/** The request identifier findscu sends for `args` (and query `files`), in `ts`, and what it printed. */
async function findscuSends(args: string[], ts: string, files: string[] = []) {
  return await runAgainstPeer(
    "findscu",
    ["-v", ...args],
    preferring(ts, (r) => [{
      message: {
        type: "C-FIND-RSP",
        messageIdBeingRespondedTo: "messageId" in r.message ? r.message.messageId : 0,
        status: 0,
      },
    }]),
    files,
  );
}

/** The block findscu -v prints after `I: Request Identifiers:`, without prefixes. */
function requestIdentifiers(output: string): string[] {
  const lines = output.split("\n");
  const block: string[] = [];
  for (let i = lines.indexOf("I: Request Identifiers:") + 2; lines[i] !== "I: "; i++) {
    block.push(lines[i].slice(3));
  }
  return block;
}

Deno.test({
  name:
    "keys: DCMTK findscu sends the identifier we encode, in each syntax, and prints it as we do",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    for (const keys of KEY_SETS) {
      const query = queryFromKeys(keys);
      for (const ts of SYNTAXES) {
        const got = await findscuSends(["-W", ...keys.flatMap((k) => ["-k", k])], ts);
        assert.equal(got.requests.length, 1, show(got.run));
        assert.equal(got.requests[0].transferSyntax, ts);
        assert.deepEqual(got.requests[0].dataset, encodeAttributes(query, ts), `${ts}: ${keys}`);
        assert.deepEqual(requestIdentifiers(got.output), formatAttributes(query), keys.join(" "));
      }
    }
  },
});

Deno.test({
  name: "keys: what DCMTK findscu refuses, we refuse",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    for (
      const key of [
        "Foo=1",
        "Rows=abc",
        "ScheduledProcedureStepSequence=x",
        "ScheduledProcedureStepSequence[*].Modality=MR",
        "PatientName[0].Modality=MR",
        "ScheduledProcedureStepSequence.Modality=MR",
      ]
    ) {
      const got = await findscuSends(["-W", "-k", key], IMPLICIT_VR_LITTLE_ENDIAN);
      assert.equal(got.requests.length, 0, `DCMTK sent a query for ${key}`);
      assert.match(got.output, /E: Bad override key\/path/, key);
      assert.throws(() => queryFromKeys([key]), QueryKeyError, key);
    }
  },
});

Deno.test({
  name:
    "keys: over a query file written by DCMTK's dump2dcm, findscu and we send the same identifier",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("keys", async (dir) => {
      await Deno.writeTextFile(
        `${dir}/query.dump`,
        [
          "(0008,0005) CS [ISO_IR 100]",
          "(0008,0052) CS [STUDY]",
          "(0010,0010) PN [Doe^Jane]",
          "(0010,0020) LO []",
          "(0040,0100) SQ (Sequence with undefined length)",
          "(fffe,e000) na (Item with undefined length)",
          "(0008,0060) CS [CT]",
          "(0040,0002) DA [20240101]",
          "(fffe,e00d) na",
          "(fffe,e0dd) na",
          "",
        ].join("\n"),
      );
      const made = await runCommand("dump2dcm", [`${dir}/query.dump`, `${dir}/query.dcm`]);
      assert.equal(made.code, 0, show(made));
      const keys = [
        "ScheduledProcedureStepSequence[0].Modality=MR",
        "PatientName=Smith*",
        "StudyInstanceUID",
      ];
      const file = decodeAttributesFile(await Deno.readFile(`${dir}/query.dcm`));
      const query = applyQueryKeys(file.attributes, keys.map(parseQueryKey));
      for (const ts of SYNTAXES) {
        const got = await findscuSends(["-S", ...keys.flatMap((k) => ["-k", k])], ts, [
          `${dir}/query.dcm`,
        ]);
        assert.equal(got.requests.length, 1, show(got.run));
        assert.deepEqual(got.requests[0].dataset, encodeAttributes(query, ts), ts);
      }
    });
  },
});
