/**
 * The Query/Retrieve calls of the service layer (lib/ae/qr.ts): the
 * models' SOP classes and the contexts and roles proposed for them; find,
 * move and get against DCMTK's dcmqrscp: matches then the final status,
 * C-CANCEL by signal, sub-operation counts, C-GET's C-STOREs answered by
 * the association's services on the SCP role negotiated.
 */
import assert from "node:assert/strict";
import { associate } from "../../lib/ae/associate.ts";
import { qrContexts, QUERY_MODELS, sopClassOf } from "../../lib/ae/qr.ts";
import { storage } from "../../lib/ae/services.ts";
import { stringValues } from "../../lib/dicom/attributes.ts";
import { queryFromKeys } from "../../lib/dicom/query_keys.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "../../lib/dicom/uids.ts";
import { withDcmqrscp } from "../../testing/dcmqrscp.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { dcmtkAvailable, startStorescp } from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable(["dcmqrscp", "dcmqridx", "storescp"]);
const MR = "1.2.840.10008.5.1.4.1.1.4";
const STUDY_A = "1.2.826.0.1.3680043.9.7433.3.1";
const STUDY_B = "1.2.826.0.1.3680043.9.7433.3.2";

async function images(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (
    const [i, [study, name, id]] of [
      [STUDY_A, "Smith^John", "PID-A"],
      [STUDY_A, "Smith^John", "PID-A"],
      [STUDY_B, "Doe^Jane", "PID-B"],
    ].entries()
  ) {
    const path = `${dir}/i${i}.dcm`;
    await writeImageFile(path, {
      rows: 8,
      cols: 8,
      studyUid: study,
      patientName: name,
      patientId: id,
    });
    out.push(path);
  }
  return out;
}

Deno.test("qrContexts: one context per operation of the model, storage ones with the SCP role", () => {
  assert.equal(sopClassOf("study", "find"), "1.2.840.10008.5.1.4.1.2.2.1");
  assert.throws(() => sopClassOf("worklist", "move"), RangeError);
  const w = qrContexts({ model: "worklist" });
  assert.deepEqual(w.contexts.map((c) => c.abstractSyntax), [QUERY_MODELS.worklist.find]);
  assert.deepEqual(w.roles, []);
  const g = qrContexts({
    model: "patient",
    operations: ["get"],
    transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN],
    storage: [{ abstractSyntax: MR, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] }],
  });
  assert.deepEqual(g.contexts, [
    { abstractSyntax: QUERY_MODELS.patient.get, transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] },
    { abstractSyntax: MR, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] },
  ]);
  assert.deepEqual(g.roles, [{ sopClassUid: MR, scuRole: true, scpRole: true }]);
});

Deno.test({
  name: "find/move/get against dcmqrscp: matches then final status, counts, C-GET stores",
  ignore: !HAVE_DCMTK,
  fn: async () => {
    await withTempDir("qrlib", async (dir) => {
      const files = await images(dir);
      await Deno.mkdir(`${dir}/dest`);
      await Deno.mkdir(`${dir}/got`);
      const dest = await startStorescp(["-aet", "DEST", "-od", `${dir}/dest`]);
      try {
        await withDcmqrscp(
          { destinations: [{ aeTitle: "DEST", port: dest.port }], args: ["-up"] },
          async (scp) => {
            await scp.index("COMMON", files);
            const address = `COMMON@127.0.0.1:${scp.port}`;
            // C-FIND, study root: two studies, then Success.
            {
              await using assoc = await associate(address, qrContexts({ model: "study" }));
              const query = queryFromKeys([
                "QueryRetrieveLevel=STUDY",
                "StudyInstanceUID",
                "PatientName",
              ]);
              const seen: string[] = [];
              let final: number | undefined;
              for await (const r of assoc.find(query, { model: "study" })) {
                if (r.match) seen.push(stringValues(r.attributes(), 0x0020000d)![0]);
                else final = r.status;
              }
              assert.deepEqual(seen.sort(), [STUDY_A, STUDY_B]);
              assert.equal(final, 0);
            }
            // C-MOVE of study A to DEST: two completed.
            {
              await using assoc = await associate(
                address,
                qrContexts({ model: "study", operations: ["move"] }),
              );
              const query = queryFromKeys([
                "QueryRetrieveLevel=STUDY",
                `StudyInstanceUID=${STUDY_A}`,
              ]);
              const rsps = [];
              for await (const r of assoc.move(query, { model: "study", destination: "DEST" })) {
                rsps.push(r);
              }
              const last = rsps.at(-1)!;
              assert.equal(last.status, 0);
              assert.equal(last.counts.completedSuboperations, 2);
              assert.equal((await listDir(`${dir}/dest`)).length, 2);
              // An unknown destination: 0xA801 as the final status.
              const bad = [];
              for await (const r of assoc.move(query, { model: "study", destination: "NOBODY" })) {
                bad.push(r.status);
              }
              assert.deepEqual(bad, [0xa801]);
            }
            // C-GET of study B: its C-STORE answered by our storage service.
            {
              const stored: string[] = [];
              await using assoc = await associate(address, {
                ...qrContexts({
                  model: "study",
                  operations: ["get"],
                  storage: [{
                    abstractSyntax: MR,
                    transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
                  }],
                }),
                services: [storage({
                  store: async (ctx) => {
                    for await (const _ of ctx.dataset) continue;
                    stored.push(ctx.message.affectedSopInstanceUid);
                    return 0;
                  },
                })],
              });
              const query = queryFromKeys([
                "QueryRetrieveLevel=STUDY",
                `StudyInstanceUID=${STUDY_B}`,
              ]);
              let last;
              for await (const r of assoc.get(query, { model: "study" })) last = r;
              assert.equal(last!.status, 0);
              assert.equal(last!.counts.completedSuboperations, 1);
              assert.equal(stored.length, 1);
            }
          },
        );
      } finally {
        await dest.proc.stop();
      }
    });
  },
});
