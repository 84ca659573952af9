/**
 * DIMSE services as values that compose (after dcm4che's
 * DicomServiceRegistry): each names the abstract syntaxes it accepts and
 * the commands it answers, and turns what its handler returns (a status)
 * or throws ({@link DimseError}) into the response (PS3.7 9.3). A handler
 * never builds a DIMSE message. Multi-response services (C-FIND, C-GET,
 * C-MOVE) take an async generator: each value yielded is a pending
 * response, the value returned the final one ({@link multiResponse}).
 *
 * @module
 */
import {
  type DimseMessage,
  type DimseMessageType,
  hasDataset,
  messageToCommandSet,
} from "../dimse/messages.ts";
import type { Logger } from "../log/logger.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../pdu/types.ts";
import { DimseError } from "./errors.ts";
import type { AcceptedContext } from "./negotiation.ts";
import type { ChunkQueue } from "./chunks.ts";
import { concatBytes } from "../util/bytes.ts";

/** What a handler knows of the association a request came on. */
export interface AssociationInfo {
  /** `CALLING->CALLED(n)`, the association's name in log lines. */
  name: string;
  /** The peer's address. */
  peer: { host: string; port: number };
  /** The requestor's AE title. */
  callingAeTitle: string;
  /** The AE title the requestor called. */
  calledAeTitle: string;
  /** The A-ASSOCIATE-RQ (user information: identity, roles, implementation). */
  rq: AssociateRqPdu;
  /** Our A-ASSOCIATE-AC. */
  ac: AssociateAcPdu;
}

/** One request, as a handler sees it. */
export interface RequestContext<M extends DimseMessage = DimseMessage> {
  /** The request's command. */
  message: M;
  /** The accepted presentation context it came on (its transfer syntax is the data set's). */
  context: AcceptedContext;
  /** The association. */
  association: AssociationInfo;
  /**
   * The data set that follows the command, in fragments as they arrive;
   * each chunk is valid until the next is asked for (copy what you keep).
   * Iterating throws when the transfer stops early (the server then ends
   * the association; the handler has nothing to answer). Absent when the
   * request has no data set.
   */
  dataset?: AsyncIterable<Uint8Array>;
  /**
   * A multi-response request's identifier (C-FIND, C-GET, C-MOVE), read
   * whole before the handler runs (it is small, and needed at once).
   */
  identifier?: Uint8Array;
  /** Aborted when the association ends, or the peer cancels (C-CANCEL-RQ). */
  signal: AbortSignal;
  /** Where the service layer's neutral lines go, when the user gave a logger. */
  logger?: Logger;
}

/** A response status and what goes with it. */
export interface StatusResult {
  /** (0000,0900). */
  status: number;
  /** (0000,0902) Error Comment. */
  comment?: string;
  /** (0000,0901) Offending Element. */
  offending?: number[];
  /** A data set sent with the response (an identifier), in the context's transfer syntax. */
  dataset?: Uint8Array;
}

/** What a single-response handler returns: a status (0: success), or nothing for success. */
export type HandlerResult = number | StatusResult | void;

/** One request handed to a service by the association or the server. */
export interface ServiceRequest {
  /** The request's command. */
  message: DimseMessage;
  /** The context it came on. */
  context: AcceptedContext;
  /** The association. */
  association: AssociationInfo;
  /** The data set's chunks, when one follows. */
  dataset?: ChunkQueue;
  /** Aborted when the association ends or the peer cancels. */
  signal: AbortSignal;
  /** Sends one response on the request's context. */
  send: (rsp: DimseMessage, dataset?: Uint8Array) => Promise<void>;
  /** The user's logger, if any. */
  logger?: Logger;
}

