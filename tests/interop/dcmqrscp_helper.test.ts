/**
 * The dcmqrscp test peer (testing/dcmqrscp.ts), proved with DCMTK's
 * own SCUs: files loaded with dcmqridx and with C-STORE are found by
 * findscu, moved by movescu to a third AE and to movescu itself, retrieved
 * by getscu; an unknown destination is refused; stop() leaves no process,
 * port or file behind. Later interop tests of our findscu, movescu and
 * getscu stand on this.
 */

import assert from "node:assert/strict";
import { decodeAttributesFile, stringValues } from "../../lib/dicom/attributes.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import { Dcmqrscp, dcmqrscpConfig, procFile, withDcmqrscp } from "../../testing/dcmqrscp.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import {
  dcmtkAvailable,
  freePort,
  runCommand,
  show,
  startStorescp,
  waitForPort,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable([
  "dcmqrscp",
  "dcmqridx",
  "findscu",
  "movescu",
  "getscu",
  "storescu",
  "storescp",
]);

const STUDY_A = "1.2.826.0.1.3680043.9.7433.2.1";
const STUDY_B = "1.2.826.0.1.3680043.9.7433.2.2";

/** Three small images: two of study A (patient Smith), one of study B (patient Doe). */
async function images(dir: string): Promise<{ a: string[]; b: string[] }> {
  const write = async (name: string, studyUid: string, patientName: string, patientId: string) => {
    const path = `${dir}/${name}.dcm`;
    await writeImageFile(path, { rows: 8, cols: 8, studyUid, patientName, patientId });
    return path;
  };
  return {
    a: [
      await write("a1", STUDY_A, "Smith^John", "PID-A"),
      await write("a2", STUDY_A, "Smith^John", "PID-A"),
    ],
    b: [await write("b1", STUDY_B, "Doe^Jane", "PID-B")],
  };
}

Deno.test("dcmqrscp config: AE table, storage areas and move destinations in DCMTK's format", () => {
  assert.equal(
    dcmqrscpConfig("/tmp/q", 11112, {
      aes: [{ aeTitle: "COMMON" }, { aeTitle: "ARCHIVE", access: "R", maxStudies: 5 }],
      destinations: [{ aeTitle: "MOVESCU", port: 4006 }],
    }),
    [
      "NetworkTCPPort = 11112",
      "MaxPDUSize = 16384",
      "MaxAssociations = 16",
      "HostTable BEGIN",
      "dest0 = (MOVESCU, 127.0.0.1, 4006)",
      "HostTable END",
      "VendorTable BEGIN",
      "VendorTable END",
      "AETable BEGIN",
      "COMMON /tmp/q/COMMON RW (200, 1024mb) ANY",
      "ARCHIVE /tmp/q/ARCHIVE R (5, 1024mb) ANY",
      "AETable END",
      "",
    ].join("\n"),
  );
});

Deno.test({
  name: "dcmqrscp: DCMTK findscu finds the studies loaded by dcmqridx and by C-STORE",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("qr", async (dir) => {
      const files = await images(dir);
      await withDcmqrscp({}, async (scp) => {
        await scp.index("COMMON", files.a);
        await scp.store("COMMON", files.b);
        await Deno.mkdir(`${dir}/rsp`);
        const run = await runCommand("findscu", [
          "-S",
          "-aec",
          "COMMON",
          "-k",
          "QueryRetrieveLevel=STUDY",
          "-k",
          "StudyInstanceUID",
          "-k",
          "PatientName",
          "-X",
          "-od",
          `${dir}/rsp`,
          "127.0.0.1",
          String(scp.port),
        ]);
        assert.equal(run.code, 0, show(run));
        const found = new Map<string, string>();
        for (const name of await listDir(`${dir}/rsp`)) {
          const { attributes } = decodeAttributesFile(await Deno.readFile(`${dir}/rsp/${name}`));
          found.set(
            stringValues(attributes, 0x0020000d)![0],
            stringValues(attributes, 0x00100010)![0],
          );
        }
        assert.deepEqual(
          found,
          new Map([[STUDY_A, "Smith^John"], [STUDY_B, "Doe^Jane"]]),
        );
      });
    });
  },
});

