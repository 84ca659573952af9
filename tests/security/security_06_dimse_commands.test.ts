/**
 * docs/SECURITY_CLASSES.md #6: malformed DIMSE command sets, sent over a real
 * association to the server (C-ECHO and C-STORE handlers): mandatory
 * elements missing, a US of 3 bytes and a UL of 2, the group length wrong
 * either way, unknown command fields, a data set announced and never sent
 * (and the reverse), data before any command, PDVs on a context never
 * proposed, an even one, one rejected, and fragments of two messages
 * interleaved. The server answers none of them (no response can be built
 * for a command it cannot read; DCMTK's storescp does the same): it logs
 * one `E: Protocol error: ...` line naming the fault, aborts (A-ABORT,
 * service-user, PS3.8 9.3.8), writes nothing, and serves the next peer.
 *
 * Already covered elsewhere: dimse_command.test.ts (the codec: wrong
 * lengths, group length, truncation, random corruption),
 * dimse_messages.test.ts (each mandatory element removed, unknown field,
 * data set type contradicting the message), dimse_fragment.test.ts (the
 * sequence rules of reassembly), storescp_safety.test.ts (a data fragment
 * on another context than its command, a 65-character UID). This file
 * checks that each reaches the server as one abort, one line, and no harm.
 */
import assert from "node:assert/strict";
import { EXPLICIT_VR_LITTLE_ENDIAN as ELE, VERIFICATION_SOP_CLASS } from "../../lib/dicom/uids.ts";
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
  type ScpUnderTest,
  text,
  until,
  us,
  withScp,
} from "../../testing/bad_peer.ts";

const UNKNOWN_CLASS = "1.2.826.0.1.3680043.2.1125.6.9";
/** Contexts of every association here: 1 Verification, 3 MR (both accepted), 5 rejected. */
const CONTEXTS: [string, string][] = [[VERIFICATION_SOP_CLASS, ELE], [MR, ELE], [
  UNKNOWN_CLASS,
  ELE,
]];

/** The elements of a C-ECHO-RQ (PS3.7 9.3.5.1). */
function echoElements(): [number, Uint8Array][] {
  return [
    [0x00000002, text(VERIFICATION_SOP_CLASS)],
    [0x00000100, us(0x0030)],
    [0x00000110, us(1)],
    [0x00000800, us(0x0101)],
  ];
}

const without = (elements: [number, Uint8Array][], tag: number) =>
  elements.filter(([t]) => t !== tag);
const replaced = (elements: [number, Uint8Array][], tag: number, value: Uint8Array) =>
  elements.map(([t, v]): [number, Uint8Array] => [t, t === tag ? value : v]);

const UID = "1.2.826.0.1.3680043.2.1125.6.1";
const DATA = mrDataset({ sopInstance: UID });
const echo = (elements = echoElements(), groupLength?: number) =>
  pdata(commandPdv(1, commandSet(elements, groupLength)));
const store = (elements: [number, Uint8Array][]) => pdata(commandPdv(3, commandSet(elements)));

interface Case {
  name: string;
  /** Written one after the other once associated. */
  send: Uint8Array[];
  /** The log line's text after `E: Protocol error: ` (or the whole line, starting with E:). */
  line: RegExp;
}

