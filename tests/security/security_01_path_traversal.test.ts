/**
 * docs/SECURITY_CLASSES.md #1: path traversal through peer-supplied identifiers
 * used in file names. The whole class against storescp's handler over real
 * loopback TCP, sent by a raw peer so that any bytes reach it: every UID
 * shape of the table as SOP Instance UID in the command, in the data set,
 * and as Study Instance UID, with command and data set UIDs that differ,
 * under every naming and sorting option storescp has (-uf, +uf, -fe, -su
 * with and without prefix, all together), then once through the CLI.
 *
 * Already covered elsewhere (not repeated here): storescp_safety.test.ts
 * sends seven bad command UIDs through our own SCU (default naming only),
 * a 65-character command UID, four bad study UIDs with -su, one data set
 * UID that differs; storescp_cli.test.ts refuses -fe/-su values with path
 * separators. What this file adds: `.`, empty, NUL-padded and NUL inside,
 * non-ASCII, 65 characters in the data set, every place x every naming
 * option, the log line of each refusal, and a listing of the whole tree
 * after each input.
 */
import assert from "node:assert/strict";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE } from "../../lib/dicom/uids.ts";
import {
  assertAbort,
  assertNextServed,
  associated,
  commandPdv,
  commandSet,
  cStoreRq,
  cStoreRqElements,
  dataPdv,
  MR,
  mrDataset,
  pdata,
  type RawPeer,
  type ReadOutcome,
  type ScpSetup,
  text,
  utf8,
  withScp,
} from "../../testing/bad_peer.ts";
import type { CommandSet } from "../../lib/dimse/command.ts";
import { show, withTool } from "../../testing/procs.ts";
import { listDir } from "../../testing/temp_files.ts";

/** The UID shapes of the class, as the bytes of a UI value. */
const BAD_UIDS: [name: string, value: Uint8Array][] = [
  ["../../x", text("../../x")],
  ["/abs/x", text("/abs/x")],
  ["..", text("..")],
  [".", text(".")],
  ["1.2/3", text("1.2/3")],
  ["1.2\\3", text("1.2\\3")],
  ["NUL inside", text("1.2\u00003")],
  ["65 characters", text(`1.${"2".repeat(63)}`)],
  ["non-ASCII", utf8("1.2.\u00e9")],
  ["../ then NUL padding", text("../x\u0000\u0000")],
];
/** An empty value: the element present with length 0. */
const EMPTY = new Uint8Array(0);

/** A valid UID as a lax decoder might mangle it: NUL padding beyond one byte, space padding. */
const PADDINGS: [name: string, pad: (uid: string) => Uint8Array][] = [
  ["NUL-padded", (uid) => text(`${uid}\u0000\u0000\u0000`)],
  ["space-padded", (uid) => text(`${uid} `)],
];

