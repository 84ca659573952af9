/**
 * A mixed folder into a PACS that accepts everything (DCMTK's `storescp +xa
 * -pm`), in one pass: a file of every compressed syntax DCMTK's tools make
 * here (dcmcjpeg, dcmcrle, dcmcjpls, img2dcm), uncompressed ones in each
 * byte order, deflated and without meta information. Every file arrives
 * with its data set byte for byte (storescp +B writes what it received),
 * and at least every file DCMTK's storescu delivers over all its `-x?`
 * passes.
 */
import assert from "node:assert/strict";
import { decodeFileMeta, inspectDicomFile } from "../../lib/dicom/part10.ts";
import { newUid } from "../../lib/util/uid.ts";
import { PROPOSAL_OPTIONS } from "../../lib/cli/storescu/contexts.ts";
import { transferSyntaxName } from "../../lib/dicom/uids.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import {
  dcmtkAvailable,
  type Finished,
  runCommand,
  runTool,
  show,
  startStorescp,
} from "../../testing/procs.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable();
const HOST = "127.0.0.1";
const CT = "1.2.840.10008.5.1.4.1.1.2";

/**
 * How each file of the folder is made from a fresh synthetic image: a DCMTK
 * command, or none. `refused`: a syntax DCMTK 3.6.7's `storescp +xa` does
 * not accept (it answers "transfer syntaxes not supported"), so no sender
 * that does not decode can deliver it there; those go in a folder of their own.
 */
const RECIPES: {
  name: string;
  bits: 8 | 16;
  sopClassUid?: string;
  tool?: string[];
  refused?: boolean;
}[] = [
  { name: "jpeg-baseline.dcm", bits: 8, tool: ["dcmcjpeg", "+eb"] },
  { name: "jpeg-extended.dcm", bits: 16, tool: ["dcmcjpeg", "+ee"] },
  { name: "jpeg-spectral.dcm", bits: 16, tool: ["dcmcjpeg", "+es"], refused: true },
  { name: "jpeg-progressive.dcm", bits: 16, tool: ["dcmcjpeg", "+ep"], refused: true },
  { name: "jpeg-lossless.dcm", bits: 16, tool: ["dcmcjpeg", "+el"], refused: true },
  { name: "jpeg-lossless-sv1.dcm", bits: 16, tool: ["dcmcjpeg", "+e1"], sopClassUid: CT },
  { name: "rle.dcm", bits: 16, tool: ["dcmcrle"] },
  { name: "rle-ct.dcm", bits: 16, tool: ["dcmcrle"], sopClassUid: CT },
  { name: "jpeg-ls.dcm", bits: 16, tool: ["dcmcjpls", "+el"] },
  { name: "jpeg-ls-near.dcm", bits: 16, tool: ["dcmcjpls", "+en"] },
  { name: "explicit-le.dcm", bits: 16 },
  { name: "explicit-le-ct.dcm", bits: 16, sopClassUid: CT },
  { name: "implicit.dcm", bits: 16, tool: ["dcmconv", "+ti"] },
  { name: "big-endian.dcm", bits: 16, tool: ["dcmconv", "+tb"] },
  { name: "deflated.dcm", bits: 16, tool: ["dcmconv", "+td"] },
  { name: "bare-implicit.dcm", bits: 16, tool: ["dcmconv", "-F", "+ti"] },
  { name: "bare-explicit.dcm", bits: 8, tool: ["dcmconv", "-F", "+te"] },
];

/**
 * Builds the folder in `dir/in` (and the files `storescp +xa` refuses in
 * `dir/refused`); returns the paths of each.
 */
async function buildFolder(dir: string): Promise<{ files: string[]; refused: string[] }> {
  await Deno.mkdir(`${dir}/in`);
  await Deno.mkdir(`${dir}/refused`);
  await Deno.mkdir(`${dir}/work`);
  const files: string[] = [];
  const refused: string[] = [];
  const run = async (cmd: string, args: string[]) => {
    const r = await runCommand(cmd, args);
    assert.equal(r.code, 0, `${cmd} ${args.join(" ")}\n${show(r)}`);
  };
  for (const [i, recipe] of RECIPES.entries()) {
    const source = `${dir}/work/source${i}.dcm`;
    await writeImageFile(source, {
      rows: 64,
      cols: 64,
      bitsAllocated: recipe.bits,
      sopInstanceUid: newUid(),
      privateTags: false,
      ...(recipe.sopClassUid ? { sopClassUid: recipe.sopClassUid } : {}),
    });
    const path = `${dir}/${recipe.refused ? "refused" : "in"}/${recipe.name}`;
    if (recipe.tool) await run(recipe.tool[0], [...recipe.tool.slice(1), source, path]);
    else await Deno.copyFile(source, path);
    (recipe.refused ? refused : files).push(path);
  }
  // img2dcm: a JPEG file wrapped as it is (Secondary Capture, JPEG Baseline).
  const jpeg = `${dir}/work/image.jpg`;
  await run("dcmj2pnm", ["+oj", `${dir}/work/source0.dcm`, jpeg]);
  const wrapped = `${dir}/in/img2dcm.dcm`;
  await run("img2dcm", [jpeg, wrapped]);
  files.push(wrapped);
  return { files: files.sort(), refused: refused.sort() };
}

