/**
 * The examples/ programs run as a user runs them, against DCMTK: echo from
 * code and a folder sent to DCMTK's storescp; DCMTK's storescu and echoscu
 * against the counting receiver and the custom handler. Fails in CI when
 * DCMTK is missing (dcmtkAvailable() throws).
 */
import assert from "node:assert/strict";
import {
  Background,
  dcmtkAvailable,
  freePort,
  repoPath,
  runCommand,
  show,
  startStorescp,
  waitForPort,
} from "../../testing/procs.ts";
import { MR_IMAGE_STORAGE, writeImageFile } from "../../testing/dicom_files.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HAVE_DCMTK = dcmtkAvailable(["echoscu", "storescu", "storescp"]);
const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";

/** Runs an example with `flags` and `args`, type-checked first (`--check`) as `deno check` would. */
function runExample(name: string, flags: string[], args: string[]) {
  return runCommand(Deno.execPath(), [
    "run",
    "--check",
    ...flags,
    repoPath(`examples/${name}`),
    ...args,
  ]);
}

/** Starts an example that listens on a port given as its first argument. */
async function startExample(name: string, flags: string[], args: string[]) {
  const port = freePort();
  const proc = new Background(Deno.execPath(), [
    "run",
    "--check",
    ...flags,
    repoPath(`examples/${name}`),
    String(port),
    ...args,
  ]);
  await waitForPort(port, 20_000, () => proc.status !== undefined);
  return { proc, port };
}

Deno.test({
  name: "examples/echo.ts and send_folder.ts against DCMTK's storescp: echoed; every file stored",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse_examples_", async (dir) => {
      const src = `${dir}/src`;
      const out = `${dir}/out`;
      await Deno.mkdir(src);
      await Deno.mkdir(out);
      await writeImageFile(`${src}/a.dcm`, { rows: 16, cols: 16 });
      await writeImageFile(`${src}/b.dcm`, {
        rows: 16,
        cols: 16,
        sopClassUid: CT_IMAGE_STORAGE,
        modality: "CT",
      });
      const { proc, port } = await startStorescp(["-od", out]);
      try {
        const echo = await runExample("echo.ts", ["--allow-net"], [`STORESCP@127.0.0.1:${port}`]);
        assert.equal(echo.code, 0, show(echo));
        assert.equal(echo.stdout.trim(), "echo: success");
        const sent = await runExample("send_folder.ts", ["--allow-net", "--allow-read"], [
          `STORESCP@127.0.0.1:${port}`,
          src,
        ]);
        assert.equal(sent.code, 0, show(sent));
        assert.match(
          sent.stdout,
          /a\.dcm: status 0x0000\n.*b\.dcm: status 0x0000\nsent 2 files, 0 failed/,
        );
      } finally {
        await proc.stop();
      }
      assert.deepEqual((await listDir(out)).map((f) => f.slice(0, 3)).sort(), ["CT.", "MR."]);
    }),
});

Deno.test({
  name:
    "examples/store_receiver.ts: DCMTK's echoscu and storescu answered, each file counted and stored",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse_examples_", async (dir) => {
      const out = `${dir}/out`;
      await Deno.mkdir(out);
      const files = [`${dir}/a.dcm`, `${dir}/b.dcm`];
      for (const f of files) await writeImageFile(f, { rows: 16, cols: 16 });
      const { proc, port } = await startExample("store_receiver.ts", [
        "--allow-net",
        `--allow-read=${out}`,
        `--allow-write=${out}`,
      ], [out]);
      try {
        const echo = await runCommand("echoscu", ["-aec", "STORESCP", "127.0.0.1", String(port)]);
        assert.equal(echo.code, 0, show(echo));
        const store = await runCommand("storescu", [
          "-aec",
          "STORESCP",
          "127.0.0.1",
          String(port),
          ...files,
        ]);
        assert.equal(store.code, 0, show(store));
        await proc.waitFor((p) => /^2: /m.test(p.stdout), 10_000);
      } finally {
        await proc.stop("SIGINT");
      }
      assert.match(proc.stdout, /stored 2 files/);
      assert.equal((await listDir(out)).filter((f) => f.startsWith("MR.")).length, 2);
    }),
});

Deno.test({
  name: "examples/custom_handler.ts: reads each CT data set as it arrives; refuses MR with 0x0122",
  ignore: !HAVE_DCMTK,
  fn: () =>
    withTempDir("dimse_examples_", async (dir) => {
      const ct = `${dir}/ct.dcm`;
      const mr = `${dir}/mr.dcm`;
      await writeImageFile(ct, {
        rows: 16,
        cols: 16,
        sopClassUid: CT_IMAGE_STORAGE,
        modality: "CT",
        sopInstanceUid: "1.2.3.9",
      });
      await writeImageFile(mr, { rows: 16, cols: 16, sopClassUid: MR_IMAGE_STORAGE });
      const { proc, port } = await startExample("custom_handler.ts", ["--allow-net"], []);
      try {
        const store = await runCommand("storescu", [
          "-v",
          "-nh",
          "-aet",
          "MODALITY",
          "127.0.0.1",
          String(port),
          ct,
          mr,
        ]);
        assert.match(
          store.stderr + store.stdout,
          /Received Store Response \(Success\)/,
          show(store),
        );
        assert.match(store.stderr + store.stdout, /Refused: SOPClassNotSupported/, show(store));
        await proc.waitFor((p) => /MODALITY: 1\.2\.3\.9, \d+ bytes/.test(p.stdout), 10_000);
      } finally {
        await proc.stop("SIGINT");
      }
    }),
});

Deno.test("the README's echo (3 lines) and receiver (under 15) are examples/echo.ts and store_receiver.ts", async () => {
  const readme = await Deno.readTextFile(repoPath("README.md"));
  for (const [name, most] of [["echo.ts", 3], ["store_receiver.ts", 14]] as const) {
    const source = await Deno.readTextFile(repoPath(`examples/${name}`));
    // The program without its opening doc comment, as the README shows it.
    const code = source.slice(source.indexOf(" */\n") + 4);
    const block = new RegExp(
      "\\(`examples/" + name.replace(".", "\\.") + "`\\):\\n\\n```ts\\n([\\s\\S]*?)^```$",
      "m",
    );
    assert.equal(readme.match(block)?.[1], code, name);
    assert.ok(code.trimEnd().split("\n").length <= most, `${name}: ${code}`);
  }
});
