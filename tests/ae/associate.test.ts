/**
 * The service layer as a program uses it: associate() and serve() with
 * composed services, typed errors, a multi-response service through the
 * generic path (a C-FIND-like one, with C-CANCEL by AbortSignal), role
 * selection negotiated on both sides, and files stored through fileStore.
 */
import assert from "node:assert/strict";
import {
  associate,
  AssociationRejected,
  ConnectFailed,
  DimseError,
  DimseTimeout,
  fileStore,
  multiResponse,
  NoPresentationContext,
  serve,
  singleResponse,
  storage,
  storageContextsFor,
  verification,
} from "../../mod.ts";
import { negotiatedRoles } from "../../lib/ae/negotiation.ts";
import { QUERY_RETRIEVE_SOP_CLASSES } from "../../lib/dicom/uids.ts";
import type { CFindRq } from "../../lib/dimse/messages.ts";
import { MR_IMAGE_STORAGE, readPart10, writeImageFile } from "../../testing/dicom_files.ts";
import { freePort } from "../../testing/procs.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const FIND = QUERY_RETRIEVE_SOP_CLASSES.studyRoot.find;
const LE = "1.2.840.10008.1.2.1";

/** A test-only C-FIND-like service: three matches, then success; 0xFE00 once cancelled. */
function findService() {
  return multiResponse<CFindRq>({
    name: "find",
    commands: ["C-FIND-RQ"],
    abstractSyntaxes: [FIND],
    transferSyntaxes: (uid) => uid === FIND ? [LE] : undefined,
    failureStatus: 0xc000,
    handler: async function* (ctx) {
      for (let i = 0; i < 3; i++) {
        if (ctx.signal.aborted) return { status: 0xfe00 };
        yield {
          status: 0xff00,
          dataset: new Uint8Array([0x08, 0x00, 0x50, 0x00, 2, 0, 0, 0, 0x31 + i, 0x20]),
        };
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  });
}

Deno.test("echo from code: associate, echo, release; the association is named CALLING->CALLED(n)", async () => {
  await using server = await serve({
    aeTitle: "ANY-SCP",
    hostname: "127.0.0.1",
    port: 0,
    services: [verification()],
  });
  await using assoc = await associate(`ANY-SCP@127.0.0.1:${server.local.port}`, {
    callingAeTitle: "ME",
  });
  assert.equal((await assoc.echo()).status, 0);
  assert.match(assoc.name, /^ME->ANY-SCP\(\d+\)$/);
  assert.equal(assoc.open, true);
  await assoc.release();
  assert.equal(assoc.open, false);
});

Deno.test("typed errors: ConnectFailed with its cause, AssociationRejected with result/source/reason, NoPresentationContext", async () => {
  const port = freePort();
  const refused = await associate(`X@127.0.0.1:${port}`).catch((e) => e);
  assert.ok(refused instanceof ConnectFailed, String(refused));
  assert.equal((refused.cause as { code: string }).code, "refused");

  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [verification()],
    acceptCallingAeTitles: ["FRIEND"],
  });
  const at = `ANY@127.0.0.1:${server.local.port}`;
  const rejected = await associate(at, { callingAeTitle: "STRANGER" }).catch((e) => e);
  assert.ok(rejected instanceof AssociationRejected, String(rejected));
  assert.deepEqual([rejected.result, rejected.source, rejected.reason], [1, 1, 3]);

  const none = await associate(at, {
    callingAeTitle: "FRIEND",
    abstractSyntaxes: [MR_IMAGE_STORAGE],
  })
    .catch((e) => e);
  assert.ok(none instanceof NoPresentationContext, String(none));
  assert.equal(none.ac.presentationContexts[0].result, 3);
});

