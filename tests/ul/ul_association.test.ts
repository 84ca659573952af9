// Flows of the upper-layer runtime: timeouts, release (normal and collision),
// rejection, limits, usage errors, framing, logs.
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import type { PDataTfPdu } from "../../lib/pdu/types.ts";
import { UlUsageError } from "../../lib/ul/association.ts";
import {
  abortBytes,
  acceptorInSta2,
  acceptorInSta6,
  associateAc,
  associateRq,
  hex,
  P_DATA,
  RELEASE_RP,
  RELEASE_RQ,
  requestorInSta5,
  requestorInSta6,
  settle,
} from "../../testing/ul_peer.ts";

const steps = (t: { steps: { state: string; event: string; action: string; next: string }[] }) =>
  t.steps.map((s) => `${s.state}+${s.event}->${s.action}->${s.next}`);

const pdata = (bytes: number): PDataTfPdu => ({
  type: "P-DATA-TF",
  pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: new Uint8Array(bytes) }],
});

Deno.test("ARTIM in Sta5: peer never answers the A-ASSOCIATE-RQ", async () => {
  const h = await requestorInSta5({ artimTimeoutMs: 30 });
  assert.equal(h.rq[0], 0x01);
  const r = await h.result;
  assert.deepEqual(r, {
    kind: "aborted",
    source: "provider",
    reason: "ARTIM timeout: no A-ASSOCIATE-AC/RJ within 0.03 s",
  });
  assert.equal(hex(h.peer.drain()), hex(abortBytes(0, 0)));
  assert.deepEqual(steps(h.trace), [
    "Sta1+Evt1->AE-1->Sta4",
    "Sta4+Evt2->AE-2->Sta5",
    "Sta5+Evt15->AA-1->Sta13",
    "Sta13+Evt18->AA-2->Sta1",
  ]);
  assert.ok(h.logs.includes("D: ARTIM timeout: no A-ASSOCIATE-AC/RJ within 0.03 s; aborting"));
  assert.ok(h.peer.isClosed);
});

Deno.test("ARTIM in Sta7: peer never sends A-RELEASE-RP", async () => {
  const h = await requestorInSta6({ artimTimeoutMs: 30 });
  const released = await h.assoc.release();
  assert.deepEqual(released, { aborted: "ARTIM timeout: no A-RELEASE-RP within 0.03 s" });
  assert.equal(hex(h.peer.drain()), hex(new Uint8Array([...RELEASE_RQ, ...abortBytes(0, 0)])));
  assert.deepEqual(steps(h.trace).slice(3), [
    "Sta6+Evt11->AR-1->Sta7",
    "Sta7+Evt15->AA-1->Sta13",
    "Sta13+Evt18->AA-2->Sta1",
  ]);
  assert.deepEqual(await h.assoc.receive(), {
    kind: "aborted",
    source: "provider",
    reason: "ARTIM timeout: no A-RELEASE-RP within 0.03 s",
  });
});

Deno.test("ARTIM in Sta13: peer does not close after our A-RELEASE-RP", async () => {
  const h = await requestorInSta6({ artimTimeoutMs: 30 });
  await h.peer.write(RELEASE_RQ);
  assert.deepEqual(await h.assoc.receive(), { kind: "release-requested" });
  await h.assoc.respondRelease();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RP));
  assert.deepEqual(steps(h.trace).slice(3), [
    "Sta6+Evt12->AR-2->Sta8",
    "Sta8+Evt14->AR-4->Sta13",
    "Sta13+Evt18->AA-2->Sta1",
  ]);
  assert.deepEqual(await h.assoc.receive(), { kind: "released" });
});

Deno.test("ARTIM in Sta2: no A-ASSOCIATE-RQ after the connection", async () => {
  const h = acceptorInSta2(() => associateAc(), { artimTimeoutMs: 30 });
  assert.deepEqual(await h.result, {
    kind: "aborted",
    source: "provider",
    reason: "ARTIM timeout: no A-ASSOCIATE-RQ within 0.03 s",
    received: 0,
  });
  assert.deepEqual(steps(h.trace), ["Sta1+Evt5->AE-5->Sta2", "Sta2+Evt18->AA-2->Sta1"]);
  assert.equal(h.peer.drain().length, 0);
});

