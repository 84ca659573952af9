/**
 * C-FIND responses for scripted peers (testing/qr_peer.ts): matches with
 * identifiers, final statuses, and the bad input a peer may send (a
 * pending response without identifier, a malformed identifier, a response
 * to a message ID never sent); and our tools run against such a peer.
 */
import { attribute, encodeAttributes } from "../lib/dicom/attributes.ts";
import type { CFindRsp } from "../lib/dimse/messages.ts";
import {
  type PeerRun,
  type QrPeerScript,
  type ReceivedRequest,
  type ScriptedResponse,
  startQrPeer,
} from "./qr_peer.ts";
import { runTool } from "./procs.ts";

/** A C-FIND-RSP to `rq` with `status`; `dataset` (bytes in the context's syntax) when given. */
export function findRsp(
  rq: ReceivedRequest,
  status: number,
  dataset?: Uint8Array,
  messageIdBeingRespondedTo = rq.message.type === "C-CANCEL-RQ"
    ? rq.message.messageIdBeingRespondedTo
    : (rq.message as { messageId: number }).messageId,
): ScriptedResponse {
  const message: CFindRsp = {
    type: "C-FIND-RSP",
    messageIdBeingRespondedTo,
    affectedSopClassUid: rq.abstractSyntax,
    status,
    datasetPresent: dataset !== undefined,
  };
  return { message, dataset };
}

/** A study-level match: the patient's name and a study UID (ISO_IR 100 when the name needs it). */
export function studyMatch(ts: string, studyUid: string, patientName: string): Uint8Array {
  const latin1 = [...patientName].some((c) => c.charCodeAt(0) > 0x7f);
  return encodeAttributes([
    ...(latin1 ? [attribute(0x00080005, "ISO_IR 100")] : []),
    attribute(0x00080052, "STUDY"),
    attribute(0x00100010, patientName),
    attribute(0x0020000d, studyUid),
  ], ts);
}

/**
 * Runs our tool against a peer following `script`: `args`, host and port,
 * then `files`; the peer is closed afterwards.
 */
export async function runOursAgainstPeer(
  tool: string,
  args: string[],
  script: QrPeerScript,
  files: string[] = [],
  timeoutMs = 30_000,
): Promise<PeerRun> {
  const peer = startQrPeer(script);
  try {
    const run = await runTool(tool, [...args, "127.0.0.1", String(peer.port), ...files], timeoutMs);
    return { run, output: run.stdout + run.stderr, requests: peer.requests };
  } finally {
    await peer.close();
  }
}
