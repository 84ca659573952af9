/**
 * A scripted DIMSE peer for interop tests: a TCP listener on 127.0.0.1 that
 * accepts any association (every proposed context with a transfer syntax
 * the test picks, and every proposed SCP/SCU role), records each request's
 * command set and data set bytes as they arrived, and answers with the
 * responses the test's script returns. It is built on the PDU codec and
 * the DIMSE fragmenter only, so it shows exactly what a DCMTK tool sends and
 * exactly what that tool makes of the bytes we send.
 */

import { encodeCommandSet } from "../lib/dimse/command.ts";
import { fragmentMessage, MessageAssembler } from "../lib/dimse/fragment.ts";
import { type DimseMessage, hasDataset, messageToCommandSet } from "../lib/dimse/messages.ts";
import { concatBytes } from "../lib/util/bytes.ts";
import { encodePdu } from "../lib/pdu/codec.ts";
import { PduReader } from "../lib/pdu/reader.ts";
import { type Finished, runCommand } from "./procs.ts";
import type { AssociateAcPdu, AssociateRqPdu, Pdu } from "../lib/pdu/types.ts";

/** One request as received. */
export interface ReceivedRequest {
  /** Presentation context of the request. */
  contextId: number;
  /** The abstract syntax of that context. */
  abstractSyntax: string;
  /** The transfer syntax we accepted for it. */
  transferSyntax: string;
  /** The command set bytes, as received. */
  command: Uint8Array;
  /** The decoded message. */
  message: DimseMessage;
  /** The data set bytes, when one followed. */
  dataset?: Uint8Array;
}

/**
 * One response to send: its message and, when the message announces one,
 * its data set; or `abort`: an A-ABORT (service-user) instead, and the
 * connection closed.
 */
export type ScriptedResponse =
  | { message: DimseMessage; dataset?: Uint8Array; abort?: undefined }
  | { abort: true };

/** What the test decides. */
export interface QrPeerScript {
  /**
   * The transfer syntax accepted for a context, among those proposed
   * (default: the first proposed).
   */
  chooseTransferSyntax?: (proposed: string[], abstractSyntax: string) => string;
  /**
   * The answers to a request, sent in order; none for a C-CANCEL-RQ
   * usually. `previous` holds the requests received before on this
   * association.
   */
  respond: (request: ReceivedRequest, previous: ReceivedRequest[]) => ScriptedResponse[];
  /** Our Maximum Length Received (default 16384). */
  maxPdu?: number;
}

/** A running peer. */
export interface QrPeer {
  /** Where it listens. */
  port: number;
  /** The A-ASSOCIATE-RQs received, in order. */
  associations: AssociateRqPdu[];
  /** The requests received, over all associations, in order. */
  requests: ReceivedRequest[];
  /** Stops listening, closes every connection and waits for them. */
  close(): Promise<void>;
}