Deno.test("requestor: normal release", async () => {
  const h = await requestorInSta6();
  const released = h.assoc.release();
  await settle();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RQ));
  await h.peer.write(RELEASE_RP);
  assert.equal(await released, "released");
  assert.deepEqual(await h.assoc.receive(), { kind: "released" });
  assert.deepEqual(await h.assoc.receive(), { kind: "released" }); // terminal, repeated
  assert.deepEqual(steps(h.trace).slice(3), ["Sta6+Evt11->AR-1->Sta7", "Sta7+Evt13->AR-3->Sta1"]);
  assert.ok(h.peer.isClosed);
});

Deno.test("acceptor: peer releases, we respond", async () => {
  const h = await acceptorInSta6();
  await h.peer.write(RELEASE_RQ);
  assert.deepEqual(await h.assoc.receive(), { kind: "release-requested" });
  const done = h.assoc.respondRelease();
  await settle();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RP));
  h.peer.close();
  await done;
  assert.deepEqual(steps(h.trace).slice(3), [
    "Sta6+Evt12->AR-2->Sta8",
    "Sta8+Evt14->AR-4->Sta13",
    "Sta13+Evt17->AR-5->Sta1",
  ]);
  assert.deepEqual(await h.assoc.receive(), { kind: "released" });
});

Deno.test("release collision, association-requestor side (Sta7 -> Sta9 -> Sta11)", async () => {
  const h = await requestorInSta6();
  const released = h.assoc.release();
  await settle();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RQ));
  await h.peer.write(RELEASE_RQ); // the peer releases too
  await settle();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RP)); // AR-9
  await h.peer.write(RELEASE_RP);
  assert.equal(await released, "released");
  assert.deepEqual(steps(h.trace).slice(3), [
    "Sta6+Evt11->AR-1->Sta7",
    "Sta7+Evt12->AR-8->Sta9",
    "Sta9+Evt14->AR-9->Sta11",
    "Sta11+Evt13->AR-3->Sta1",
  ]);
  assert.ok(h.logs.includes("D: A-RELEASE collision as association-requestor"));
});

Deno.test("release collision, association-acceptor side (Sta7 -> Sta10 -> Sta12)", async () => {
  const h = await acceptorInSta6();
  const released = h.assoc.release();
  await settle();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RQ));
  await h.peer.write(RELEASE_RQ);
  await settle();
  assert.equal(h.peer.drain().length, 0); // the acceptor waits for the peer's RP first
  await h.peer.write(RELEASE_RP);
  await settle();
  assert.equal(hex(h.peer.drain()), hex(RELEASE_RP)); // AR-4 after AR-10
  h.peer.close();
  assert.equal(await released, "released");
  assert.deepEqual(steps(h.trace).slice(3), [
    "Sta6+Evt11->AR-1->Sta7",
    "Sta7+Evt12->AR-8->Sta10",
    "Sta10+Evt13->AR-10->Sta12",
    "Sta12+Evt14->AR-4->Sta13",
    "Sta13+Evt17->AR-5->Sta1",
  ]);
});

Deno.test("acceptor rejects: A-ASSOCIATE-RJ sent, result once the peer closes", async () => {
  const rj = { type: "A-ASSOCIATE-RJ", result: 2, source: 1, reason: 7 } as const;
  const h = acceptorInSta2(() => rj);
  await h.peer.write(encodePdu(associateRq()));
  await h.trace.until((s) => s.action === "AE-8");
  await settle();
  assert.equal(hex(h.peer.drain()), "03 00 00 00 00 04 00 02 01 07");
  h.peer.close();
  const r = await h.result;
  assert.equal(r.kind, "rejected");
  if (r.kind === "rejected") assert.deepEqual(r.rj, rj);
  assert.deepEqual(steps(h.trace).slice(1), [
    "Sta2+Evt6->AE-6->Sta3",
    "Sta3+Evt8->AE-8->Sta13",
    "Sta13+Evt17->AR-5->Sta1",
  ]);
});

