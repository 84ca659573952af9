/**
 * movescu's own storage SCP (`--port`): where the archive delivers a
 * C-MOVE whose destination is us (PS3.4 C.4.2: it opens an association of
 * its own to the destination and sends C-STOREs). Built from the service
 * layer's serve() with the storage service and {@link receivingStore}
 * (checked names, `.part` files renamed when complete), DCMTK movescu's
 * sub-association lines, and what it saw kept for the diagnosis: whether
 * the archive connected at all, and which classes or syntaxes we refused.
 *
 * @module
 */
import { STORAGE_SOP_CLASSES } from "../../dicom/sop_classes.ts";
import type { Logger } from "../../log/logger.ts";
import { serve } from "../../ae/serve.ts";
import type { DicomServer, ServerIncident } from "../../ae/server.ts";
import { storage, verification } from "../../ae/services.ts";
import { sopClassModality } from "../../dicom/sop_classes.ts";
import { PC_RESULT } from "../../ae/negotiation.ts";
import {
  type CallbackObservation,
  type ReceivedInstance,
  receivingStore,
} from "../common/retrieve.ts";

/** What the receiver takes. */
export interface ReceiverOptions {
  /** Our AE title (the move destination, when it is us). */
  aeTitle: string;
  /** --port. */
  port: number;
  /** -od. */
  dir: string;
  /** --ignore. */
  ignore: boolean;
  /** The transfer syntaxes accepted, best first (+x=...). */
  transferSyntaxes: readonly string[];
  /** -pdu: our maximum receive PDU. */
  maxPdu: number;
  /** -ta, -td, milliseconds. */
  acseTimeoutMs: number;
  dimseTimeoutMs?: number;
  /** Where DCMTK's lines go. */
  logger: Logger;
  /** Each instance received. */
  onReceived: (f: ReceivedInstance) => void;
}

/** A running receiver and what it has seen. */
export interface Receiver {
  /** The server. */
  server: DicomServer;
  /** What the archive did on our port. */
  seen: CallbackObservation;
  /** Stops it (associations still open after 2 s are aborted). */
  stop(): Promise<void>;
}

/** Starts listening; rejects when the port cannot be bound. */
export async function startReceiver(o: ReceiverOptions): Promise<Receiver> {
  const log = o.logger;
  const seen: CallbackObservation = { port: o.port, associations: 0, refused: [] };
  const store = receivingStore({
    dir: o.dir,
    ignore: o.ignore,
    logger: log,
    requestLine: (m) =>
      `Received Store Request (MsgID ${m.messageId}, ${sopClassModality(m.affectedSopClassUid)})`,
    onReceived: o.onReceived,
  });
  const report = (i: ServerIncident) => {
    switch (i.kind) {
      case "received":
        seen.associations++;
        log.info("Sub-Association Received");
        return;
      case "answering":
        for (const pc of i.ac.presentationContexts) {
          if (pc.result === PC_RESULT.acceptance) continue;
          const asked = i.rq.presentationContexts.find((p) => p.id === pc.id);
          if (!asked) continue;
          seen.refused.push({
            sopClassUid: asked.abstractSyntax,
            transferSyntaxes: asked.transferSyntaxes,
            reason: pc.result === PC_RESULT.transferSyntaxesNotSupported ? "syntax" : "class",
          });
        }
        return;
      case "accepted":
        log.info(`Sub-Association Acknowledged (Max Send PDV: ${i.maxSendPdv})`);
        return;
      case "rejected":
        log.warn(`Sub-Association Rejected${i.refused ? `: ${i.refused}` : ""}`);
        return;
      case "aborted":
        if (i.source !== "local") log.warn(`Sub-Association Aborted: ${i.reason}`);
        return;
      case "ending":
        log.warn(`Sub-Association ending: ${i.reason}`);
        return;
      case "request-failed":
      case "aborted-while-negotiating":
        log.warn(`Sub-Association failed: ${i.reason}`);
        return;
      default:
        return;
    }
  };
  const server = await serve({
    aeTitle: o.aeTitle,
    port: o.port,
    maxPdu: o.maxPdu,
    timeouts: { acseMs: o.acseTimeoutMs, dimseMs: o.dimseTimeoutMs ?? 60_000 },
    services: [
      verification(),
      storage({
        store,
        sopClasses: STORAGE_SOP_CLASSES.map((c) => c.uid),
        transferSyntaxes: o.transferSyntaxes,
      }),
    ],
    report,
  });
  return {
    server,
    seen,
    stop: async () => {
      // The archive releases its association after the last C-STORE: let it, briefly.
      for (let i = 0; i < 40 && server.activeAssociations > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await server.stop();
    },
  };
}