const CASES: Case[] = [
  {
    name: "C-ECHO-RQ without (0000,0002) AffectedSOPClassUID",
    send: [echo(without(echoElements(), 0x00000002))],
    line: /^E: Protocol error: C-ECHO-RQ without \(0000,0002\) AffectedSOPClassUID$/,
  },
  {
    name: "C-ECHO-RQ without (0000,0110) MessageID",
    send: [echo(without(echoElements(), 0x00000110))],
    line: /^E: Protocol error: C-ECHO-RQ without \(0000,0110\) MessageID$/,
  },
  {
    name: "command set without (0000,0100) CommandField",
    send: [echo(without(echoElements(), 0x00000100))],
    line: /^E: Protocol error: command set without \(0000,0100\) CommandField$/,
  },
  {
    name: "command set without (0000,0800) CommandDataSetType",
    send: [echo(without(echoElements(), 0x00000800))],
    line: /^E: Protocol error: command set without \(0000,0800\) CommandDataSetType/,
  },
  {
    name: "C-STORE-RQ without (0000,1000) AffectedSOPInstanceUID",
    send: [store(without(cStoreRqElements(text(UID)), 0x00001000)), pdata(dataPdv(3, DATA))],
    line: /^E: Protocol error: C-STORE-RQ without \(0000,1000\) AffectedSOPInstanceUID$/,
  },
  {
    name: "C-STORE-RQ without (0000,0700) Priority",
    send: [store(without(cStoreRqElements(text(UID)), 0x00000700)), pdata(dataPdv(3, DATA))],
    line: /^E: Protocol error: C-STORE-RQ without \(0000,0700\) Priority$/,
  },
  {
    name: "MessageID, a US, of 3 bytes",
    send: [echo(replaced(echoElements(), 0x00000110, new Uint8Array([1, 0, 0])))],
    line: /^E: Protocol error: .*\(0000,0110\).*3/,
  },
  {
    name: "CommandField, a US, of 4 bytes",
    send: [echo(replaced(echoElements(), 0x00000100, new Uint8Array([0x30, 0, 0, 0])))],
    line: /^E: Protocol error: .*\(0000,0100\).*4/,
  },
  {
    name: "group length 2 short",
    send: [echo(echoElements(), commandSet(echoElements()).length - 12 - 2)],
    line: /^E: Protocol error: CommandGroupLength says \d+ bytes, 56 follow$/,
  },
  {
    name: "group length 2 long",
    send: [echo(echoElements(), commandSet(echoElements()).length - 12 + 2)],
    line: /^E: Protocol error: CommandGroupLength says \d+ bytes, 56 follow$/,
  },
  {
    name: "group length 0xFFFFFFFF",
    send: [echo(echoElements(), 0xffffffff)],
    line: /^E: Protocol error: CommandGroupLength says \d+ bytes, 56 follow$/,
  },
  ...[0x0130, 0x7777].map((field) => ({
    name: `unknown command field 0x${field.toString(16)}`,
    send: [echo(replaced(echoElements(), 0x00000100, us(field)))],
    line: new RegExp(
      `^E: Protocol error: unsupported CommandField 0x${
        field.toString(16).toUpperCase().padStart(4, "0")
      }$`,
    ),
  })),
  {
    name: "a response (C-ECHO-RSP) where a request belongs",
    send: [echo([
      [0x00000002, text(VERIFICATION_SOP_CLASS)],
      [0x00000100, us(0x8030)],
      [0x00000120, us(1)],
      [0x00000800, us(0x0101)],
      [0x00000900, us(0)],
    ])],
    line: /^I: Cannot handle C-ECHO-RSP$/,
  },
  {
    name: "C-ECHO-RQ announcing a data set (none may follow)",
    send: [echo(replaced(echoElements(), 0x00000800, us(0x0000)))],
    line: /^E: Protocol error: .*C-ECHO-RQ.*(0000,0800)|^E: Protocol error: .*data set/,
  },
  {
    name: "C-STORE-RQ announcing no data set",
    send: [store(replaced(cStoreRqElements(text(UID)), 0x00000800, us(0x0101)))],
    line: /^E: Protocol error: .*C-STORE-RQ.*(0000,0800)|^E: Protocol error: .*data set/,
  },
  {
    name: "C-STORE-RQ whose data set never comes (-td 1 s)",
    send: [pdata(commandPdv(3, cStoreRq(UID)))],
    line: /^E: DIMSE timeout: data set incomplete after 1 s$/,
  },
  {
    name: "data after a C-ECHO-RQ that announced none",
    send: [echo(), pdata(dataPdv(1, new Uint8Array(8)))],
    line: /^E: Protocol error: data PDV on context 1 but the command said no data set follows$/,
  },
  {
    name: "data before any command",
    send: [pdata(dataPdv(3, DATA))],
    line: /^E: Protocol error: data PDV on context 3 before any command$/,
  },
  ...[7, 2, 255].map((id) => ({
    name: `a C-ECHO-RQ on context ${id}, never proposed`,
    send: [pdata(commandPdv(id, commandSet(echoElements())))],
    line: new RegExp(
      `^E: Received C-ECHO-RQ on presentation context ${id}, which was not accepted$`,
    ),
  })),
  {
    name: "a C-STORE-RQ and its data on context 5, proposed but rejected",
    send: [
      pdata(commandPdv(5, cStoreRq(UID, 1, UNKNOWN_CLASS))),
      pdata(dataPdv(5, mrDataset({ sopInstance: UID, sopClass: UNKNOWN_CLASS }))),
    ],
    line: /^E: Received C-STORE-RQ on presentation context 5, which was not accepted$/,
  },
  {
    name: "command fragments of two messages interleaved",
    send: [
      pdata({
        contextId: 1,
        command: true,
        last: false,
        data: commandSet(echoElements()).subarray(0, 12),
      }),
      pdata(commandPdv(3, cStoreRq(UID))),
    ],
    line: /^E: Protocol error: command fragment on context 3, previous fragments on context 1$/,
  },
  {
    name: "a command between the data fragments of a C-STORE",
    send: [
      pdata(commandPdv(3, cStoreRq(UID))),
      pdata(dataPdv(3, DATA.subarray(0, 32), false)),
      echo(),
      pdata(dataPdv(3, DATA.subarray(32))),
    ],
    line:
      /^E: Protocol error: command PDV on context 1 while the data set on context 3 is incomplete$/,
  },
  {
    name: "data fragments of two C-STOREs interleaved",
    send: [
      pdata(commandPdv(3, cStoreRq(UID))),
      pdata(dataPdv(3, DATA.subarray(0, 32), false)),
      pdata(dataPdv(1, DATA.subarray(32))),
    ],
    line: /^E: Protocol error: data PDV on context 1, its command was on context 3$/,
  },
];

function lines(scp: ScpUnderTest, mark: number): string[] {
  return scp.linesSince(mark).filter((l) => /^[WEF]: |^I: Cannot handle/.test(l));
}

Deno.test("class 6: malformed command sets: one abort, one line, nothing stored", async (t) => {
  await withScp({ dimseTimeoutMs: 1000 }, async (scp) => {
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const { peer, ac } = await associated(scp.port, { contexts: CONTEXTS });
        assert.deepEqual(ac.presentationContexts.map((p) => p.result), [0, 0, 3]);
        const mark = scp.mark();
        for (const bytes of c.send) await peer.write(bytes);
        assertAbort(await peer.abortOrClose(), 0, 0, c.name);
        await until(() => lines(scp, mark).length > 0, "the log line");
        const got = lines(scp, mark);
        assert.equal(got.length, 1, got.join("\n"));
        assert.match(got[0], c.line);
        assert.ok(scp.linesSince(mark).includes("I: Aborting Association"));
        assert.deepEqual(await scp.files(), []);
      });
    }
    await t.step(
      "a C-STORE-RQ whose data never comes, then A-RELEASE-RQ: released, nothing stored",
      async () => {
        const { peer } = await associated(scp.port, { contexts: CONTEXTS });
        await peer.write(pdata(commandPdv(3, cStoreRq(UID))));
        await peer.release();
        assert.deepEqual(await scp.files(), []);
      },
    );
    await assertNextServed(scp, "class 6");
  });
});
