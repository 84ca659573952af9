/**
 * A scripted SCP for client tests (ours and DCMTK's): it accepts TCP on an
 * ephemeral loopback port and plays one behaviour per connection (accept
 * and answer with a status, reject, abort, stay silent, hang up, speak
 * HTTP), built with our PDU codecs. Stop it with `close()`.
 *
 * @module
 */
import { decodeCommandSet, encodeCommandSet } from "../lib/dimse/command.ts";
import { commandSetToMessage, messageToCommandSet } from "../lib/dimse/messages.ts";
import { verificationPolicy } from "../lib/cli/echoscp/echo_handler.ts";
import { answerAssociateRq } from "../lib/ae/negotiation.ts";
import { storagePolicy } from "../lib/cli/storescp/store_handler.ts";
import { encodePdu } from "../lib/pdu/codec.ts";
import { PduReader } from "../lib/pdu/reader.ts";
import type { AssociateAcPdu, AssociateRqPdu, Pdu } from "../lib/pdu/types.ts";
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../lib/dicom/uids.ts";

/** What the fake SCP does with each connection. */
export type FakeBehaviour =
  /** Accepts; answers every request with `status` (after `delayMs`). */
  | { kind: "answer"; status: number; delayMs?: number }
  /** Accepts with every context refused (PS3.8 Table 9-18 result). */
  | { kind: "refuse-contexts"; result: number }
  /** Rejects (result, source, reason). */
  | { kind: "reject"; result: number; source: number; reason: number }
  /** Accepts, then aborts when the first request's command arrives. */
  | { kind: "abort-on-request"; source: number; reason: number }
  /** Accepts, reads requests, never answers. */
  | { kind: "silent-after-accept" }
  /** Reads the A-ASSOCIATE-RQ and closes the connection. */
  | { kind: "close-after-rq" }
  /** Answers the A-ASSOCIATE-RQ with an HTTP 400 response and closes. */
  | { kind: "http" }
  /**
   * Grants an asynchronous operations window of `window` (PS3.7 D.3.3.3) and
   * answers each group of `window` requests in reverse order (a smaller
   * group once the requestor has been quiet for 150 ms).
   */
  | { kind: "answer-reversed"; window: number; status: number }
  /** Grants a window of `window`; answers the first request with message ID + 1000. */
  | { kind: "unknown-message-id"; window: number }
  /** Answers a C-ECHO-RQ with a C-STORE-RSP and a C-STORE-RQ with a C-ECHO-RSP (same IDs). */
  | { kind: "wrong-response-type" }
  /**
   * Grants a window of `window`, reads `requests` C-STORE-RQs with their
   * data sets whole without answering any, then aborts.
   */
  | { kind: "abort-after-requests"; window: number; requests: number };

/** A running fake SCP. */
export interface FakeScp {
  port: number;
  /** Connections served so far. */
  connections(): number;
  /** The types of the PDUs the requestors sent, in order (P-DATA-TF left out). */
  pduTypes(): string[];
  close(): Promise<void>;
}

/** Reads whole PDUs from one connection. */
class Pdus {
  readonly #reader = new PduReader();
  readonly #buf = new Uint8Array(65536);
  constructor(readonly conn: Deno.Conn, readonly types: string[] = []) {}

