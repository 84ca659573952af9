/**
 * storescu makes the next file ready (reads it, chooses its context, checks
 * its data set as it will go out) while the peer answers the store before
 * it (issue 15). What the user sees must not change: one store at a time on
 * the wire, each file's lines after the response to the one before, a file
 * found bad in that time reported in its own turn, the records in order.
 */
import assert from "node:assert/strict";
import { serve, storage } from "../../mod.ts";
import { makeImageFile, spacePadSopUids } from "../../testing/dicom_files.ts";
import { runTool, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";
import { newUid } from "../../lib/util/uid.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";

/**
 * `file` with a last element that claims 100 bytes and has 2: its head
 * inspects fine, its data set fails the check before the request goes out.
 */
function truncatedAtEnd(file: Uint8Array): Uint8Array {
  const tail = new Uint8Array([0xe1, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 100, 0, 0, 0, 1, 2]);
  const out = new Uint8Array(file.length + tail.length);
  out.set(file);
  out.set(tail, file.length);
  return out;
}

/** An odd-length UID, so that its value is padded. */
function oddUid(): string {
  const uid = newUid();
  return uid.length % 2 ? uid : `${uid}1`;
}

/** The lines of one store's life, in the order storescu logged them. */
const STORE_LINE =
  /^(I: Sending file: |I: Sending Store Request|I: Received Store Response|I: Converting|E: Bad DICOM file|W: DcmUniqueIdentifier)/;

for (const mode of [{ name: "as is", args: [] }, { name: "-xi (converted)", args: ["-xi"] }]) {
  Deno.test(`storescu ${mode.name}: the next file made ready during a store changes nothing the user sees`, async () => {
    await withTempDir("dimse_storescu_prepare_", async (dir) => {
      const uids = [oddUid(), oddUid(), oddUid(), oddUid()];
      const image = (i: number) =>
        makeImageFile({ rows: 64, cols: 64, sopInstanceUid: uids[i], withSequence: false });
      const files = [`${dir}/good.dcm`, `${dir}/padded.dcm`, `${dir}/bad.dcm`, `${dir}/last.dcm`];
      await Deno.writeFile(files[0], image(0));
      await Deno.writeFile(files[1], spacePadSopUids(image(1)));
      await Deno.writeFile(files[2], truncatedAtEnd(image(2)));
      await Deno.writeFile(files[3], image(3));
      const events: string[] = [];
      await using server = await serve({
        aeTitle: "STORE",
        hostname: "127.0.0.1",
        port: 0,
        services: [
          storage({
            store: async (ctx) => {
              const uid = ctx.message.affectedSopInstanceUid;
              events.push(`begin ${uid}`);
              for await (const _ of ctx.dataset) { /* drained */ }
              // The first response comes late: time for storescu to send what it must not.
              if (events.length === 1) await new Promise((r) => setTimeout(r, 300));
              events.push(`end ${uid}`);
            },
          }),
        ],
      });
      const r = await runTool("storescu", [
        "-v",
        "--no-halt",
        "--json",
        ...mode.args,
        "-aec",
        "STORE",
        "127.0.0.1",
        String(server.local.port),
        ...files,
      ], 60_000);
      // The bad file fails the run's exit code (--no-halt goes on).
      assert.equal(r.code, 1, show(r));
      // One store at a time: each request arrives after the response to the one before.
      const sent = [uids[0], uids[1], uids[3]];
      assert.deepEqual(events, sent.flatMap((u) => [`begin ${u}`, `end ${u}`]), show(r));
      const converting = mode.args.length > 0
        ? ["I: Converting transfer syntax: Little Endian Explicit -> Little Endian Implicit"]
        : [];
      const lines = (r.stderr + r.stdout).split("\n").filter((l) => STORE_LINE.test(l))
        .map((l) =>
          l.replace(/ \(MsgID \d+.*$/, "").replace(/^(E: Bad DICOM file: [^:]*):.*/, "$1")
        );
      assert.deepEqual(lines, [
        `I: Sending file: ${files[0]}`,
        ...converting,
        "I: Sending Store Request",
        "I: Received Store Response (Success)",
        `I: Sending file: ${files[1]}`,
        "W: DcmUniqueIdentifier: Element SOPClassUID (0008,0016) contains one or more space characters, which were removed",
        "W: DcmUniqueIdentifier: Element SOPInstanceUID (0008,0018) contains one or more space characters, which were removed",
        ...converting,
        "I: Sending Store Request",
        "I: Received Store Response (Success)",
        `I: Sending file: ${files[2]}`,
        ...converting,
        `E: Bad DICOM file: ${files[2]}`,
        `I: Sending file: ${files[3]}`,
        ...converting,
        "I: Sending Store Request",
        "I: Received Store Response (Success)",
      ], show(r));
      const records = r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
        .filter((x) => x.type === "store");
      assert.deepEqual(
        records.map((x) => [x.path, x.outcome]),
        [[files[0], "success"], [files[1], "success"], [files[2], "failed"], [
          files[3],
          "success",
        ]],
        show(r),
      );
      assert.equal(records[1].sopInstanceUid, uids[1]);
    });
  });
}

/**
 * `file` with a 5,000-byte OB element (0008,0001) at the start of its data set, so that
 * its SOP UIDs lie past the first few KiB: the space-padded UID scan reads the head in
 * growing slices and must still find them.
 */
function uidsFarIn(file: Uint8Array): Uint8Array {
  const at = decodeFileMeta(file).length;
  const value = 5000;
  const element = new Uint8Array(12 + value).fill(0x41, 12);
  element.set([0x08, 0x00, 0x01, 0x00, 0x4f, 0x42, 0, 0]);
  new DataView(element.buffer).setUint32(8, value, true);
  const out = new Uint8Array(file.length + element.length);
  out.set(file.subarray(0, at));
  out.set(element, at);
  out.set(file.subarray(at), at + element.length);
  return out;
}

Deno.test("storescu: space-padded SOP UIDs 5 KB into the data set are found and corrected", async () => {
  await withTempDir("dimse_storescu_prepare_", async (dir) => {
    const uid = oddUid();
    const path = `${dir}/far.dcm`;
    await Deno.writeFile(
      path,
      spacePadSopUids(uidsFarIn(makeImageFile({ rows: 8, cols: 8, sopInstanceUid: uid }))),
    );
    const got: { uid: string; dataset: Uint8Array }[] = [];
    await using server = await serve({
      aeTitle: "STORE",
      hostname: "127.0.0.1",
      port: 0,
      services: [
        storage({
          store: async (ctx) => {
            const parts: Uint8Array[] = [];
            for await (const chunk of ctx.dataset) parts.push(chunk.slice());
            got.push({ uid: ctx.message.affectedSopInstanceUid, dataset: concatBytes(parts) });
          },
        }),
      ],
    });
    const r = await runTool("storescu", [
      "-v",
      "-aec",
      "STORE",
      "127.0.0.1",
      String(server.local.port),
      path,
    ], 60_000);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(
      r.stderr.split("\n").filter((l) => l.startsWith("W: DcmUniqueIdentifier")),
      [
        "W: DcmUniqueIdentifier: Element SOPClassUID (0008,0016) contains one or more space characters, which were removed",
        "W: DcmUniqueIdentifier: Element SOPInstanceUID (0008,0018) contains one or more space characters, which were removed",
      ],
      show(r),
    );
    assert.equal(got.length, 1);
    assert.equal(got[0].uid, uid);
    // The data set carries the UID padded with NUL, not with the file's space.
    const text = new TextDecoder("latin1").decode(got[0].dataset);
    assert.ok(text.includes(`${uid}\0`), "the corrected UID is not in the data set");
    assert.ok(!text.includes(`${uid} `), "the data set still carries the space-padded UID");
  });
});
