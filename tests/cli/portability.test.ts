/**
 * Every import resolves without this repository's deno.json (issue 16 item
 * 3): a program in a directory of its own that imports mod.ts type-checks
 * and runs (an echo between our SCU and SCP, CRLs parsed by pkijs), and a
 * tool run from an HTTP server (which serves .ts as text/plain or as
 * application/typescript, .js as text/plain or text/javascript), the sources
 * and the bundle the launchers run, checks revocation with +crl.
 */
import assert from "node:assert/strict";
import { sharedTestPki } from "../../testing/certs.ts";
import { auditToolStdout, ourTool } from "../../testing/json_lines.ts";
import { type Finished, repoPath, show, withTool } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const decoder = new TextDecoder();

/** Runs Deno in `cwd` (outside the repository: no deno.json, no node_modules), stdin closed. */
async function denoIn(cwd: string, args: string[]): Promise<Finished> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const r = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  // As every run of our tools in the suite: its JSON lines are checked (schemas/v1).
  if (ourTool(args)) auditToolStdout(args, r.stdout);
  return r;
}

Deno.test("a program outside the repository imports mod.ts: type-checks and runs, CRLs included", async () => {
  const p = await sharedTestPki();
  await withTempDir("dimse_outside_", async (dir) => {
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { associate, loadTlsCredentials, serve, verification } from "${mod}";
const server = await serve({
  aeTitle: "ANY-SCP", hostname: "127.0.0.1", port: 0, services: [verification()],
});
const assoc = await associate(\`ANY-SCP@127.0.0.1:\${server.local.port}\`, {
  callingAeTitle: "OUTSIDE",
});
const r = { outcome: (await assoc.echo()).status === 0 ? "success" : "failed" };
await assoc.release();
await server.stop();
const creds = loadTlsCredentials({ trustedFiles: [${JSON.stringify(p.ca)}], crlFiles: [${
        JSON.stringify(p.crl.revoking)
      }] });
const crls = await creds.crls;
console.log(r.outcome, crls?.length);
`,
    );
    const check = await denoIn(dir, ["check", "main.ts"]);
    assert.equal(check.code, 0, show(check));
    const run = await denoIn(dir, ["run", "--allow-net", "--allow-read", "main.ts"]);
    assert.equal(run.code, 0, show(run));
    assert.equal(run.stdout.trim(), "success 1");
  });
});

for (
  const [entry, type] of [
    ["cli/echoscu.ts", "text/plain"],
    ["cli/echoscu.ts", "application/typescript"],
    ["bundle/echoscu.js", "text/plain"],
    ["bundle/echoscu.js", "text/javascript"],
  ]
) {
  Deno.test(`${entry} from an HTTP server (${type}) checks a CRL with +crl`, async () => {
    const p = await sharedTestPki();
    const root = repoPath("");
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 403 });
      try {
        return new Response(await Deno.readFile(`${root}${path.slice(1)}`), {
          headers: { "content-type": type },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
    const base = `http://127.0.0.1:${http.addr.port}`;
    try {
      await withTempDir("dimse_url_", async (dir) => {
        await withTool(
          "echoscp",
          ["+tls", p.server.key, p.server.cert, "+cf", p.ca],
          async (port) => {
            const args = (crl: string) => [
              "run",
              "--allow-net",
              "--allow-read",
              `${base}/${entry}`,
              "+tls",
              p.client.key,
              p.client.cert,
              "+cf",
              p.ca,
              "+crl",
              crl,
              "127.0.0.1",
              String(port),
            ];
            const ok = await denoIn(dir, args(p.crl.empty));
            assert.equal(ok.code, 0, show(ok));
            assert.match(ok.stderr, /^echoscu: C-ECHO to .*: Success/m);
            // The CRL really is read: one that expired fails the handshake check.
            const stale = await denoIn(dir, args(p.crl.expired));
            assert.equal(stale.code, 60, show(stale));
            assert.match(stale.stderr, /CRL/);
          },
        );
      });
    } finally {
      await http.shutdown();
    }
  });
}
