/**
 * docs/SECURITY_CLASSES.md #2: injection through peer strings handed to a shell.
 * We have no exec hooks, and this file keeps it so: no source file of the
 * library or the tools starts a process; storescp refuses DCMTK's
 * exec/rename-on-reception options with exit 1; and AE titles, UIDs and a
 * patient name carrying `;touch x`, backticks and `$( )` go through a real
 * association and are logged and stored verbatim (or refused as no UID),
 * creating nothing. A newline in an AE title cannot forge a log line.
 *
 * Already covered elsewhere: nothing of this class (there were no hooks to
 * test); storescp_cli.test.ts checks that -fe/-su refuse path separators.
 */
import assert from "node:assert/strict";
import { decodeFileMeta } from "../../lib/dicom/part10.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE } from "../../lib/dicom/uids.ts";
import {
  assertNextServed,
  associated,
  commandPdv,
  commandSet,
  cStoreRq,
  cStoreRqElements,
  dataPdv,
  element,
  MR,
  mrDataset,
  pdata,
  text,
  withScp,
} from "../../testing/bad_peer.ts";
import { repoPath, runTool, show } from "../../testing/procs.ts";
import { listDir } from "../../testing/temp_files.ts";

/** Shell metacharacters in the shapes the class lists; each would create a file if run. */
const PAYLOADS = [";touch x1", "`touch x2`", "$(touch x3)", "|touch x4", "&&touch x5"];
const CREATED = ["x1", "x2", "x3", "x4", "x5"];

/** Names the payloads would create, relative to `dir`, that exist. */
async function created(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of CREATED) {
    try {
      await Deno.lstat(`${dir}/${name}`);
      found.push(name);
    } catch {
      // Not there: as it should be.
    }
  }
  return found;
}

/** Every .ts file below `dir`. */
async function sources(dir: string): Promise<string[]> {
  return (await listDir(dir, true)).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`);
}

Deno.test("class 2: no exec hooks, and peer strings with shell syntax run nothing", async (t) => {
  await t.step("no library or tool source starts a process", async () => {
    const files = [
      ...await sources(repoPath("lib")),
      ...await sources(repoPath("cli")),
      repoPath("mod.ts"),
    ];
    assert.ok(files.length > 40, `${files.length} files`);
    const spawning = /\bDeno\.(Command|run|spawn)\b|child_process|node:worker_threads/;
    const offenders = [];
    for (const f of files) {
      if (spawning.test(await Deno.readTextFile(f))) offenders.push(f);
    }
    assert.deepEqual(offenders, []);
  });

  for (
    const args of [
      ["--exec-on-reception", "touch x1"],
      ["-xcr", "touch x1"],
      ["--exec-on-eostudy", "touch x1"],
      ["-xcs", "touch x1"],
      ["--rename-on-eostudy"],
      ["--exec-sync"],
    ]
  ) {
    await t.step(`storescp ${args.join(" ")}: refused, exit 1, one line`, async () => {
      const r = await runTool("storescp", [...args, "0"]);
      assert.equal(r.code, 1, show(r));
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], new RegExp(`Unknown option ${args[0]}`));
      assert.equal(r.stdout, "");
    });
  }

  await withScp({ logLevel: "debug" }, async (scp) => {
    const cwd = Deno.cwd();
    for (const payload of PAYLOADS) {
      await t.step(`AE titles, UIDs and a patient name of ${JSON.stringify(payload)}`, async () => {
        const mark = scp.mark();
        const { peer } = await associated(scp.port, {
          contexts: [[MR, ELE]],
          callingAeTitle: payload,
          calledAeTitle: payload,
        });
        // The AE titles are reported as sent: the event, the -d dump.
        const received = scp.events.findLast((e) => e.event === "association-received");
        assert.deepEqual(
          received && "callingAeTitle" in received &&
            [received.callingAeTitle, received.calledAeTitle],
          [payload, payload],
        );
        const dump = scp.linesSince(mark).join("\n");
        assert.ok(dump.includes(`Calling Application Name:    ${payload}`), dump);
        assert.ok(dump.includes(`Called Application Name:     ${payload}`), dump);

        // A UID with the payload is no UID: refused, its value quoted in the log line.
        const badUid = `1.2.${payload}`;
        await peer.write(pdata(commandPdv(1, commandSet(cStoreRqElements(text(badUid))))));
        await peer.write(pdata(dataPdv(1, mrDataset({ sopInstance: badUid }))));
        const refused = await peer.response();
        assert.ok(typeof refused === "object" && "command" in refused, JSON.stringify(refused));
        assert.equal(refused.command.Status, 0xc000);
        assert.ok(
          scp.linesSince(mark).includes(
            `E: Store SCP: SOP instance UID ${
              JSON.stringify(badUid)
            } is not a UID: refusing with 0xC000 Error: Cannot understand`,
          ),
          scp.linesSince(mark).join("\n"),
        );

        // A patient name with the payload is data: stored as sent, nothing run.
        const uid = `1.2.826.0.1.3680043.2.1125.2.${PAYLOADS.indexOf(payload)}`;
        const name = element(0x00100010, "PN", text(payload, 0x20));
        await peer.write(pdata(commandPdv(1, cStoreRq(uid, 2))));
        await peer.write(pdata(dataPdv(1, mrDataset({ sopInstance: uid, after: name }))));
        const ok = await peer.response();
        assert.ok(typeof ok === "object" && "command" in ok && ok.command.Status === 0);
        await peer.release();
        const file = await Deno.readFile(`${scp.od}/MR.${uid}`);
        const { meta, length } = decodeFileMeta(file);
        assert.equal(meta.sourceAeTitle, payload, "the calling AE title, verbatim");
        const stored = new TextDecoder("latin1").decode(file.subarray(length));
        assert.ok(stored.includes(payload), "the patient name, verbatim");

        assert.deepEqual(await created(cwd), [], "nothing created in the working directory");
        assert.deepEqual(await created(scp.od), [], "nothing created in -od");
        assert.deepEqual(await created(scp.root), [], "nothing created beside -od");
      });
    }
    assert.equal((await listDir(scp.od)).length, PAYLOADS.length);
    await t.step("a newline in an AE title forges no log line", async () => {
      const mark = scp.mark();
      const { peer } = await associated(scp.port, { callingAeTitle: "A\nE: forged" });
      await peer.release();
      const lines = scp.linesSince(mark);
      assert.ok(!lines.some((l) => l.startsWith("E: forged")), lines.join("\n"));
      assert.ok(lines.some((l) => l.includes("A\\x0aE: forged")), lines.join("\n"));
    });
    await assertNextServed(scp, "class 2");
  });
});