interface Naming {
  name: string;
  store: ScpSetup["store"];
  /** The stored path (relative to the root) for SOP instance `uid` of study `study`. */
  path: (uid: string, study: string) => RegExp;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const NAMINGS: Naming[] = [
  { name: "-uf (default)", store: {}, path: (u) => new RegExp(`^od/MR\\.${esc(u)}$`) },
  {
    name: "+uf",
    store: { uniqueFilenames: true },
    path: () => /^od\/MR\.X\.[0-9.]+$/,
  },
  {
    name: "-fe .dcm",
    store: { extension: ".dcm" },
    path: (u) => new RegExp(`^od/MR\\.${esc(u)}\\.dcm$`),
  },
  {
    name: "-su st",
    store: { sortStudyPrefix: "st" },
    path: (u, s) => new RegExp(`^od/st_${esc(s)}/MR\\.${esc(u)}$`),
  },
  {
    name: "-su '' (no prefix)",
    store: { sortStudyPrefix: "" },
    path: (u, s) => new RegExp(`^od/${esc(s)}/MR\\.${esc(u)}$`),
  },
  {
    name: "-su .. +uf -fe .x",
    store: { sortStudyPrefix: "..", uniqueFilenames: true, extension: ".x" },
    path: (_, s) => new RegExp(`^od/\\.\\._${esc(s)}/MR\\.X\\.[0-9.]+\\.x$`),
  },
];

const STUDY = "1.2.826.0.1.3680043.2.1125.7";
const isStatus = (r: unknown): r is { contextId: number; command: CommandSet } =>
  typeof r === "object" && r !== null && "command" in r;

/**
 * One C-STORE from a raw peer; the response's command set, or what came
 * instead. `command` is the command set's bytes.
 */
async function storeRaw(
  peer: RawPeer,
  contextId: number,
  command: Uint8Array,
  dataset: Uint8Array,
): Promise<{ contextId: number; command: CommandSet } | ReadOutcome> {
  await peer.write(pdata(commandPdv(contextId, command)));
  await peer.write(pdata(dataPdv(contextId, dataset)));
  return await peer.response();
}

Deno.test("class 1: peer UIDs in file names never leave -od, whatever the naming option", async (t) => {
  let uidCounter = 0;
  const fresh = () => `1.2.826.0.1.3680043.2.1125.1.${++uidCounter}`;
  for (const naming of NAMINGS) {
    await t.step(naming.name, async (t) => {
      await withScp({ store: naming.store }, async (scp) => {
        const sorting = naming.store?.sortStudyPrefix !== undefined;
        let peer: RawPeer | undefined;
        let messageId = 0;
        const expected: RegExp[] = [];
        /** Sends one store on a live association (a new one after an abort); checks the tree. */
        const send = async (command: Uint8Array, dataset: Uint8Array, stores?: RegExp) => {
          if (!peer) peer = (await associated(scp.port, { contexts: [[MR, ELE]] })).peer;
          const got = await storeRaw(peer, 1, command, dataset);
          if (!isStatus(got)) {
            peer.close();
            peer = undefined;
          }
          if (stores) expected.push(stores);
          const files = await scp.files();
          assert.equal(files.length, expected.length, `files: ${files.join(", ")}`);
          for (const re of expected) assert.ok(files.some((f) => re.test(f)), `${re} in ${files}`);
          return got;
        };
        const refused = (
          got: unknown,
          status: number,
          offending: number,
          line: RegExp,
          mark: number,
        ) => {
          assert.ok(isStatus(got), `a C-STORE-RSP, got ${JSON.stringify(got)}`);
          assert.equal(got.command.Status, status);
          assert.deepEqual(got.command.OffendingElement, [offending]);
          const lines = scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
          assert.equal(lines.length, 1, lines.join("\n"));
          assert.match(lines[0], line);
        };
        const stored = (got: unknown, uid: string) => {
          assert.ok(isStatus(got), `a C-STORE-RSP, got ${JSON.stringify(got)}`);
          assert.equal(got.command.Status, 0, JSON.stringify(got.command));
          assert.equal(got.command.AffectedSOPInstanceUID, uid);
        };

        for (const [name, value] of [...BAD_UIDS, ["empty", EMPTY] as [string, Uint8Array]]) {
          await t.step(`command SOP Instance UID ${name}`, async () => {
            const mark = scp.mark();
            const command = commandSet(cStoreRqElements(value, { messageId: ++messageId }));
            const got = await send(command, mrDataset({ sopInstance: value, study: STUDY }));
            if (name === "65 characters" || name === "empty") {
              // Not a C-STORE-RQ at all (a UI over 64 characters, a Type 1 element empty,
              // PS3.7 9.3.1.1): the command set is refused and the association aborted.
              assertAbort(got, 0, 0, name);
              const lines = scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l));
              assert.equal(lines.length, 1, lines.join("\n"));
              assert.match(lines[0], /^E: Protocol error: .*\(0000,1000\)/);
            } else {
              refused(
                got,
                0xc000,
                0x00001000,
                /^E: Store SCP: SOP instance UID ".*" is not a UID: refusing with 0xC000/,
                mark,
              );
              assert.equal(got && isStatus(got) && got.command.AffectedSOPInstanceUID, undefined);
            }
          });
          await t.step(`data set SOP Instance UID ${name}, the command's valid`, async () => {
            const mark = scp.mark();
            const uid = fresh();
            const got = await send(
              cStoreRq(uid, ++messageId),
              mrDataset({ sopInstance: value, study: STUDY }),
            );
            if (name === "empty") {
              refused(
                got,
                0xc000,
                0x00080018,
                /^E: Store SCP: data set without SOP class or instance UID/,
                mark,
              );
            } else {
              refused(
                got,
                0xa900,
                0x00080018,
                /^E: Store SCP: data set SOP instance .* differs from the request's: refusing with 0xA900/,
                mark,
              );
            }
          });
          if (sorting) {
            await t.step(`Study Instance UID ${name}`, async () => {
              const mark = scp.mark();
              const uid = fresh();
              const got = await send(
                cStoreRq(uid, ++messageId),
                mrDataset({ sopInstance: uid, study: value }),
              );
              refused(
                got,
                0xc000,
                0x0020000d,
                name === "empty"
                  ? /^E: Store SCP: element StudyInstanceUID \(0020,000d\) absent or empty in data set/
                  : /^E: Store SCP: Study Instance UID ".*" is not a UID: refusing with 0xC000/,
                mark,
              );
            });
          }
        }
        await t.step("the same bad UID in command and data set", async () => {
          const mark = scp.mark();
          const got = await send(
            commandSet(cStoreRqElements(text("../../x"), { messageId: ++messageId })),
            mrDataset({ sopInstance: "../../x", study: STUDY }),
          );
          refused(got, 0xc000, 0x00001000, /is not a UID/, mark);
        });
        await t.step("command and data set UIDs both valid but different", async () => {
          const mark = scp.mark();
          const got = await send(
            cStoreRq(fresh(), ++messageId),
            mrDataset({ sopInstance: fresh(), study: STUDY }),
          );
          refused(got, 0xa900, 0x00080018, /differs from the request's/, mark);
        });
        for (const [name, pad] of PADDINGS) {
          await t.step(`a valid UID ${name} is stored under the UID itself`, async () => {
            const uid = fresh();
            const study = sorting ? fresh() : STUDY;
            const mark = scp.mark();
            const got = await send(
              commandSet(cStoreRqElements(pad(uid), { messageId: ++messageId })),
              mrDataset({ sopInstance: pad(uid), study: pad(study) }),
              naming.path(uid, study),
            );
            stored(got, uid);
            assert.deepEqual(scp.linesSince(mark).filter((l) => /^[WEF]: /.test(l)), []);
          });
        }
        // Whatever was refused, the only files are the stored ones (checked after each step).
        assert.deepEqual((await scp.files()).filter((f) => f.endsWith(".part")), []);
        if (peer) await peer.release();
        await assertNextServed(scp, naming.name);
      });
    });
  }
});