Deno.test("multi-response through the generic path: pending matches then the final response; C-CANCEL by AbortSignal", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0, services: [findService()] });
  await using assoc = await associate(`QR@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [FIND],
  });
  const ctx = assoc.contextFor(FIND)!;
  const rq = (messageId: number): CFindRq => ({
    type: "C-FIND-RQ",
    messageId,
    affectedSopClassUid: FIND,
    priority: 0,
  });
  const identifier = new Uint8Array([
    0x08,
    0x00,
    0x52,
    0x00,
    6,
    0,
    0,
    0,
    ...new TextEncoder().encode("STUDY "),
  ]);
  const all = [];
  for await (const r of assoc.request(ctx.id, rq(assoc.nextMessageId()), identifier)) all.push(r);
  assert.deepEqual(all.map((r) => (r.message as { status: number }).status), [
    0xff00,
    0xff00,
    0xff00,
    0,
  ]);
  assert.deepEqual([...all[1].dataset!].slice(-2), [0x32, 0x20]);

  const stop = new AbortController();
  const statuses: number[] = [];
  for await (
    const r of assoc.request(ctx.id, rq(assoc.nextMessageId()), identifier, { signal: stop.signal })
  ) {
    statuses.push((r.message as { status: number }).status);
    stop.abort();
  }
  assert.equal(statuses[0], 0xff00);
  assert.equal(statuses.at(-1), 0xfe00, `cancelled: ${statuses.map((s) => s.toString(16))}`);
  assert.equal((await assoc.echo().catch((e) => e)).constructor, NoPresentationContext);
});

Deno.test("role selection: the acceptor answers each item, granting the SCP role only where it can act as SCU", async () => {
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [verification(), findService()],
  });
  await using assoc = await associate(`QR@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [FIND],
    roles: [{ sopClassUid: FIND, scuRole: true, scpRole: true }],
  });
  assert.deepEqual(assoc.ac.userInformation.roleSelections, [
    { sopClassUid: FIND, scuRole: true, scpRole: false },
  ]);
  assert.deepEqual(negotiatedRoles(assoc.rq, assoc.ac, FIND), {
    requestorScu: true,
    requestorScp: false,
  });
});

Deno.test("a handler's DimseError becomes the response status; a silent handler is a DimseTimeout and the association is aborted", async () => {
  const refusing = storage({
    store: () => {
      throw new DimseError(0xa700, "disk full");
    },
  });
  const silent = singleResponse({
    name: "silent",
    commands: ["C-ECHO-RQ"],
    abstractSyntaxes: ["1.2.840.10008.1.1"],
    transferSyntaxes: () => [LE],
    failureStatus: 0x0110,
    handler: () => new Promise<number>(() => {}),
  });
  await withTempDir("ae_", async (dir) => {
    const file = `${dir}/mr.dcm`;
    await writeImageFile(file, { rows: 8, cols: 8 });
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      services: [refusing, silent],
    });
    await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
      contexts: [...await storageContextsFor([file]), {
        abstractSyntax: "1.2.840.10008.1.1",
        transferSyntaxes: [LE],
      }],
    });
    const rsp = await assoc.store(file);
    assert.equal(rsp.status, 0xa700);
    assert.equal(rsp.errorComment, "disk full");
    const timedOut = await assoc.echo({ timeoutMs: 200 }).catch((e) => e);
    assert.ok(timedOut instanceof DimseTimeout, String(timedOut));
    assert.equal(assoc.open, false);
  });
});

Deno.test("fileStore: a file sent with store(path) is stored whole as Part 10, its data set byte for byte", async () => {
  await withTempDir("ae_", async (dir) => {
    const file = `${dir}/in.dcm`;
    await writeImageFile(file, { rows: 64, cols: 64, sopInstanceUid: "1.2.3.4.5" });
    const out = `${dir}/out`;
    await Deno.mkdir(out);
    const stored: string[] = [];
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      services: [storage({ store: fileStore({ dir: out, onStored: (p) => stored.push(p) }) })],
    });
    {
      await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
        contexts: await storageContextsFor([file]),
        maxPdu: 4096,
      });
      assert.equal((await assoc.store(file)).status, 0);
    }
    assert.deepEqual(stored, [`${out}/MR.1.2.3.4.5.dcm`]);
    const [sent, got] = [await readPart10(file), await readPart10(stored[0])];
    assert.deepEqual(got.raw, sent.raw);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["MR.1.2.3.4.5.dcm"]);
  });
});
