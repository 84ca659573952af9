/**
 * The Asynchronous Operations Window (PS3.7 D.3.3.3) in the service layer:
 * what each side answers, a requestor keeping up to the granted number of
 * stores outstanding and matching responses by message ID, and serve()
 * running that many stores of one association at once, answered as each
 * finishes.
 */
import assert from "node:assert/strict";
import {
  associate,
  type AssociateAcPdu,
  type CEchoRsp,
  multiResponse,
  ProtocolError,
  serve,
  storage,
  type StoreContext,
  verification,
  VERIFICATION_SOP_CLASS,
} from "../../mod.ts";
import {
  answerAssociateRq,
  answerAsyncWindow,
  buildAssociateRq,
  negotiatedAsyncWindow,
} from "../../lib/ae/negotiation.ts";
import { type CommandHandler, DicomServer, type ServerEvent } from "../../lib/ae/server.ts";
import { QUERY_RETRIEVE_SOP_CLASSES } from "../../lib/dicom/uids.ts";
import type { CEchoRq, CFindRq } from "../../lib/dimse/messages.ts";
import { createMemoryLogger } from "../../lib/log/logger.ts";
import { makeImageFile, MR_IMAGE_STORAGE } from "../../testing/dicom_files.ts";
import { startFakeScp } from "../../testing/fake_scp.ts";

const LE = "1.2.840.10008.1.2.1";

function rq(window?: { maxOperationsInvoked: number; maxOperationsPerformed: number }) {
  return buildAssociateRq({
    aeTitle: "A",
    calledAeTitle: "B",
    maxPdu: 16384,
    presentationContexts: [{ id: 1, abstractSyntax: MR_IMAGE_STORAGE, transferSyntaxes: [LE] }],
    asyncWindow: window,
  });
}

function acWith(window?: { maxOperationsInvoked: number; maxOperationsPerformed: number }) {
  const ac = answerAssociateRq(rq(), {
    aeTitle: "B",
    maxPdu: 16384,
    abstractSyntaxes: new Map([[MR_IMAGE_STORAGE, [LE]]]),
  }) as AssociateAcPdu;
  if (window) ac.userInformation.asynchronousOperationsWindow = window;
  return ac;
}

Deno.test("negotiation: the acceptor grants the lower of the proposal and its own window, omits the item when none was proposed or it grants one", () => {
  const w = (i: number, p: number) => ({ maxOperationsInvoked: i, maxOperationsPerformed: p });
  assert.deepEqual(answerAsyncWindow(rq(w(16, 1)), 8), w(8, 1));
  assert.deepEqual(answerAsyncWindow(rq(w(4, 1)), 8), w(4, 1));
  // 0 proposed is unlimited: our own window then; 0 performed: we invoke one at a time.
  assert.deepEqual(answerAsyncWindow(rq(w(0, 0)), 8), w(8, 1));
  // "If this negotiation is not present in the A-ASSOCIATE indication it shall be omitted."
  assert.equal(answerAsyncWindow(rq(), 8), undefined);
  // Granting one is the default: no item, as DCMTK answers.
  assert.equal(answerAsyncWindow(rq(w(16, 1)), 1), undefined);
  assert.equal(answerAsyncWindow(rq(w(16, 1)), undefined), undefined);
  // Through the whole answer: the AC carries the item only when granted.
  const policy = {
    aeTitle: "B",
    maxPdu: 16384,
    abstractSyntaxes: new Map([[MR_IMAGE_STORAGE, [LE]]]),
    maxOperationsPerformed: 8,
  };
  const ac = answerAssociateRq(rq(w(16, 1)), policy) as AssociateAcPdu;
  assert.deepEqual(ac.userInformation.asynchronousOperationsWindow, w(8, 1));
  const plain = answerAssociateRq(rq(), policy) as AssociateAcPdu;
  assert.equal(plain.userInformation.asynchronousOperationsWindow, undefined);
});

Deno.test("negotiation: the requestor's window is one each unless both sides sent the item; an acceptor's excess is held to the proposal", () => {
  const w = (i: number, p: number) => ({ maxOperationsInvoked: i, maxOperationsPerformed: p });
  assert.deepEqual(negotiatedAsyncWindow(rq(w(8, 1)), acWith()), w(1, 1));
  assert.deepEqual(negotiatedAsyncWindow(rq(), acWith(w(8, 1))), w(1, 1));
  assert.deepEqual(negotiatedAsyncWindow(rq(w(8, 1)), acWith(w(4, 1))), w(4, 1));
  assert.deepEqual(negotiatedAsyncWindow(rq(w(8, 1)), acWith(w(50, 3))), w(8, 1));
  assert.deepEqual(negotiatedAsyncWindow(rq(w(0, 1)), acWith(w(0, 1))), w(0, 1));
});