Deno.test("requestor gets A-ASSOCIATE-RJ: rejected, connection closed", async () => {
  const h = await requestorInSta5();
  await h.peer.write(new Uint8Array([0x03, 0, 0, 0, 0, 4, 0, 1, 3, 2]));
  assert.deepEqual(await h.result, {
    kind: "rejected",
    rj: { type: "A-ASSOCIATE-RJ", result: 1, source: 3, reason: 2 },
  });
  assert.ok(h.peer.isClosed);
});

Deno.test("AE-6: the provider rejects an unsupported protocol version", async () => {
  let asked = false;
  const h = acceptorInSta2(() => {
    asked = true;
    return associateAc();
  });
  await h.peer.write(encodePdu(associateRq(16384, 2)));
  await h.trace.until((s) => s.action === "AE-6");
  await settle();
  assert.equal(hex(h.peer.drain()), "03 00 00 00 00 04 00 01 02 02");
  assert.deepEqual(h.trace.steps.at(-1), {
    state: "Sta2",
    event: "Evt6",
    action: "AE-6",
    next: "Sta13",
  });
  h.peer.close();
  const r = await h.result;
  assert.equal(r.kind, "rejected");
  assert.equal(asked, false);
  assert.ok(h.logs.includes("D: A-ASSOCIATE-RQ with unsupported protocol version 2: rejecting"));
});

Deno.test("a throwing decide() rejects the association and is logged", async () => {
  const h = acceptorInSta2(() => {
    throw new Error("database down");
  });
  await h.peer.write(encodePdu(associateRq()));
  await h.trace.until((s) => s.action === "AE-8");
  await settle();
  assert.equal(hex(h.peer.drain()), "03 00 00 00 00 04 00 01 01 01");
  assert.ok(h.logs.includes("E: association decision failed: database down; rejecting"));
  h.peer.close();
  assert.equal((await h.result).kind, "rejected");
});

Deno.test("P-DATA-TF over our maximum length: A-ABORT (invalid parameter), logged", async () => {
  const h = await requestorInSta6(); // our maximum: 16384
  assert.equal(h.assoc.ourMaxPdu, 16384);
  const header = new Uint8Array([0x04, 0, 0, 0, 0x40, 0x01]); // PDU-length 16385
  await h.peer.write(header);
  await h.trace.until((s) => s.event === "Evt19");
  await settle();
  assert.equal(hex(h.peer.drain()), hex(abortBytes(2, 6)));
  assert.ok(h.logs.includes(
    "D: malformed PDU from peer: P-DATA-TF PDU-length 16385 exceeds our maximum length received of 16384",
  ));
  const ind = await h.assoc.receive();
  assert.deepEqual(ind, {
    kind: "aborted",
    source: "provider",
    reason:
      "malformed PDU: P-DATA-TF PDU-length 16385 exceeds our maximum length received of 16384",
  });
  h.peer.close();
  await h.assoc.closed;
});

Deno.test("sendPData over the peer's maximum is a usage error; at the maximum it is sent", async () => {
  const h = await requestorInSta6({}, 100);
  assert.equal(h.assoc.peerMaxPdu, 100);
  await assert.rejects(h.assoc.sendPData(pdata(95)), UlUsageError);
  await h.assoc.sendPData(pdata(94)); // 6 + 94 = 100
  assert.equal(h.peer.drain().length, 106);
  h.peer.close();
  await h.assoc.closed;
});

