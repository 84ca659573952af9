/**
 * Servers that cannot be knocked over (issue 11): storescp and echoscp
 * under `prlimit --nofile=256:256`, over TCP and TLS, against crowds of
 * twice that many connections that hold a place and do nothing: idle
 * connections, half-started associations, half-started C-STOREs (a socket
 * and a `.part` file each), silent associations and stalled TLS handshakes,
 * from many loopback addresses and from the good client's own. Before, 256
 * idle connections were enough to make Deno panic (EMFILE in accept).
 *
 * Throughout each attack and after it: the server lives, a good client is
 * served within a second (an echo, and a store where there is one), and
 * once the crowd is gone the server's descriptors are back to their count
 * before it and no `.part` file is left. And memory: 2,000 half-started
 * stores (with caps raised to let them in) keep storescp within the total
 * the README documents.
 */
import assert from "node:assert/strict";
import {
  type AttackKind,
  Crowd,
  descriptorsBackTo,
  goodVisit,
  loopbackSources,
  openDescriptors,
} from "../../testing/attacks.ts";
import { sharedTestPki, tlsArgs } from "../../testing/certs.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { Background, toolArgv } from "../../testing/procs.ts";
import { sampleProcess } from "../../testing/load.ts";
import { listDir, withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";
const LIMIT = 256;
/**
 * Sources of the crowd: the good client's own address twice as often as
 * each of 14 others, so that both the per-address and the global caps are
 * met.
 */
const SOURCES = [HOST, HOST, ...loopbackSources(14)];

/** A server tool under `prlimit --nofile=<limit>:<limit>`, listening on 127.0.0.1. */
async function underLimit(
  tool: string,
  args: string[],
  limit = LIMIT,
): Promise<{ proc: Background; port: number }> {
  const proc = new Background("prlimit", [
    `--nofile=${limit}:${limit}`,
    Deno.execPath(),
    ...toolArgv(tool),
    "--json",
    "--bind",
    HOST,
    ...args,
    "0",
  ]);
  const ev = await proc.waitForEvent((e) => e.type === "listening", 30_000);
  return { proc, port: Number(ev.port) };
}

/**
 * Each attack of `kinds` in turn against the server: the crowd opens, and
 * once its connections are old enough to be told from a newcomer's (the
 * budget makes room only by closing connections idle for 0.5 s, or
 * associations whose peer was quiet for 1 s) a good visit must succeed; the
 * crowd leaves, a good visit must succeed, descriptors must be back.
 */
async function withstands(
  t: Deno.TestContext,
  tool: string,
  args: string[],
  kinds: AttackKind[],
  visit: Omit<Parameters<typeof goodVisit>[0], "port">,
  od?: string,
): Promise<void> {
  const { proc, port } = await underLimit(tool, args);
  try {
    assert.deepEqual(await goodVisit({ ...visit, port }), [], "served before the attacks");
    const before = await openDescriptors(proc.pid);
    for (const kind of kinds) {
      await t.step(`${2 * LIMIT} ${kind}`, async () => {
        const crowd = await Crowd.open(kind, {
          port,
          count: 2 * LIMIT,
          from: SOURCES,
          calledAeTitle: visit.calledAeTitle,
        });
        try {
          await new Promise((r) => setTimeout(r, 1200));
          assert.equal(proc.status, undefined, `${tool} died: ${proc.stderr.slice(-2000)}`);
          assert.ok(crowd.open > 0, "the crowd holds connections");
          assert.deepEqual(await goodVisit({ ...visit, port }), [], `during ${kind}`);
        } finally {
          crowd.close();
        }
        assert.deepEqual(await goodVisit({ ...visit, port }), [], `after ${kind}`);
        // At most as many as before: the runtime may close one of its own lazily
        // opened descriptors meanwhile (seen: 25 after, 26 before); a leak is more.
        const after = await descriptorsBackTo(proc.pid, before);
        assert.ok(after <= before, `descriptors after ${kind}: ${after}, before: ${before}`);
        if (od) {
          const parts = (await listDir(od)).filter((f) => f.endsWith(".part"));
          assert.deepEqual(parts, [], `partial files after ${kind}`);
        }
      });
    }
  } finally {
    const status = await proc.stop();
    assert.equal(status.code, 0, proc.stderr.slice(-2000));
  }
  // Refusals are logged once per burst, not once per connection.
  const overload = proc.stderr.split("\n").filter((l) => /^W: Over capacity: /.test(l));
  assert.ok(overload.length >= 1 && overload.length <= kinds.length, proc.stderr.slice(-3000));
}

Deno.test("storescp under a limit of 256 open files: 512 idle, half-associated, half-stored connections; stalled TLS handshakes", async (t) => {
  const pki = await sharedTestPki();
  await withTempDir("resources_storescp_", async (dir) => {
    const od = `${dir}/od`;
    await Deno.mkdir(od);
    const file = `${dir}/in.dcm`;
    await writeImageFile(file, { rows: 16, cols: 16 });
    const visit = { calledAeTitle: "STORESCP", file };
    await withstands(
      t,
      "storescp",
      ["+uf", "-od", od],
      [
        "idle",
        "half-associate",
        "half-store",
      ],
      visit,
      od,
    );
    await withstands(t, "storescp", ["+uf", "-od", od, ...tlsArgs(pki, pki.server)], [
      "tls-stall",
      "idle",
    ], {
      ...visit,
      tls: { keyFile: pki.client.key, certFile: pki.client.cert, trustedFiles: [pki.ca] },
    }, od);
  });
});

Deno.test("echoscp under a limit of 256 open files: 512 idle, half-associated, silent associated connections; stalled TLS handshakes", async (t) => {
  const pki = await sharedTestPki();
  const visit = { calledAeTitle: "ECHOSCP" };
  await withstands(t, "echoscp", [], ["idle", "half-associate", "silent-associated"], visit);
  await withstands(t, "echoscp", tlsArgs(pki, pki.server), ["tls-stall"], {
    ...visit,
    tls: { keyFile: pki.client.key, certFile: pki.client.cert, trustedFiles: [pki.ca] },
  });
});

Deno.test("echoscp under a limit of 1,400 open files: the caps of its first count widen when a crowd meets one, counting what the crowd holds as free", async () => {
  // Without --allow-all the server probes: at start only as far as its default caps need.
  const { proc, port } = await underLimit("echoscp", ["-d"], 1400);
  const conns: Deno.Conn[] = [];
  const caps = () => proc.stderrLines().filter((l) => l.includes("Connection limits: "));
  try {
    const start = /(\d+) per peer address \(at least (\d+) files free, from probe\)/.exec(
      caps()[0],
    );
    assert.ok(start, caps().join("\n"));
    // One connection more than one address may hold under the first caps.
    while (conns.length <= Number(start[1])) {
      conns.push(await Deno.connect({ hostname: HOST, port }));
    }
    await proc.waitFor(() => caps().length === 2);
    const wider = /\((\d+) files free, from probe\)/.exec(caps()[1]);
    // The fuller count ran while the crowd held some 190 descriptors; without them it would
    // say some 1,190 and the caps would shrink below those the crowd met.
    assert.ok(wider && Number(wider[1]) > 1400 - 100, caps().join("\n"));
    assert.equal(proc.stderrLines().filter((l) => /Over capacity/.test(l)).length, 0);
  } finally {
    for (const c of conns) c.close();
    const status = await proc.stop();
    assert.equal(status.code, 0, proc.stderr.slice(-2000));
  }
});

Deno.test("memory: 2,000 half-started stores keep storescp within its documented total, and leave nothing behind", async () => {
  await atLeastOpenFiles(2_600);
  await withTempDir("resources_memory_", async (od) => {
    const proc = new Background("prlimit", [
      "--nofile=8192:8192",
      Deno.execPath(),
      ...toolArgv("storescp"),
      "--json",
      "--bind",
      HOST,
      "-od",
      od,
      "--max-associations",
      "2000",
      "0",
    ]);
    try {
      const port = Number((await proc.waitForEvent((e) => e.type === "listening", 30_000)).port);
      assert.deepEqual(await goodVisit({ port, calledAeTitle: "STORESCP" }), []);
      const before = await sampleProcess(proc.pid);
      const crowd = await Crowd.open("half-store", {
        port,
        count: 2000,
        from: loopbackSources(20),
        parallel: 100,
        calledAeTitle: "STORESCP",
      });
      try {
        assert.equal(crowd.associated, 2000, `${crowd.failed} not associated`);
        await proc.waitFor(() =>
          proc.events().filter((e) => e.type === "association-accepted").length >= 2001
        );
        // An association is accepted before its C-STORE's first fragment is read and its
        // .part created: wait (bounded) until every store is under way, then measure.
        const parts = async () => (await listDir(od)).filter((f) => f.endsWith(".part")).length;
        for (let i = 0; i < 300 && await parts() < 2000; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const during = await sampleProcess(proc.pid);
        const grownMiB = (during.rssKb - before.rssKb) / 1024;
        // README, "Memory": the shared pools (32 MiB of write batches, 32 MiB of large read
        // buffers) and under 100 KiB per connection held.
        const documentedMiB = 64 + (2000 * 100) / 1024;
        assert.ok(
          grownMiB < documentedMiB,
          `2,000 half-started stores: RSS grew ${grownMiB.toFixed(0)} MiB (documented: ` +
            `under ${documentedMiB.toFixed(0)} MiB)`,
        );
        assert.equal(await parts(), 2000);
      } finally {
        crowd.close();
      }
      const fds = await descriptorsBackTo(proc.pid, before.fds);
      assert.ok(fds <= before.fds, `descriptors after the crowd: ${fds}, before: ${before.fds}`);
      assert.deepEqual(await listDir(od), [], "every .part removed once the attackers left");
    } finally {
      const status = await proc.stop();
      assert.equal(status.code, 0, proc.stderr.slice(-2000));
    }
  });
});

/**
 * Makes sure this process may open `n` files: raises its limit with prlimit
 * when it is lower (as root, which CI is); fails with the command to run if
 * that is not allowed.
 */
async function atLeastOpenFiles(n: number): Promise<void> {
  const limit = async () =>
    Number(
      new TextDecoder().decode(
        (await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" }).output())
          .stdout,
      ),
    );
  if (await limit() >= n) return;
  await new Deno.Command("prlimit", { args: ["--pid", String(Deno.pid), `--nofile=${n}:${n}`] })
    .output();
  assert.ok(await limit() >= n, `this test opens ${n} connections: run 'ulimit -n ${n}' first`);
}