/** A C-STORE source of a small MR image with `uid`. */
function source(uid: string) {
  return {
    dataset: makeImageFile({ rows: 16, cols: 16, sopInstanceUid: uid, meta: false }),
    transferSyntax: LE,
    sopClassUid: MR_IMAGE_STORAGE,
    sopInstanceUid: uid,
  };
}

Deno.test("serve() grants its window and runs the stores of one association at once: the first is answered only after the second arrived, responses out of order", async () => {
  const arrived: string[] = [];
  let secondArrived!: () => void;
  const second = new Promise<void>((r) => secondArrived = r);
  const store = async (ctx: StoreContext) => {
    for await (const _ of ctx.dataset) { /* read whole */ }
    const uid = ctx.message.affectedSopInstanceUid;
    arrived.push(uid);
    if (uid === "1.2.3.2") secondArrived();
    if (uid === "1.2.3.1") {
      // A server answering one request at a time never gets here with the second: 0xA700.
      const ok = await Promise.race([
        second.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!ok) return 0xa700;
    }
    return 0;
  };
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [storage({ store })],
    asyncWindow: 4,
  });
  await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE],
    asyncWindow: { invoked: 8 },
  });
  assert.deepEqual(assoc.asyncWindow, { maxOperationsInvoked: 4, maxOperationsPerformed: 1 });
  const answered: string[] = [];
  const results = await Promise.all(
    ["1.2.3.1", "1.2.3.2"].map(async (uid) => {
      const rsp = await assoc.store(source(uid));
      answered.push(rsp.affectedSopInstanceUid!);
      return rsp.status;
    }),
  );
  assert.deepEqual(results, [0, 0]);
  assert.deepEqual(arrived, ["1.2.3.1", "1.2.3.2"]);
  assert.deepEqual(answered, ["1.2.3.2", "1.2.3.1"]);
});

Deno.test("without a window on the server (DCMTK's answer) a proposal falls back to one outstanding store: the handler never sees two at once", async () => {
  let inside = 0;
  let most = 0;
  const store = async (ctx: StoreContext) => {
    inside++;
    most = Math.max(most, inside);
    for await (const _ of ctx.dataset) { /* read whole */ }
    await new Promise((r) => setTimeout(r, 20));
    inside--;
  };
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [storage({ store })],
  });
  await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE],
    asyncWindow: { invoked: 8 },
  });
  assert.equal(assoc.ac.userInformation.asynchronousOperationsWindow, undefined);
  assert.deepEqual(assoc.asyncWindow, { maxOperationsInvoked: 1, maxOperationsPerformed: 1 });
  const statuses = await Promise.all(
    ["1.2.4.1", "1.2.4.2", "1.2.4.3"].map(async (uid) => (await assoc.store(source(uid))).status),
  );
  assert.deepEqual(statuses, [0, 0, 0]);
  assert.equal(most, 1);
});

Deno.test("a window of 3 granted keeps at most 3 stores outstanding however many are started", async () => {
  let inside = 0;
  let most = 0;
  const store = async (ctx: StoreContext) => {
    for await (const _ of ctx.dataset) { /* read whole */ }
    inside++;
    most = Math.max(most, inside);
    await new Promise((r) => setTimeout(r, 30));
    inside--;
  };
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [storage({ store })],
    asyncWindow: 3,
  });
  await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE],
    asyncWindow: { invoked: 16 },
  });
  const uids = Array.from({ length: 10 }, (_, i) => `1.2.5.${i + 1}`);
  const statuses = await Promise.all(uids.map(async (u) => (await assoc.store(source(u))).status));
  assert.deepEqual(statuses, uids.map(() => 0));
  assert.equal(most, 3);
});

Deno.test("a peer answering out of order: each response goes to its own request, matched by message ID", async () => {
  const fake = startFakeScp({ kind: "answer-reversed", window: 4, status: 0 });
  try {
    await using assoc = await associate(`S@127.0.0.1:${fake.port}`, {
      abstractSyntaxes: [MR_IMAGE_STORAGE],
      asyncWindow: { invoked: 4 },
    });
    assert.equal(assoc.asyncWindow.maxOperationsInvoked, 4);
    const order: string[] = [];
    const uids = ["1.2.6.1", "1.2.6.2", "1.2.6.3", "1.2.6.4"];
    const rsps = await Promise.all(uids.map(async (u) => {
      const rsp = await assoc.store(source(u));
      order.push(rsp.affectedSopInstanceUid!);
      return rsp;
    }));
    // Each promise got the response for its own instance, whatever the order on the wire.
    assert.deepEqual(rsps.map((r) => r.affectedSopInstanceUid), uids);
    assert.deepEqual(order, [...uids].reverse());
  } finally {
    await fake.close();
  }
});