Deno.test("local primitives the table does not allow are usage errors", async () => {
  const h = await requestorInSta6();
  await assert.rejects(h.assoc.respondRelease(), {
    name: "UlUsageError",
    message:
      "A-RELEASE Response primitive is not allowed in Sta6 (Association established and ready for data transfer)",
  });
  const released = h.assoc.release();
  await assert.rejects(h.assoc.release(), UlUsageError); // Sta7 + Evt11
  await assert.rejects(h.assoc.sendPData(pdata(2)), UlUsageError); // Sta7 + Evt9
  h.peer.close();
  assert.deepEqual(await released, { aborted: "peer closed the connection" });
  await assert.rejects(h.assoc.sendPData(pdata(2)), UlUsageError); // Sta1 + Evt9
  await h.assoc.abort(); // nothing left to abort
});

Deno.test("P-DATA in Sta8: AR-7 lets the user finish sending before answering the release", async () => {
  const h = await requestorInSta6();
  await h.peer.write(RELEASE_RQ);
  await h.assoc.receive();
  await h.assoc.sendPData(pdata(4));
  assert.deepEqual(h.trace.steps.at(-1), {
    state: "Sta8",
    event: "Evt9",
    action: "AR-7",
    next: "Sta8",
  });
  assert.equal(hex(h.peer.drain()), "04 00 00 00 00 0a 00 00 00 06 01 03 00 00 00 00");
  h.peer.close();
  await h.assoc.closed;
});

for (
  const [source, reason, words] of [
    [0, 0, "peer sent A-ABORT (service-user, reason 0)"],
    [2, 2, "peer sent A-ABORT (service-provider, unexpected-PDU)"],
    [1, 9, "peer sent A-ABORT (reserved source 1, reason 9)"],
    [2, 3, "peer sent A-ABORT (service-provider, reserved reason 3)"],
    [0xff, 0xff, "peer sent A-ABORT (reserved source 255, reason 255)"],
  ] as const
) {
  Deno.test(`A-ABORT source ${source} reason ${reason}: ${words}`, async () => {
    const h = await requestorInSta6();
    await h.peer.write(abortBytes(source, reason));
    const ind = await h.assoc.receive();
    assert.deepEqual(ind, {
      kind: "aborted",
      source: "peer",
      abort: { type: "A-ABORT", source, reason },
      reason: words,
    });
    await h.assoc.closed;
    assert.ok(h.logs.includes(`D: ${words}`));
    assert.equal(h.peer.drain().length, 0);
  });
}

Deno.test("A-ABORT during establishment: requestor result carries it", async () => {
  const h = await requestorInSta5();
  await h.peer.write(abortBytes(2, 0));
  assert.deepEqual(await h.result, {
    kind: "aborted",
    source: "peer",
    abort: { type: "A-ABORT", source: 2, reason: 0 },
    reason: "peer sent A-ABORT (service-provider, reason-not-specified)",
  });
});

Deno.test("peer closes without answering the A-ASSOCIATE-RQ", async () => {
  const h = await requestorInSta5();
  h.peer.close();
  assert.deepEqual(await h.result, {
    kind: "aborted",
    source: "provider",
    reason: "peer closed the connection without answering",
  });
});

Deno.test("idle timeout once associated: A-ABORT on the user's behalf", async () => {
  const h = await requestorInSta6({ idleTimeoutMs: 30, artimTimeoutMs: 30 });
  const ind = await h.assoc.receive();
  assert.deepEqual(ind, {
    kind: "aborted",
    source: "provider",
    reason: "idle timeout: no data from peer within 0.03 s",
  });
  await h.assoc.closed;
  assert.equal(hex(h.peer.drain()), hex(abortBytes(0, 0)));
  assert.ok(h.logs.includes("D: idle timeout: no data from peer within 0.03 s; aborting"));
});

Deno.test("abort(): A-ABORT source 0, Sta13, closed when the peer closes", async () => {
  const h = await requestorInSta6();
  const done = h.assoc.abort();
  await settle();
  assert.equal(hex(h.peer.drain()), "07 00 00 00 00 04 00 00 00 00");
  assert.equal(h.assoc.state, "Sta13");
  h.peer.close();
  await done;
  assert.equal(h.assoc.state, "Sta1");
  assert.deepEqual(await h.assoc.receive(), {
    kind: "aborted",
    source: "local",
    reason: "aborted by the local user",
  });
});