/** A DIMSE service: what it negotiates and how it answers. */
export interface Service {
  /** For logs: "verification", "storage"... */
  readonly name: string;
  /** The request types it answers. */
  readonly commands: readonly DimseMessageType[];
  /**
   * The transfer syntaxes it accepts for `abstractSyntax`, best first, or
   * undefined when it does not serve that abstract syntax (PS3.8 9.3.3.2).
   */
  transferSyntaxes(abstractSyntax: string): readonly string[] | undefined;
  /** The abstract syntaxes it knows by name (those a requestor of ours proposes). */
  readonly abstractSyntaxes: readonly string[];
  /** Answers one request; rejects only for a bug (the association is then aborted). */
  handle(request: ServiceRequest): Promise<void>;
}

/**
 * Hands `request` to the first service that answers its command on its
 * abstract syntax; false when none does (the caller aborts, as PS3.7
 * leaves no response for a service not offered).
 */
export async function dispatchRequest(
  services: readonly Service[],
  request: ServiceRequest,
): Promise<boolean> {
  const { message, context } = request;
  const service = services.find((s) =>
    s.commands.includes(message.type) && s.transferSyntaxes(context.abstractSyntax) !== undefined
  );
  if (!service) return false;
  try {
    await service.handle(request);
  } finally {
    await request.dataset?.drain();
  }
  return true;
}

/** The response type of each request type. */
const RESPONSE_TYPE: Partial<Record<DimseMessageType, DimseMessageType>> = {
  "C-ECHO-RQ": "C-ECHO-RSP",
  "C-STORE-RQ": "C-STORE-RSP",
  "C-FIND-RQ": "C-FIND-RSP",
  "C-GET-RQ": "C-GET-RSP",
  "C-MOVE-RQ": "C-MOVE-RSP",
};

/** Normalises what a handler returned. */
function statusOf(result: HandlerResult): StatusResult {
  if (result === undefined) return { status: 0 };
  return typeof result === "number" ? { status: result } : result;
}

/** What a handler's error answers with: a {@link DimseError}'s status, else 0xC000 (cannot understand). */
function statusOfError(err: unknown, failure: number): StatusResult {
  if (err instanceof DimseError) {
    return { status: err.status, comment: err.comment, offending: err.offending };
  }
  return { status: failure, comment: err instanceof Error ? err.message : String(err) };
}

/**
 * The response to `rq` with `result` (PS3.7 9.3): the request's type with
 * -RSP, its message ID and SOP class, and its SOP instance where it has one.
 */
export function responseTo(rq: DimseMessage, result: StatusResult): DimseMessage {
  const type = RESPONSE_TYPE[rq.type];
  if (!type || !("messageId" in rq)) throw new TypeError(`${rq.type} has no response`);
  const m = rq as DimseMessage & {
    messageId: number;
    affectedSopClassUid?: string;
    affectedSopInstanceUid?: string;
  };
  const rsp: Record<string, unknown> = {
    type,
    messageIdBeingRespondedTo: m.messageId,
    affectedSopClassUid: m.affectedSopClassUid,
    status: result.status,
  };
  if (type === "C-STORE-RSP") rsp.affectedSopInstanceUid = m.affectedSopInstanceUid;
  if (result.comment !== undefined) rsp.errorComment = result.comment.slice(0, 64);
  if (result.offending !== undefined) rsp.offendingElement = result.offending;
  if (type === "C-FIND-RSP" || type === "C-GET-RSP" || type === "C-MOVE-RSP") {
    rsp.datasetPresent = result.dataset !== undefined;
  }
  // The encoder is the judge of what the type allows: a bad field fails here, not on the wire.
  const msg = rsp as unknown as DimseMessage;
  messageToCommandSet(msg);
  return msg;
}

/**
 * A service answering one request with one response: `handler` returns the
 * status (or nothing: success) or throws a {@link DimseError}; any other
 * error answers with `failureStatus` and is logged at error level (a bug
 * in the handler is never hidden).
 */