Deno.test({
  name: "dcmqrscp: DCMTK movescu moves a study to a third AE and to itself; getscu retrieves one",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("qr", async (dir) => {
      const files = await images(dir);
      for (const sub of ["dest", "self", "get"]) await Deno.mkdir(`${dir}/${sub}`);
      const dest = await startStorescp(["-aet", "DEST", "-od", `${dir}/dest`]);
      const selfPort = freePort();
      try {
        await withDcmqrscp({
          destinations: [{ aeTitle: "DEST", port: dest.port }, {
            aeTitle: "MOVESCU",
            port: selfPort,
          }],
        }, async (scp) => {
          await scp.index("COMMON", [...files.a, ...files.b]);
          const study = (
            uid: string,
          ) => ["-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${uid}`];
          const host = ["127.0.0.1", String(scp.port)];
          const toDest = await runCommand("movescu", [
            "-S",
            "-aec",
            "COMMON",
            "-aem",
            "DEST",
            ...study(STUDY_A),
            ...host,
          ]);
          assert.equal(toDest.code, 0, show(toDest));
          assert.equal((await listDir(`${dir}/dest`)).length, 2, show(toDest));
          const toSelf = await runCommand("movescu", [
            "-S",
            "-aet",
            "MOVESCU",
            "-aec",
            "COMMON",
            "-aem",
            "MOVESCU",
            "+P",
            String(selfPort),
            "-od",
            `${dir}/self`,
            ...study(STUDY_B),
            ...host,
          ]);
          assert.equal(toSelf.code, 0, show(toSelf));
          assert.equal((await listDir(`${dir}/self`)).length, 1, show(toSelf));
          const get = await runCommand("getscu", [
            "-S",
            "-aec",
            "COMMON",
            "-od",
            `${dir}/get`,
            ...study(STUDY_A),
            ...host,
          ]);
          assert.equal(get.code, 0, show(get));
          assert.equal((await listDir(`${dir}/get`)).length, 2, show(get));
        });
      } finally {
        await dest.proc.stop();
      }
    });
  },
});

Deno.test({
  name: "dcmqrscp: a move to a destination it does not know is refused with 0xA801",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("qr", async (dir) => {
      const files = await images(dir);
      await withDcmqrscp({}, async (scp) => {
        await scp.index("COMMON", files.b);
        const run = await runCommand("movescu", [
          "-v",
          "-S",
          "-aec",
          "COMMON",
          "-aem",
          "NOBODY",
          "-k",
          "QueryRetrieveLevel=STUDY",
          "-k",
          `StudyInstanceUID=${STUDY_B}`,
          "127.0.0.1",
          String(scp.port),
        ]);
        assert.match(run.stdout + run.stderr, /Refused: MoveDestinationUnknown/, show(run));
        assert.equal(run.code, 69, show(run));
      });
    });
  },
});

/** Whether a process has ended (no /proc entry, or a zombie), waiting up to 5 s for it. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const stat = await procFile(`/proc/${pid}/stat`);
    if (stat === undefined || stat.split(") ")[1]?.startsWith("Z")) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

Deno.test({
  name: "dcmqrscp: stop() ends its process and those it forked, frees the port, removes its files",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    const scp = await Dcmqrscp.start({ aes: [{ aeTitle: "A" }, { aeTitle: "B", access: "R" }] });
    const dir = scp.dir;
    assert.ok((await Deno.stat(scp.storageArea("B"))).isDirectory);
    // An association left open: dcmqrscp accepted it and forked a process to serve it.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: scp.port });
    try {
      await conn.write(encodePdu({
        type: "A-ASSOCIATE-RQ",
        protocolVersion: 1,
        calledAeTitle: "A",
        callingAeTitle: "TEST",
        applicationContext: "1.2.840.10008.3.1.1.1",
        presentationContexts: [{
          id: 1,
          abstractSyntax: "1.2.840.10008.1.1",
          transferSyntaxes: ["1.2.840.10008.1.2"],
        }],
        userInformation: {
          maxLength: 16384,
          implementationClassUid: "1.2.3",
          roleSelections: [],
          extendedNegotiations: [],
          commonExtendedNegotiations: [],
        },
      }));
      const reader = new PduReader();
      const buf = new Uint8Array(4096);
      let answer = reader.next();
      while (!answer) {
        const n = await conn.read(buf);
        assert.ok(n !== null, "dcmqrscp closed instead of answering");
        reader.push(buf.slice(0, n));
        answer = reader.next();
      }
      assert.equal(answer.pdu.type, "A-ASSOCIATE-AC");
      // dcmqrscp may fork just after it answered: wait (bounded) for its child to show.
      let children = await scp.children();
      for (let i = 0; i < 100 && children.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        children = await scp.children();
      }
      assert.equal(children.length, 1, "one process forked for the association");
      // A forked process left running keeps dcmqrscp's output pipes open until its own
      // 60 s timeout: stop() would hang that long.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([
        scp.stop().then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 10_000)),
      ]);
      clearTimeout(timer);
      assert.ok(stopped, "stop() still waits for the process forked for the association");
      await scp.stop(); // idempotent
      assert.ok(await gone(scp.pid), `dcmqrscp ${scp.pid} still runs`);
      for (const pid of children) assert.ok(await gone(pid), `its child ${pid} still runs`);
      await assert.rejects(() => waitForPort(scp.port, 300), /nothing listens/);
      await assert.rejects(() => Deno.stat(dir), Deno.errors.NotFound);
      // The forked process, which would wait for ever for a request, ended and closed it.
      const read = await Promise.race([
        conn.read(buf).catch(() => null),
        new Promise((r) => setTimeout(() => r("open"), 5000)),
      ]);
      assert.equal(read, null);
    } finally {
      conn.close();
    }
  },
});