  /** The next PDU, or null once the client closed. */
  async next(): Promise<Pdu | null> {
    for (;;) {
      const item = this.#reader.next();
      if (item) {
        if (item.pdu.type !== "P-DATA-TF") this.types.push(item.pdu.type);
        return item.pdu;
      }
      const n = await this.conn.read(this.#buf).catch(() => null);
      if (n === null) return null;
      this.#reader.push(this.#buf.slice(0, n));
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Our acceptance of Verification and every storage class, as storescp would answer. */
function accept(rq: AssociateRqPdu): AssociateAcPdu {
  const syntaxes = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN];
  const echo = verificationPolicy({ aeTitle: "FAKE", maxPdu: 16384, preference: "uncompressed" });
  const store = storagePolicy({ aeTitle: "FAKE", maxPdu: 16384, transferSyntaxes: syntaxes });
  const ac = answerAssociateRq(rq, store) as AssociateAcPdu;
  if (ac.presentationContexts.some((pc) => pc.result === 0)) return ac;
  return answerAssociateRq(rq, echo) as AssociateAcPdu;
}

/**
 * Starts the fake SCP; every connection gets `behaviour`, or what it returns
 * for the connection's number (1, 2, ...).
 */
export function startFakeScp(
  behaviour: FakeBehaviour | ((connection: number) => FakeBehaviour),
): FakeScp {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  const types: string[] = [];
  const closing = new AbortController();
  const open = new Set<Deno.Conn>();
  const serving: Promise<void>[] = [];
  const loop = (async () => {
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (!conn) return;
      count++;
      open.add(conn);
      serving.push(
        serve(
          conn,
          typeof behaviour === "function" ? behaviour(count) : behaviour,
          closing.signal,
          types,
        ).catch(() => {}).finally(() => {
          open.delete(conn);
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }),
      );
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    pduTypes: () => [...types],
    async close() {
      closing.abort();
      listener.close();
      await loop;
      for (const c of open) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      await Promise.all(serving);
    },
  };
}

async function serve(
  conn: Deno.Conn,
  b: FakeBehaviour,
  closing: AbortSignal,
  types: string[],
): Promise<void> {
  const pdus = new Pdus(conn, types);
  const rq = await pdus.next();
  if (rq?.type !== "A-ASSOCIATE-RQ") return;
  switch (b.kind) {
    case "close-after-rq":
      return;
    case "http":
      await writeAll(
        conn,
        new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"),
      );
      return;
    case "reject":
      await writeAll(conn, encodePdu({ type: "A-ASSOCIATE-RJ", ...b }));
      return await untilClosed(pdus);
    case "refuse-contexts": {
      const ac = accept(rq);
      ac.presentationContexts = rq.presentationContexts.map((pc) => ({
        id: pc.id,
        result: b.result,
        transferSyntax: pc.transferSyntaxes[0],
      }));
      await writeAll(conn, encodePdu(ac));
      return await untilClosed(pdus);
    }
  }
  const ac = accept(rq);
  if ("window" in b) {
    ac.userInformation.asynchronousOperationsWindow = {
      maxOperationsInvoked: b.window,
      maxOperationsPerformed: 1,
    };
  }
  await writeAll(conn, encodePdu(ac));
  /** Responses held back to go out in reverse order. */
  const held: Uint8Array[] = [];
  const flush = async () => {
    for (const bytes of held.splice(0).reverse()) await writeAll(conn, bytes);
  };
  let reading: Promise<Pdu | null> | undefined;
  const next = async () => {
    reading ??= pdus.next();
    if (held.length > 0) {
      const quiet = await Promise.race([
        reading.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), 150)),
      ]);
      if (quiet) await flush();
    }
    const p = await reading;
    reading = undefined;
    return p;
  };
  let answered = 0;
  let unanswered = 0;
  for (let p = await next(); p; p = await next()) {
    if (p.type === "A-ABORT") return;
    if (p.type === "A-RELEASE-RQ") {
      await writeAll(conn, encodePdu({ type: "A-RELEASE-RP" }));
      return;
    }
    if (p.type !== "P-DATA-TF") continue;
    const pdv = p.pdvs.find((v) => v.isCommand && v.isLast);
    if (!pdv) continue; // data set fragments: answered after the command (no data check)
    if (b.kind === "abort-on-request") {
      await writeAll(conn, encodePdu({ type: "A-ABORT", source: b.source, reason: b.reason }));
      return;
    }
    if (b.kind === "silent-after-accept") continue;
    const rqm = commandSetToMessage(decodeCommandSet(pdv.data)) as {
      type: string;
      messageId: number;
      affectedSopClassUid: string;
      affectedSopInstanceUid?: string;
    };
    if (rqm.type === "C-STORE-RQ") await untilLastDataFragment(next, p);
    if (b.kind === "abort-after-requests") {
      if (++unanswered < b.requests) continue;
      await writeAll(conn, encodePdu({ type: "A-ABORT", source: 2, reason: 0 }));
      return;
    }
    const status = "status" in b ? b.status : 0;
    const messageIdBeingRespondedTo = b.kind === "unknown-message-id" && answered === 0
      ? rqm.messageId + 1000
      : rqm.messageId;
    answered++;
    const echo = (rqm.type === "C-ECHO-RQ") !== (b.kind === "wrong-response-type");
    const rsp = echo
      ? {
        type: "C-ECHO-RSP" as const,
        messageIdBeingRespondedTo,
        affectedSopClassUid: rqm.affectedSopClassUid,
        status,
      }
      : {
        type: "C-STORE-RSP" as const,
        messageIdBeingRespondedTo,
        affectedSopClassUid: rqm.affectedSopClassUid,
        affectedSopInstanceUid: rqm.affectedSopInstanceUid ?? "1.2.3",
        status,
      };
    if (b.kind === "answer" && b.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, b.delayMs);
        closing.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (closing.aborted) return;
    }
    const data = encodeCommandSet(messageToCommandSet(rsp));
    const bytes = encodePdu({
      type: "P-DATA-TF",
      pdvs: [{ contextId: pdv.contextId, isCommand: true, isLast: true, data }],
    });
    if (b.kind !== "answer-reversed") {
      await writeAll(conn, bytes);
      continue;
    }
    held.push(bytes);
    if (held.length === b.window) await flush();
  }
}

/** Reads to the last fragment of the data set that follows a command (it may share its PDU). */
async function untilLastDataFragment(next: () => Promise<Pdu | null>, first: Pdu): Promise<void> {
  let p: Pdu | null = first;
  while (p?.type === "P-DATA-TF" && !p.pdvs.some((v) => !v.isCommand && v.isLast)) {
    p = await next();
  }
}

/** Waits until the client closes (or aborts). */
async function untilClosed(pdus: Pdus): Promise<void> {
  for (let p = await pdus.next(); p && p.type !== "A-ABORT"; p = await pdus.next());
}