/** Starts the peer on a free port of 127.0.0.1. */
export function startQrPeer(script: QrPeerScript): QrPeer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const served: Promise<void>[] = [];
  const peer: QrPeer = {
    port: (listener.addr as Deno.NetAddr).port,
    associations: [],
    requests: [],
    close: async () => {
      listener.close();
      for (const c of conns) closeQuietly(c);
      await accepting;
      await Promise.allSettled(served);
    },
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        served.push(
          serve(conn, script, peer).catch(() => {}).finally(() => {
            conns.delete(conn);
            closeQuietly(conn);
          }),
        );
      }
    } catch {
      // Listener closed.
    }
  })();
  return peer;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function serve(conn: Deno.Conn, script: QrPeerScript, peer: QrPeer): Promise<void> {
  const reader = new PduReader({ maxPDataLength: script.maxPdu ?? 16384 });
  const buf = new Uint8Array(64 * 1024);
  const next = async (): Promise<Pdu | undefined> => {
    for (;;) {
      const got = reader.next();
      if (got) return got.pdu;
      const n = await conn.read(buf);
      if (n === null) return undefined;
      reader.push(buf.slice(0, n));
    }
  };
  const send = async (pdu: Pdu) => {
    const bytes = encodePdu(pdu);
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  };

  const rq = await next();
  if (rq?.type !== "A-ASSOCIATE-RQ") return;
  peer.associations.push(rq);
  const ac = acceptAll(rq, script);
  await send(ac);
  const contexts = new Map(
    rq.presentationContexts.map((pc) => [pc.id, {
      abstractSyntax: pc.abstractSyntax,
      transferSyntax: ac.presentationContexts.find((a) => a.id === pc.id)!.transferSyntax,
    }]),
  );
  const peerMax = rq.userInformation.maxLength || 16384;
  const pdvLength = Math.min(peerMax, 16384) - 6;
  const assembler = new MessageAssembler();
  const mine: ReceivedRequest[] = [];
  let command: { contextId: number; bytes: Uint8Array; message: DimseMessage } | undefined;
  let data: Uint8Array[] = [];
  let commandParts: Uint8Array[] = [];

  const answer = async (request: ReceivedRequest) => {
    const responses = script.respond(request, [...mine]);
    mine.push(request);
    peer.requests.push(request);
    for (const r of responses) {
      if (r.abort) {
        await send({ type: "A-ABORT", source: 0, reason: 0 });
        throw new Error("aborted by the script");
      }
      const cmd = encodeCommandSet(messageToCommandSet(r.message));
      for (const pdu of fragmentMessage(request.contextId, true, cmd, pdvLength)) await send(pdu);
      if (hasDataset(r.message)) {
        const ds = r.dataset ?? new Uint8Array(0);
        for (const pdu of fragmentMessage(request.contextId, false, ds, pdvLength)) {
          await send(pdu);
        }
      }
    }
  };

  for (;;) {
    const pdu = await next();
    if (pdu === undefined || pdu.type === "A-ABORT") return;
    if (pdu.type === "A-RELEASE-RQ") {
      await send({ type: "A-RELEASE-RP" });
      return;
    }
    if (pdu.type !== "P-DATA-TF") return;
    for (const pdv of pdu.pdvs) {
      if (pdv.isCommand) commandParts.push(pdv.data.slice());
      for (const ev of assembler.push(pdv)) {
        if (ev.kind === "command") {
          if (!ev.message) throw ev.error;
          command = {
            contextId: ev.contextId,
            bytes: concatBytes(commandParts),
            message: ev.message,
          };
          commandParts = [];
          data = [];
          if (!ev.datasetFollows) await answer(request(command, contexts));
        } else {
          data.push(ev.chunk.slice());
          if (ev.last) await answer({ ...request(command!, contexts), dataset: concatBytes(data) });
        }
      }
    }
  }
}

function request(
  command: { contextId: number; bytes: Uint8Array; message: DimseMessage },
  contexts: Map<number, { abstractSyntax: string; transferSyntax: string }>,
): ReceivedRequest {
  const context = contexts.get(command.contextId)!;
  return {
    contextId: command.contextId,
    abstractSyntax: context.abstractSyntax,
    transferSyntax: context.transferSyntax,
    command: command.bytes,
    message: command.message,
  };
}

function acceptAll(rq: AssociateRqPdu, script: QrPeerScript): AssociateAcPdu {
  return {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContext: rq.applicationContext,
    presentationContexts: rq.presentationContexts.map((pc) => ({
      id: pc.id,
      result: 0,
      transferSyntax: script.chooseTransferSyntax?.(pc.transferSyntaxes, pc.abstractSyntax) ??
        pc.transferSyntaxes[0],
    })),
    userInformation: {
      maxLength: script.maxPdu ?? 16384,
      implementationClassUid: "1.2.826.0.1.3680043.9.7433.1.1",
      implementationVersionName: "QR_PEER",
      roleSelections: rq.userInformation.roleSelections,
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  };
}

/** What a DCMTK tool did against a peer: its run, the requests the peer received. */
export interface PeerRun {
  /** The tool's exit code and output. */
  run: Finished;
  /** Its stdout and stderr together (DCMTK logs go to either). */
  output: string;
  /** The requests, in order. */
  requests: ReceivedRequest[];
}

/**
 * Runs a DCMTK tool (`findscu`, `movescu`, `getscu`...) against a peer
 * following `script`: `args`, host and port, then `files` (query files);
 * the peer is closed afterwards.
 */
export async function runAgainstPeer(
  tool: string,
  args: string[],
  script: QrPeerScript,
  files: string[] = [],
): Promise<PeerRun> {
  const peer = startQrPeer(script);
  try {
    const run = await runCommand(
      tool,
      [...args, "127.0.0.1", String(peer.port), ...files],
      20_000,
    );
    return { run, output: run.stdout + run.stderr, requests: peer.requests };
  } finally {
    await peer.close();
  }
}

/**
 * A script that accepts `transferSyntax` when proposed (else the first
 * proposed) and answers each request with `respond`.
 */
export function preferring(
  transferSyntax: string,
  respond: QrPeerScript["respond"],
): QrPeerScript {
  return {
    chooseTransferSyntax: (proposed) =>
      proposed.includes(transferSyntax) ? transferSyntax : proposed[0],
    respond,
  };
}