Deno.test("trace lines and onPdu", async () => {
  const seen: string[] = [];
  const h = await requestorInSta6({
    onPdu: (dir, pdu, raw) => seen.push(`${dir} ${pdu.type} ${raw.length}`),
  });
  await h.peer.write(P_DATA);
  const ind = await h.assoc.receive();
  assert.equal(ind.kind, "p-data");
  if (ind.kind === "p-data") {
    assert.deepEqual(ind.pdu.pdvs[0].data, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  }
  assert.deepEqual(h.logs.filter((l) => l.startsWith("T: ")), [
    "T: Sta1 + Evt1 (A-ASSOCIATE request) -> AE-1 -> Sta4",
    "T: Sta4 + Evt2 (transport connection confirmed) -> AE-2 -> Sta5",
    "T: Sta5 + Evt3 (A-ASSOCIATE-AC PDU received) -> AE-3 -> Sta6",
    "T: Sta6 + Evt10 (P-DATA-TF PDU received) -> DT-2 -> Sta6",
  ]);
  assert.equal(seen[0].startsWith("sent A-ASSOCIATE-RQ "), true);
  assert.equal(seen[1].startsWith("received A-ASSOCIATE-AC "), true);
  assert.equal(seen[2], "received P-DATA-TF 16");
  h.peer.close();
  await h.assoc.closed;
});

Deno.test("a throwing onTransition is logged and the machine carries on", async () => {
  const h = await requestorInSta5({
    onTransition: () => {
      throw new Error("boom");
    },
  });
  await h.peer.write(encodePdu(associateAc()));
  const r = await h.result;
  assert.equal(r.kind, "accepted");
  assert.ok(h.logs.includes("E: onTransition callback threw: boom"));
  h.peer.close();
  if (r.kind === "accepted") await r.association.closed;
});

Deno.test("framing: AC, P-DATA-TF and A-RELEASE-RQ one byte at a time", async () => {
  const h = await requestorInSta5();
  const all = new Uint8Array([...encodePdu(associateAc()), ...P_DATA, ...RELEASE_RQ]);
  for (const b of all) await h.peer.write(new Uint8Array([b]));
  const r = await h.result;
  assert.equal(r.kind, "accepted");
  if (r.kind !== "accepted") return;
  assert.equal((await r.association.receive()).kind, "p-data");
  assert.deepEqual(await r.association.receive(), { kind: "release-requested" });
  h.peer.close();
  await r.association.closed;
});

Deno.test("framing: several PDUs in one write", async () => {
  const h = await requestorInSta5();
  await h.peer.write(new Uint8Array([...encodePdu(associateAc()), ...P_DATA, ...P_DATA]));
  const r = await h.result;
  if (r.kind !== "accepted") throw new Error(r.kind);
  assert.equal((await r.association.receive()).kind, "p-data");
  assert.equal((await r.association.receive()).kind, "p-data");
  h.peer.close();
  await r.association.closed;
});

Deno.test("writes are serialized in call order", async () => {
  const h = await requestorInSta6();
  await Promise.all([1, 2, 3].map((n) => h.assoc.sendPData(pdata(n))));
  const got = h.peer.drain();
  // PDU lengths 7, 8, 9 in that order.
  assert.deepEqual([got[5], got[6 + 7 + 5], got[6 + 7 + 6 + 8 + 5]], [7, 8, 9]);
  h.peer.close();
  await h.assoc.closed;
});

Deno.test("reading pauses while 16 indications wait for receive(), then resumes", async () => {
  const h = await requestorInSta6();
  for (let i = 0; i < 20; i++) await h.peer.write(P_DATA);
  await settle();
  assert.equal(h.trace.steps.filter((s) => s.action === "DT-2").length, 16);
  for (let i = 0; i < 20; i++) assert.equal((await h.assoc.receive()).kind, "p-data");
  assert.equal(h.trace.steps.filter((s) => s.action === "DT-2").length, 20);
  h.peer.close();
  await h.assoc.closed;
});
