/**
 * The Verification SOP Class as SCP (PS3.4 Annex A.4, PS3.7 9.3.5): answer
 * every C-ECHO-RQ with a success C-ECHO-RSP.
 *
 * @module
 */
import { VERIFICATION_SOP_CLASS } from "../../dicom/uids.ts";
import {
  type AcceptorPolicy,
  preferredTransferSyntaxes,
  type TransferSyntaxPreference,
} from "../../ae/negotiation.ts";
import type { CommandHandler } from "../../ae/server.ts";

/** Answers a C-ECHO-RQ with status 0x0000 (PS3.7 9.3.5.2), logging as pynetdicom's echoscp. */
export const echoHandler: CommandHandler = (message, ctx): Promise<number | "abort"> => {
  if (message.type !== "C-ECHO-RQ") return Promise.resolve("abort");
  // Every echo passes here: the line is made only when shown, and no async frame waits on
  // the response's write (its promise, mapped to the status, is the handler's).
  if (ctx.log.isEnabled("info")) ctx.log.info(`Received Echo Request (MsgID ${message.messageId})`);
  return ctx.channel.send(ctx.contextId, {
    type: "C-ECHO-RSP",
    messageIdBeingRespondedTo: message.messageId,
    affectedSopClassUid: message.affectedSopClassUid,
    status: 0,
  }).then(success);
};

/** Status 0x0000 (PS3.7 9.3.5.2), once the response is written. */
const success = (): number => 0;

/** An acceptor policy offering only the Verification SOP Class. */
export function verificationPolicy(o: {
  aeTitle: string;
  maxPdu: number;
  preference: TransferSyntaxPreference;
  allowedCallingAeTitles?: string[];
}): AcceptorPolicy {
  return {
    aeTitle: o.aeTitle,
    maxPdu: o.maxPdu,
    allowedCallingAeTitles: o.allowedCallingAeTitles,
    abstractSyntaxes: new Map([[VERIFICATION_SOP_CLASS, preferredTransferSyntaxes(o.preference)]]),
  };
}