/** A file's SOP Instance UID, transfer syntax and data set bytes. */
async function fileFacts(path: string): Promise<{ uid: string; ts: string; dataset: Uint8Array }> {
  const info = await inspectDicomFile(path, "file-or-dataset");
  const bytes = await Deno.readFile(path);
  return {
    uid: info.sopInstanceUid,
    ts: info.transferSyntaxUid,
    dataset: bytes.subarray(info.datasetOffset),
  };
}

/** What storescp wrote, by SOP Instance UID (its meta information's). */
async function receivedByUid(out: string): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  for (const name of await listDir(out)) {
    const bytes = await Deno.readFile(`${out}/${name}`);
    const { meta, length } = decodeFileMeta(bytes, name);
    got.set(meta.mediaStorageSopInstanceUid, bytes.subarray(length));
  }
  return got;
}

async function emptyDir(path: string): Promise<void> {
  for (const name of await listDir(path)) await Deno.remove(`${path}/${name}`);
}

function jsonFiles(r: Finished): Record<string, unknown>[] {
  return r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)).filter((x) =>
    x.type === "store"
  );
}

Deno.test({
  name:
    "storescu: a mixed folder into storescp +xa -pm in one pass, data sets byte for byte, at least what DCMTK's -x? passes deliver",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse-mixed-", async (dir) => {
      const { files, refused } = await buildFolder(dir);
      const facts = new Map<string, Awaited<ReturnType<typeof fileFacts>>>();
      for (const f of [...files, ...refused]) facts.set(f, await fileFacts(f));
      // 13 syntaxes in all, every UID once.
      const syntaxes = new Set([...facts.values()].map((f) => f.ts));
      assert.equal(syntaxes.size, 13, [...syntaxes].map(transferSyntaxName).join(", "));
      assert.equal(new Set([...facts.values()].map((f) => f.uid)).size, facts.size);
      const out = `${dir}/out`;
      await Deno.mkdir(out);
      const { proc, port } = await startStorescp(["+xa", "-pm", "+B", "-od", out]);
      try {
        // Ours, one pass, default options: everything arrives, nothing converted.
        const ours = await runTool("storescu", ["+sd", "--json", HOST, String(port), `${dir}/in`]);
        assert.equal(ours.code, 0, show(ours));
        const records = jsonFiles(ours);
        assert.deepEqual(records.map((r) => r.outcome), files.map(() => "success"), show(ours));
        assert.doesNotMatch(ours.stderr, /Converting transfer syntax/);
        const got = await receivedByUid(out);
        for (const path of files) {
          const f = facts.get(path)!;
          const received = got.get(f.uid);
          assert.ok(received, `${path} (${transferSyntaxName(f.ts)}) did not arrive`);
          // dcmconv +td leaves a deflated stream of odd length; it travels with the NUL that
          // makes it even (PS3.5 A.5), the only byte added to any file.
          const expected = f.dataset.length % 2 ? Uint8Array.of(...f.dataset, 0) : f.dataset;
          assert.deepEqual(received, expected, `${path} (${transferSyntaxName(f.ts)})`);
        }
        assert.equal(got.size, files.length);

        // The syntaxes the peer refuses: each file fails alone with what the peer accepted for
        // its class and the way out (it is not decoded here).
        const rest = await runTool("storescu", [
          "-nh",
          "+sd",
          "--json",
          HOST,
          String(port),
          `${dir}/refused`,
        ]);
        assert.equal(rest.code, 1, show(rest));
        for (const r of jsonFiles(rest)) {
          assert.equal(r.outcome, "failed", show(rest));
          assert.match(
            String(r.diagnosis),
            /^no presentation context for MRImageStorage in JPEG .*: the peer accepted only uncompressed syntaxes \(Little Endian Explicit, Big Endian Explicit\) for it; this file is JPEG .* and cannot be decompressed here: decompress it first \(e\.g\. with DCMTK's dcmdjpeg\), or have the peer accept JPEG /,
          );
        }
        assert.equal(jsonFiles(rest).length, refused.length);

        // DCMTK's storescu, once per -x? option, not halting at a failure: what it delivers.
        const theirs = new Set<string>();
        let theirDefaultPass = 0;
        for (const option of PROPOSAL_OPTIONS) {
          for (const folder of ["in", "refused"]) {
            await emptyDir(out);
            const r = await runCommand("storescu", [
              "-nh",
              "+sd",
              option.short,
              HOST,
              String(port),
              `${dir}/${folder}`,
            ], 60_000);
            assert.equal(r.code, 0, `storescu ${option.short}\n${show(r)}`);
            const delivered = await receivedByUid(out);
            for (const uid of delivered.keys()) theirs.add(uid);
            if (option.short === "-x=") theirDefaultPass += delivered.size;
          }
        }
        const oursDelivered = new Set(got.keys());
        assert.deepEqual([...theirs].filter((uid) => !oursDelivered.has(uid)), []);
        // DCMTK's default pass delivers the 7 uncompressed and deflated files (this one
        // converted), no compressed one.
        assert.equal(theirDefaultPass, 7);
        assert.equal(theirs.size, oursDelivered.size);
      } finally {
        await proc.stop();
      }
    }),
});