Deno.test("a response for an unknown message ID: ProtocolError (unknown-message-id) for every waiting store, the association aborted, no crash", async () => {
  const fake = startFakeScp({ kind: "unknown-message-id", window: 4 });
  try {
    const assoc = await associate(`S@127.0.0.1:${fake.port}`, {
      abstractSyntaxes: [MR_IMAGE_STORAGE],
      asyncWindow: { invoked: 4 },
    });
    const results = await Promise.allSettled(
      ["1.2.7.1", "1.2.7.2"].map((u) => assoc.store(source(u))),
    );
    for (const r of results) {
      assert.equal(r.status, "rejected");
      const err = (r as PromiseRejectedResult).reason;
      assert.ok(err instanceof ProtocolError, String(err));
      assert.equal(err.kind, "unknown-message-id");
      assert.match(err.message, /C-STORE-RSP \(message ID 1001, none of ours\)/);
    }
    assert.equal(assoc.open, false);
    // The peer gets an A-ABORT (bounded wait: the PDU is written as the stores fail).
    for (let i = 0; i < 100 && !fake.pduTypes().includes("A-ABORT"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(fake.pduTypes(), ["A-ASSOCIATE-RQ", "A-ABORT"]);
  } finally {
    await fake.close();
  }
});

Deno.test("echoes started while stores stream in a window go out whole between the stores' messages, never inside one (PS3.8 9.3.5)", async () => {
  // A command PDV inside a data set is a protocol error for the server: it would abort.
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [verification(), storage({ store: () => 0 })],
    asyncWindow: 8,
  });
  await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE, VERIFICATION_SOP_CLASS],
    asyncWindow: { invoked: 8 },
  });
  /** A data set streamed in 1 KiB chunks, a turn apart: many PDUs, other sends meanwhile. */
  const streamed = (uid: string) => {
    const whole = source(uid).dataset;
    return {
      ...source(uid),
      dataset: (async function* () {
        for (let at = 0; at < whole.length; at += 1024) {
          await new Promise((r) => setTimeout(r, 0));
          yield whole.subarray(at, at + 1024);
        }
      })(),
    };
  };
  const ops: Promise<number>[] = [];
  for (let i = 1; i <= 3; i++) {
    ops.push(assoc.echo().then((r) => r.status));
    ops.push(assoc.store(streamed(`1.2.8.${i}`)).then((r) => r.status));
    ops.push(assoc.echo().then((r) => r.status));
  }
  assert.deepEqual(await Promise.all(ops), ops.map(() => 0));
  assert.equal(assoc.open, true);
});

Deno.test("a response of another operation's type to our request's message ID: ProtocolError (unexpected-message), the association aborted", async () => {
  // PS3.7 E.1: a C-ECHO-RQ is answered by a C-ECHO-RSP, a C-STORE-RQ by a C-STORE-RSP.
  for (const request of ["echo", "store"] as const) {
    const fake = startFakeScp({ kind: "wrong-response-type" });
    try {
      const assoc = await associate(`S@127.0.0.1:${fake.port}`, {
        abstractSyntaxes: [MR_IMAGE_STORAGE, VERIFICATION_SOP_CLASS],
      });
      const answered = request === "echo" ? assoc.echo() : assoc.store(source("1.2.7.9"));
      const err = await answered.then(() => undefined, (e) => e);
      assert.ok(err instanceof ProtocolError, String(err));
      assert.equal(err.kind, "unexpected-message");
      assert.match(err.message, request === "echo" ? /C-STORE-RSP/ : /C-ECHO-RSP/);
      assert.equal(assoc.open, false);
      for (let i = 0; i < 100 && !fake.pduTypes().includes("A-ABORT"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(fake.pduTypes(), ["A-ASSOCIATE-RQ", "A-ABORT"]);
    } finally {
      await fake.close();
    }
  }
});

Deno.test("asyncWindow values are checked: 16-bit, integers", async () => {
  for (const bad of [-1, 65536, 1.5]) {
    await assert.rejects(
      associate("S@127.0.0.1:1", { asyncWindow: { invoked: bad } }),
      RangeError,
    );
    await assert.rejects(
      serve({ hostname: "127.0.0.1", port: 0, services: [], asyncWindow: bad }),
      RangeError,
    );
  }
  await assert.rejects(
    serve({ hostname: "127.0.0.1", port: 0, services: [], asyncWindow: 0 }),
    RangeError,
  );
});

Deno.test("release() while stores are outstanding waits for their responses, then releases", async () => {
  const store = async (ctx: StoreContext) => {
    for await (const _ of ctx.dataset) { /* read whole */ }
    await new Promise((r) => setTimeout(r, 50));
  };
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [storage({ store })],
    asyncWindow: 4,
  });
  const assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE],
    asyncWindow: { invoked: 4 },
  });
  const stores = ["1.2.8.1", "1.2.8.2"].map((u) => assoc.store(source(u)));
  await assoc.release();
  assert.deepEqual((await Promise.all(stores)).map((r) => r.status), [0, 0]);
  assert.equal(assoc.open, false);
});