export function singleResponse<M extends DimseMessage>(o: {
  name: string;
  commands: readonly DimseMessageType[];
  transferSyntaxes: (abstractSyntax: string) => readonly string[] | undefined;
  abstractSyntaxes: readonly string[];
  failureStatus: number;
  handler: (ctx: RequestContext<M>) => HandlerResult | Promise<HandlerResult>;
}): Service {
  return {
    name: o.name,
    commands: o.commands,
    transferSyntaxes: o.transferSyntaxes,
    abstractSyntaxes: o.abstractSyntaxes,
    async handle(rq) {
      let result: StatusResult;
      try {
        result = statusOf(await o.handler(contextOf<M>(rq)));
      } catch (err) {
        if (rq.signal.aborted) return; // the association is over: nothing to answer
        reportHandlerFailure(rq, o.name, err);
        result = statusOfError(err, o.failureStatus);
      }
      await rq.dataset?.drain();
      if (rq.signal.aborted) return;
      await rq.send(responseTo(rq.message, result), result.dataset);
    },
  };
}

/** One pending or final response of a multi-response handler. */
export interface Reply {
  /** The status: 0xFF00/0xFF01 pending when yielded; success, cancel or failure when returned. */
  status: number;
  /** The identifier sent with it (C-FIND matches), in the context's transfer syntax. */
  dataset?: Uint8Array;
  /** Error Comment. */
  comment?: string;
}

/**
 * A service answering with pending responses then a final one (C-FIND,
 * C-GET, C-MOVE, PS3.7 9.1.2-9.1.4): `handler` yields the pending ones and
 * returns the final one (nothing: success; a {@link DimseError}: its
 * status). A C-CANCEL-RQ from the peer aborts `ctx.signal`: the handler
 * should return 0xFE00 (cancel) at its next step; once it stops yielding,
 * the final response goes out.
 */
export function multiResponse<M extends DimseMessage>(o: {
  name: string;
  commands: readonly DimseMessageType[];
  transferSyntaxes: (abstractSyntax: string) => readonly string[] | undefined;
  abstractSyntaxes: readonly string[];
  failureStatus: number;
  handler: (ctx: RequestContext<M>) => AsyncGenerator<Reply, Reply | void, void>;
}): Service {
  return {
    name: o.name,
    commands: o.commands,
    transferSyntaxes: o.transferSyntaxes,
    abstractSyntaxes: o.abstractSyntaxes,
    async handle(rq) {
      // The identifier comes whole before the handler runs (it is small and needed at once).
      const parts: Uint8Array[] = [];
      if (rq.dataset) { for await (const chunk of rq.dataset) parts.push(chunk.slice()); }
      const ctx: RequestContext<M> = {
        ...contextOf<M>({ ...rq, dataset: undefined }),
        ...(rq.dataset && { identifier: concatBytes(parts) }),
      };
      let final: StatusResult;
      try {
        const it = o.handler(ctx);
        for (;;) {
          const r = await it.next();
          if (rq.signal.aborted && rq.signal.reason !== CANCELLED) return;
          if (r.done) {
            final = r.value ? { ...r.value } : { status: 0 };
            break;
          }
          await rq.send(responseTo(rq.message, r.value), r.value.dataset);
        }
      } catch (err) {
        if (rq.signal.aborted && rq.signal.reason !== CANCELLED) return;
        reportHandlerFailure(rq, o.name, err);
        final = statusOfError(err, o.failureStatus);
      }
      await rq.send(responseTo(rq.message, final), final.dataset);
    },
  };
}

/** The reason a request's signal is aborted with when the peer sent a C-CANCEL-RQ. */
export const CANCELLED = "cancelled by the peer (C-CANCEL-RQ)";

function contextOf<M extends DimseMessage>(rq: ServiceRequest): RequestContext<M> {
  return {
    message: rq.message as M,
    context: rq.context,
    association: rq.association,
    ...(rq.dataset && hasDataset(rq.message) && { dataset: rq.dataset }),
    signal: rq.signal,
    logger: rq.logger,
  };
}

/**
 * Logs a handler's failure once, at error (a bug or a callback failure is
 * never demoted); a {@link DimseError} is the handler's answer, not a failure.
 */
function reportHandlerFailure(rq: ServiceRequest, name: string, err: unknown): void {
  if (err instanceof DimseError) return;
  rq.logger?.error(
    `${rq.association.name}: ${name} handler failed: ${err instanceof Error ? err.message : err}`,
  );
}
