/**
 * UID tables (lib/dicom/uids.ts, lib/dicom/sop_classes.ts) and UID generation
 * (lib/util/uid.ts). The storescu default proposal and storescp's file
 * name prefix are checked against DCMTK 3.6.7 itself when it is installed.
 */
import assert from "node:assert/strict";
import {
  ECHO_TRANSFER_SYNTAXES,
  TRANSFER_SYNTAXES,
  transferSyntaxName,
} from "../../lib/dicom/uids.ts";
import { uidLabel, uidName } from "../../lib/dicom/uid_names.ts";
import { isValidUid } from "../../lib/util/uid.ts";
import {
  isStorageSopClass,
  NON_PATIENT_STORAGE_SOP_CLASSES,
  sopClassModality,
  STORAGE_SOP_CLASSES,
  STORESCU_DEFAULT_SOP_CLASSES,
} from "../../lib/dicom/sop_classes.ts";
import { newUid } from "../../lib/util/uid.ts";
import { dcmtkAvailable, runCommand, startStorescp } from "../../testing/procs.ts";

const HAVE_DCMTK = dcmtkAvailable();

const MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4";
const HANGING_PROTOCOL_STORAGE = "1.2.840.10008.5.1.4.38.1";

Deno.test("transfer syntaxes: unique valid UIDs, DCMTK short names, log-line names", () => {
  const uids = TRANSFER_SYNTAXES.map((t) => t.uid);
  assert.equal(new Set(uids).size, uids.length);
  for (const t of TRANSFER_SYNTAXES) {
    assert.ok(isValidUid(t.uid), t.uid);
    assert.equal(uidName(t.uid), t.name);
    assert.notEqual(transferSyntaxName(t.uid), t.uid, `${t.uid} has a readable name`);
  }
  for (const t of ECHO_TRANSFER_SYNTAXES) assert.ok(uids.includes(t.uid), t.uid);
  assert.equal(ECHO_TRANSFER_SYNTAXES.length, 53);
  assert.equal(
    uidLabel("1.2.840.10008.1.2.4.70"),
    "=JPEGLossless:Non-hierarchical-1stOrderPrediction",
  );
  assert.equal(uidLabel("1.2.840.10008.1.2.4.94"), "=JPIPReferenced");
  assert.equal(transferSyntaxName("1.2.840.10008.1.2"), "Little Endian Implicit");
  assert.equal(transferSyntaxName("1.2.840.10008.1.2.1"), "Little Endian Explicit");
  assert.equal(transferSyntaxName("1.2.840.10008.1.2.2"), "Big Endian Explicit");
  assert.equal(transferSyntaxName("1.2.840.10008.1.2.1.99"), "Deflated Explicit VR Little Endian");
  assert.equal(
    transferSyntaxName("1.2.840.10008.1.2.4.70"),
    "JPEG Lossless, Non-hierarchical, 1st Order Prediction",
  );
  assert.equal(transferSyntaxName("1.2.3.4"), "1.2.3.4");
});

Deno.test("storage SOP classes: DCMTK's 186, with names and modality prefixes", () => {
  assert.equal(STORAGE_SOP_CLASSES.length, 186);
  const all = [...STORAGE_SOP_CLASSES, ...NON_PATIENT_STORAGE_SOP_CLASSES];
  assert.equal(new Set(all.map((c) => c.uid)).size, all.length);
  for (const c of all) {
    assert.ok(isValidUid(c.uid), c.uid);
    assert.equal(uidName(c.uid), c.name);
    assert.equal(sopClassModality(c.uid), c.modality);
  }
  assert.equal(uidLabel(MR_IMAGE_STORAGE), "=MRImageStorage");
  assert.equal(uidLabel("1.2.840.10008.5.1.4.1.1.6"), "=RETIRED_UltrasoundImageStorage");
  assert.equal(sopClassModality(MR_IMAGE_STORAGE), "MR");
  assert.equal(sopClassModality("1.2.840.10008.5.1.4.1.1.2"), "CT");
  assert.equal(sopClassModality("1.2.840.10008.5.1.4.1.1.7"), "SC");
  assert.equal(sopClassModality("1.2.840.10008.5.1.4.1.1.88.22"), "SRe");
  assert.equal(sopClassModality(HANGING_PROTOCOL_STORAGE), "HP");
  assert.equal(sopClassModality("1.2.3.4"), "UNKNOWN");
  assert.ok(isStorageSopClass(MR_IMAGE_STORAGE));
  assert.ok(!isStorageSopClass(HANGING_PROTOCOL_STORAGE));
  assert.ok(!isStorageSopClass("1.2.840.10008.1.1"));
});