Deno.test("an A-RELEASE-RQ with two stores outstanding: serve() sends both responses first (PS3.8 AR-7 in Sta8), then the A-RELEASE-RP", async () => {
  const store = async (ctx: StoreContext) => {
    for await (const _ of ctx.dataset) { /* read whole */ }
    await new Promise((r) => setTimeout(r, 50));
  };
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [storage({ store })],
    asyncWindow: 4,
  });
  const assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE],
    asyncWindow: { invoked: 4 },
  });
  // Below the association's own operations: two requests, then the release request at once.
  const ch = assoc.channel;
  const id = assoc.contexts[0].id;
  for (const [i, uid] of ["1.2.9.1", "1.2.9.2"].entries()) {
    const s = source(uid);
    await ch.send(id, {
      type: "C-STORE-RQ",
      messageId: i + 1,
      affectedSopClassUid: MR_IMAGE_STORAGE,
      affectedSopInstanceUid: uid,
      priority: 0,
    }, s.dataset);
  }
  const released = ch.association.release();
  const seen: string[] = [];
  for (;;) {
    const ev = await ch.receive(5000);
    seen.push(ev.kind === "command" ? ev.message.type : ev.kind);
    if (ev.kind !== "command") break;
  }
  assert.equal(await released, "released");
  assert.deepEqual(seen, ["C-STORE-RSP", "C-STORE-RSP", "released"]);
});

Deno.test("a peer that aborts after its A-RELEASE-RQ while an answer is still due: the association ends as the peer's abort, not as a failure of the server (no A-RELEASE-RP is possible in Sta1)", async () => {
  const logger = createMemoryLogger({ level: "debug" });
  const events: ServerEvent[] = [];
  const echo: CommandHandler = async (message, ctx) => {
    ctx.detach!();
    // Answers once the peer's A-ABORT has ended the association (a bounded wait).
    for (let i = 0; i < 400 && ctx.channel.association.state !== "Sta1"; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(ctx.channel.association.state, "Sta1");
    await ctx.channel.send(ctx.contextId, {
      type: "C-ECHO-RSP",
      messageIdBeingRespondedTo: (message as CEchoRq).messageId,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
      status: 0,
    });
    return 0;
  };
  const server = DicomServer.start({
    hostname: "127.0.0.1",
    port: 0,
    logger,
    policy: {
      aeTitle: "S",
      maxPdu: 16384,
      abstractSyntaxes: new Map([[VERIFICATION_SOP_CLASS, [LE]]]),
      maxOperationsPerformed: 4,
    },
    handlers: { "C-ECHO-RQ": echo },
    acseTimeoutMs: 5_000,
    onEvent: (e) => events.push(e),
  });
  try {
    const assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
      abstractSyntaxes: [VERIFICATION_SOP_CLASS],
      asyncWindow: { invoked: 4 },
    });
    const ch = assoc.channel;
    await ch.send(assoc.contexts[0].id, {
      type: "C-ECHO-RQ",
      messageId: 1,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
    });
    // PS3.8: A-RELEASE-RQ (the server waits for the echo's answer, AR-7), then A-ABORT.
    const released = ch.association.release().catch(() => "refused");
    await ch.association.abort();
    await released;
    for (let i = 0; i < 400 && !events.some((e) => e.event === "association-ended"); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await server.stop();
  }
  const ended = events.filter((e) =>
    e.event === "association-aborted" || e.event === "association-released"
  );
  assert.equal(ended.length, 1, JSON.stringify(events));
  assert.equal(ended[0].event, "association-aborted");
  assert.doesNotMatch((ended[0] as { reason: string }).reason, /not allowed|Sta1/);
  assert.ok(events.some((e) => e.event === "association-ended"), JSON.stringify(events));
  assert.doesNotMatch(logger.sink.text, /failed:/);
});

