/**
 * storescu checks Deno's permissions for its input files before anything else: a file it
 * may not read must be named as such (exit code 2), not look missing. With read (and, for
 * +rn, write) granted for every path it asks about no single file (issue 15: a query per
 * file on the way to the association); with a list of paths, each file is checked.
 */
import assert from "node:assert/strict";
import { makeImageFile } from "../../testing/dicom_files.ts";
import { repoPath, runCommand, show } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

/** A port nothing listens on: taken from the kernel, then closed. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** storescu with the given file permissions (and the others it needs) to a closed port. */
function storescu(perms: string[], options: string[], files: string[]) {
  return runCommand(Deno.execPath(), [
    "run",
    "--no-prompt",
    "--allow-net",
    "--allow-env",
    "--allow-sys",
    ...perms,
    repoPath("cli/storescu.ts"),
    ...options,
    "127.0.0.1",
    String(closedPort()),
    ...files,
  ]);
}

Deno.test("storescu: an input file outside --allow-read is named before anything is sent; a plain --allow-read asks about none", async () => {
  await withTempDir("dimse_storescu_perm_", async (dir) => {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    const inA = `${dir}/a/in.dcm`;
    const inB = `${dir}/b/out.dcm`;
    for (const f of [inA, inB]) await Deno.writeFile(f, makeImageFile({ rows: 8, cols: 8 }));

    const denied = await storescu([`--allow-read=${dir}/a`], [], [inA, inB]);
    assert.equal(denied.code, 2, show(denied));
    assert.match(denied.stderr, /^storescu: cannot read input: .*--allow-read/m, show(denied));

    const rename = await storescu(["--allow-read", `--allow-write=${dir}/a`], ["+rn"], [inA, inB]);
    assert.equal(rename.code, 2, show(rename));
    assert.match(rename.stderr, /^storescu: cannot rename: .*--allow-write/m, show(rename));

    // Everything granted: past the check, to the association the closed port refuses.
    for (const perms of [["--allow-read"], [`--allow-read=${dir}`]]) {
      const r = await storescu(perms, [], [inA, inB]);
      assert.notEqual(r.code, 2, show(r));
      assert.doesNotMatch(r.stderr, /cannot read input/, show(r));
      assert.match(r.stderr, /Association Request Failed|refused/i, show(r));
    }
  });
});