Deno.test("storescu's default proposal: dcmShortSCUStorageSOPClassUIDs, 64 classes in order", () => {
  assert.equal(STORESCU_DEFAULT_SOP_CLASSES.length, 64);
  assert.equal(new Set(STORESCU_DEFAULT_SOP_CLASSES).size, 64);
  assert.equal(STORESCU_DEFAULT_SOP_CLASSES[0], "1.2.840.10008.5.1.4.1.1.9.1.3");
  assert.equal(STORESCU_DEFAULT_SOP_CLASSES[28], MR_IMAGE_STORAGE);
  assert.equal(STORESCU_DEFAULT_SOP_CLASSES[63], "1.2.840.10008.5.1.4.1.1.12.2");
  for (const uid of STORESCU_DEFAULT_SOP_CLASSES) assert.ok(isStorageSopClass(uid), uid);
});

/** Writes a minimal Part 10 file (explicit VR LE) of the given class with DCMTK's dump2dcm. */
async function makeFile(path: string, sopClass: string, instance: string): Promise<void> {
  await Deno.writeTextFile(
    `${path}.dump`,
    [
      "(0002,0001) OB 00\\01",
      `(0002,0002) UI ${sopClass}`,
      `(0002,0003) UI ${instance}`,
      "(0002,0010) UI 1.2.840.10008.1.2.1",
      `(0008,0016) UI ${sopClass}`,
      `(0008,0018) UI ${instance}`,
      "(0010,0010) PN Test^Patient",
      "",
    ].join("\n"),
  );
  const made = await runCommand("dump2dcm", ["+te", `${path}.dump`, path]);
  assert.equal(made.code, 0, made.stderr);
}

Deno.test({
  name:
    "DCMTK: storescu proposes exactly our default list; storescp names files with our prefix, refuses non-patient classes",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dicom_uids_" });
    try {
      const instance = "1.2.826.0.1.3680043.2.1143.42";
      await makeFile(`${dir}/mr.dcm`, MR_IMAGE_STORAGE, instance);
      await makeFile(`${dir}/hp.dcm`, HANGING_PROTOCOL_STORAGE, `${instance}.1`);
      await Deno.mkdir(`${dir}/out`);
      const { proc, port } = await startStorescp(["-od", `${dir}/out`]);
      let sent, refused;
      try {
        sent = await runCommand("storescu", ["-d", "127.0.0.1", String(port), `${dir}/mr.dcm`]);
        // -R: propose only the file's class, which storescp does not accept.
        refused = await runCommand("storescu", ["-R", "127.0.0.1", String(port), `${dir}/hp.dcm`]);
      } finally {
        await proc.stop();
      }
      assert.equal(sent.code, 0, sent.stderr);
      const log = sent.stdout + sent.stderr;
      const rq = log.slice(log.indexOf("BEGIN A-ASSOCIATE-RQ"), log.indexOf("END A-ASSOCIATE-RQ"));
      const proposed = [...rq.matchAll(/Abstract Syntax: (\S+)/g)].map((m) => m[1]);
      // Two presentation contexts per class (PS3.8 9.3.2.2), 128 in all.
      const expected = STORESCU_DEFAULT_SOP_CLASSES.flatMap((
        uid,
      ) => [uidLabel(uid), uidLabel(uid)]);
      assert.deepEqual(proposed, expected);
      const stored = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name);
      assert.deepEqual(stored, [`${sopClassModality(MR_IMAGE_STORAGE)}.${instance}`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /No Acceptable Presentation Contexts/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("newUid: 2.25 + UUID decimal (PS3.5 B.2), valid, version 4, unique", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const uid = newUid();
    assert.ok(isValidUid(uid), uid);
    assert.match(uid, /^2\.25\.[1-9][0-9]{0,38}$/);
    const value = BigInt(uid.slice(5));
    assert.ok(value < 1n << 128n);
    assert.equal((value >> 76n) & 0xfn, 4n, "UUID version 4");
    assert.equal((value >> 62n) & 0x3n, 2n, "RFC 4122 variant");
    seen.add(uid);
  }
  assert.equal(seen.size, 2000);
});