Deno.test("class 1: the storescp CLI with -su, +uf and -fe keeps traversal UIDs out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dimse_security_cli_" });
  const od = `${dir}/od`;
  await Deno.mkdir(od);
  try {
    const scp = await withTool(
      "storescp",
      ["-v", "-od", od, "-su", "st", "+uf", "-fe", ".dcm"],
      async (port, proc) => {
        const { peer } = await associated(port, { contexts: [[MR, ELE]] });
        const cases: [Uint8Array, Uint8Array, number][] = [
          [text("../../x"), text(STUDY), 0xc000],
          [text("1.2.3"), text("../../st"), 0xc000],
          [text("1.2.3"), text(".."), 0xc000],
          [text("/abs/x"), text("/abs/y"), 0xc000],
        ];
        let id = 0;
        for (const [uid, study, status] of cases) {
          const got = await storeRaw(
            peer,
            1,
            commandSet(cStoreRqElements(uid, { messageId: ++id })),
            mrDataset({ sopInstance: uid, study }),
          );
          assert.ok(isStatus(got), JSON.stringify(got));
          assert.equal(got.command.Status, status);
        }
        await peer.release();
        assert.deepEqual(await listDir(dir, true), []);
        await proc.waitFor((b) =>
          b.stderrLines().filter((l) => /^E: Store SCP: /.test(l)).length === 4
        );
      },
    );
    assert.equal(scp.code, 0, show(scp));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