Deno.test("within a window a C-CANCEL-RQ reaches its own outstanding request: the other one completes, the cancelled one ends 0xFE00", async () => {
  const FIND = QUERY_RETRIEVE_SOP_CLASSES.studyRoot.find;
  const find = multiResponse<CFindRq>({
    name: "find",
    commands: ["C-FIND-RQ"],
    abstractSyntaxes: [FIND],
    transferSyntaxes: (uid) => uid === FIND ? [LE] : undefined,
    failureStatus: 0xc000,
    handler: async function* (ctx) {
      for (let i = 0; i < 5; i++) {
        if (ctx.signal.aborted) return { status: 0xfe00 };
        yield {
          status: 0xff00,
          dataset: new Uint8Array([0x08, 0x00, 0x50, 0x00, 2, 0, 0, 0, 0x31, 0x20]),
        };
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  });
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [find],
    asyncWindow: 2,
  });
  await using assoc = await associate(`QR@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [FIND],
    asyncWindow: { invoked: 2 },
  });
  const id = assoc.contextFor(FIND)!.id;
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
  const run = async (signal?: AbortSignal) => {
    const statuses: number[] = [];
    const rq: CFindRq = {
      type: "C-FIND-RQ",
      messageId: assoc.nextMessageId(),
      affectedSopClassUid: FIND,
      priority: 0,
    };
    for await (const r of assoc.request(id, rq, identifier, { signal })) {
      statuses.push((r.message as { status: number }).status);
    }
    return statuses;
  };
  const stop = new AbortController();
  const [whole, cancelled] = await Promise.all([
    run(),
    run(stop.signal),
    new Promise((r) => setTimeout(r, 30)).then(() => stop.abort()),
  ]);
  assert.deepEqual(whole, [0xff00, 0xff00, 0xff00, 0xff00, 0xff00, 0]);
  assert.equal(cancelled.at(-1), 0xfe00, cancelled.map((s) => s.toString(16)).join());
  assert.ok(cancelled.length < 6);
});

Deno.test("a request reusing the message ID of one still outstanding: the server aborts (protocol error)", async () => {
  const store = async (ctx: StoreContext) => {
    for await (const _ of ctx.dataset) { /* read whole */ }
    await new Promise((r) => setTimeout(r, 100));
  };
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [storage({ store })],
    asyncWindow: 4,
  });
  const assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [MR_IMAGE_STORAGE],
    asyncWindow: { invoked: 4 },
  });
  const ch = assoc.channel;
  for (const uid of ["1.2.10.1", "1.2.10.2"]) {
    await ch.send(assoc.contexts[0].id, {
      type: "C-STORE-RQ",
      messageId: 7,
      affectedSopClassUid: MR_IMAGE_STORAGE,
      affectedSopInstanceUid: uid,
      priority: 0,
    }, source(uid).dataset);
  }
  const ev = await ch.receive(5000);
  assert.equal(ev.kind, "aborted");
  await assoc.abort();
});

Deno.test("a message ID already awaiting its response is refused (RangeError), whether it is the one operation under way or one of several; once answered it may be used again", async () => {
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    services: [verification()],
    asyncWindow: 4,
  });
  await using assoc = await associate(`S@127.0.0.1:${server.local.port}`, {
    abstractSyntaxes: [VERIFICATION_SOP_CLASS],
    asyncWindow: { invoked: 4 },
  });
  assert.equal(assoc.asyncWindow.maxOperationsInvoked, 4);
  // 5 first and alone, then 6 beside it: a second 5 (the first operation's ID) and a second
  // 6 (a later one's) are both refused; the operations they collide with are answered.
  const results = await Promise.allSettled(
    [5, 6, 5, 6].map((messageId) => assoc.echo({ messageId })),
  );
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "fulfilled",
    "rejected",
    "rejected",
  ]);
  for (const r of results.slice(2)) {
    const err = (r as PromiseRejectedResult).reason;
    assert.ok(err instanceof RangeError, String(err));
    assert.match(err.message, /message ID [56] is already waiting for its response/);
  }
  for (const [i, id] of [[0, 5], [1, 6]]) {
    assert.equal(
      (results[i] as PromiseFulfilledResult<CEchoRsp>).value.messageIdBeingRespondedTo,
      id,
    );
  }
  // Answered: the IDs are free again, alone and side by side.
  assert.equal((await assoc.echo({ messageId: 5 })).status, 0);
  const again = await Promise.all([6, 5].map((messageId) => assoc.echo({ messageId })));
  assert.deepEqual(again.map((r) => r.messageIdBeingRespondedTo), [6, 5]);
});
