/**
 * Query/Retrieve as a program uses it (PS3.4 Annex C, K): the information
 * models with their SOP classes, the contexts and roles `associate()`
 * needs for them, and C-FIND, C-MOVE and C-GET on an {@link Association}
 * as async iterators of their responses (PS3.7 9.1.2-9.1.4).
 *
 * - {@link find}: one response per match (pending, with its identifier),
 *   then the final one.
 * - {@link move} and {@link get}: pending responses with the sub-operation
 *   counts, then the final one (with the Failed SOP Instance UID List when
 *   the peer sends one). The C-STOREs of a C-GET come on the same
 *   association: the `services` given to `associate()` answer them, with
 *   the SCP role proposed through `roles` ({@link qrContexts}).
 *
 * Aborting the `signal` of an operation sends a C-CANCEL-RQ (PS3.7
 * 9.3.2.3); the responses go on until the peer's final one (normally
 * status 0xFE00, Cancel). Leaving a loop early cancels the same way.
 *
 * @example Find the studies of a patient
 * ```ts ignore
 * import { associate, attribute, find, qrContexts } from "@dimse-deno/dimse";
 * await using assoc = await associate("PACS@10.0.0.5:104", qrContexts({ model: "study" }));
 * const query = [
 *   attribute(0x00080052, "STUDY"),
 *   attribute(0x00100020, "12345"),
 *   attribute(0x0020000d),
 * ];
 * for await (const r of find(assoc, query, { model: "study" })) {
 *   if (r.match) console.log(r.attributes());
 *   else console.log(`status 0x${r.status.toString(16)}`);
 * }
 * ```
 *
 * @module
 */
import {
  type Attributes,
  decodeAttributes,
  type DecodeAttributesOptions,
  encodeAttributes,
  stringValues,
} from "../dicom/attributes.ts";
import { QUERY_RETRIEVE_SOP_CLASSES } from "../dicom/uids.ts";
import type {
  CFindRsp,
  CGetRsp,
  CMoveRsp,
  DimseMessage,
  Priority,
  SuboperationCounts,
} from "../dimse/messages.ts";
import { PRIORITY } from "../dimse/messages.ts";
import type { RoleSelection } from "../pdu/types.ts";
import type { ContextProposal } from "./associate.ts";
import type { Association, OperationOptions } from "./association.ts";
import { NoPresentationContext, ProtocolError } from "./errors.ts";
import { type AcceptedContext, UNCOMPRESSED_TRANSFER_SYNTAXES } from "./negotiation.ts";

/**
 * A Query/Retrieve information model (PS3.4 C.6, K.6): `patient` root,
 * `study` root, `patient-study` only (retired, still served by some
 * archives) or the modality `worklist` (C-FIND only).
 */
export type QueryModel = "patient" | "study" | "patient-study" | "worklist";

/** The DIMSE services of Query/Retrieve. */
export type QrOperation = "find" | "move" | "get";

/** A model's SOP class per operation; an operation the model lacks is absent. */
export interface QueryModelInfo {
  /** The model's name in words. */
  name: string;
  /** C-FIND SOP class UID. */
  find: string;
  /** C-MOVE SOP class UID (not for the worklist). */
  move?: string;
  /** C-GET SOP class UID (not for the worklist). */
  get?: string;
}

/** Every information model and its SOP classes. */
export const QUERY_MODELS: Readonly<Record<QueryModel, QueryModelInfo>> = {
  patient: { name: "Patient Root", ...QUERY_RETRIEVE_SOP_CLASSES.patientRoot },
  study: { name: "Study Root", ...QUERY_RETRIEVE_SOP_CLASSES.studyRoot },
  "patient-study": {
    name: "Patient/Study Only (retired)",
    ...QUERY_RETRIEVE_SOP_CLASSES.patientStudyOnly,
  },
  worklist: { name: "Modality Worklist", ...QUERY_RETRIEVE_SOP_CLASSES.modalityWorklist },
};

/**
 * The SOP class of `operation` in `model`; throws a RangeError when the
 * model has none (C-MOVE or C-GET of the worklist).
 */
export function sopClassOf(model: QueryModel, operation: QrOperation): string {
  const uid = QUERY_MODELS[model][operation];
  if (uid === undefined) {
    throw new RangeError(
      `the ${QUERY_MODELS[model].name} model has no C-${operation.toUpperCase()}`,
    );
  }
  return uid;
}

/** What {@link qrContexts} proposes. */
export interface QrContextOptions {
  /** The information model. */
  model: QueryModel;
  /** The operations to propose a context for (default: every one the model has). */
  operations?: readonly QrOperation[];
  /** Transfer syntaxes offered for the Q/R contexts, preferred first (default: the uncompressed ones). */
  transferSyntaxes?: readonly string[];
  /**
   * Storage contexts to receive a C-GET's C-STOREs on: each is proposed
   * with the SCP role (PS3.7 D.3.3.4), so that the peer may send on it.
   */
  storage?: readonly ContextProposal[];
}

/**
 * The `contexts` and `roles` to give `associate()` for Query/Retrieve in
 * `o.model`: one context per operation (the model's SOP class), then the
 * storage contexts of a C-GET, each with an SCP/SCU Role Selection item
 * proposing the SCP role (and keeping the SCU role, as DCMTK's getscu does).
 */
export function qrContexts(
  o: QrContextOptions,
): { contexts: ContextProposal[]; roles: RoleSelection[] } {
  const info = QUERY_MODELS[o.model];
  const wanted = o.operations ?? (["find", "move", "get"] as const).filter((op) => info[op]);
  const transferSyntaxes = o.transferSyntaxes ?? UNCOMPRESSED_TRANSFER_SYNTAXES;
  const contexts: ContextProposal[] = wanted.map((op) => ({
    abstractSyntax: sopClassOf(o.model, op),
    transferSyntaxes,
  }));
  const roles: RoleSelection[] = [];
  for (const s of o.storage ?? []) {
    contexts.push(s);
    if (!roles.some((r) => r.sopClassUid === s.abstractSyntax)) {
      roles.push({ sopClassUid: s.abstractSyntax, scuRole: true, scpRole: true });
    }
  }
  return { contexts, roles };
}

/** An identifier already encoded: its bytes and their transfer syntax. */
export interface EncodedIdentifier {
  /** The data set. */
  dataset: Uint8Array;
  /** Its transfer syntax: a context accepted for the model in this syntax carries it. */
  transferSyntax: string;
}

/** Options of {@link find}, {@link move} and {@link get}. */
export interface QrOptions extends OperationOptions {
  /** The information model (its SOP class is the request's). */
  model: QueryModel;
  /** Priority (0000,0700); medium by default. */
  priority?: Priority;
  /** The presentation context to send on; the first accepted for the model's SOP class when absent. */
  contextId?: number;
}

/** Options of {@link move}. */
export interface MoveOptions extends QrOptions {
  /** Move Destination (0000,0600): the AE title the peer sends the instances to. */
  destination: string;
}

/** What every response of a Query/Retrieve operation tells. */
export interface QrResponseBase<M extends DimseMessage> {
  /** The response message. */
  message: M;
  /** Status (0000,0900). */
  status: number;
  /** Whether more responses follow (0xFF00, 0xFF01). */
  pending: boolean;
  /** The data set that came with it, as received; absent when none did. */
  dataset?: Uint8Array;
  /** The transfer syntax of `dataset` (the context's). */
  transferSyntax: string;
  /**
   * `dataset` decoded, text in its Specific Character Set; throws a
   * DicomParseError (malformed) or a CharsetError (undecodable text,
   * unless `onCharsetProblem` is given). An empty list when there is none.
   */
  attributes(options?: DecodeAttributesOptions): Attributes;
}

/**
 * A C-FIND response (PS3.4 C.4.1.1.4): a match (`match` true, status
 * pending, the identifier in `dataset`), or the final response.
 */
export interface FindResponse extends QrResponseBase<CFindRsp> {
  /** A pending response: one match. */
  match: boolean;
}

/** Sub-operation counts of a C-MOVE or C-GET response (absent ones are undefined). */
export interface Suboperations {
  /** (0000,1020) Number of Remaining Sub-operations. */
  remainingSuboperations: number | undefined;
  /** (0000,1021) Number of Completed Sub-operations. */
  completedSuboperations: number | undefined;
  /** (0000,1022) Number of Failed Sub-operations. */
  failedSuboperations: number | undefined;
  /** (0000,1023) Number of Warning Sub-operations. */
  warningSuboperations: number | undefined;
}

/**
 * A C-MOVE or C-GET response (PS3.4 C.4.2.1.4, C.4.3.1.4): the counts,
 * and on a final response reporting failures the Failed SOP Instance UID
 * List (0008,0058) when the peer sends one.
 */
export interface RetrieveResponse<M extends CMoveRsp | CGetRsp = CMoveRsp | CGetRsp>
  extends QrResponseBase<M> {
  /** Remaining, completed, failed and warning sub-operations. */
  counts: Suboperations;
  /**
   * The Failed SOP Instance UID List (0008,0058) of the identifier; an
   * empty list when there is none (or the identifier cannot be read).
   */
  failedSopInstanceUids(): string[];
}

const FAILED_SOP_INSTANCE_UID_LIST = 0x00080058;

/**
 * C-FIND (PS3.7 9.1.2) of `identifier` in `o.model` on `assoc`: yields
 * each match as the peer sends it, then the final response, whatever its
 * status. Throws {@link NoPresentationContext} when no context was
 * accepted for the model's C-FIND, a {@link ProtocolError} (the
 * association aborted) when the peer answers with another message, and
 * the association's errors (aborted, timed out...).
 */
export async function* find(
  assoc: Association,
  identifier: Attributes | EncodedIdentifier,
  o: QrOptions,
): AsyncGenerator<FindResponse> {
  const context = pick(assoc, sopClassOf(o.model, "find"), o);
  const request = {
    type: "C-FIND-RQ" as const,
    messageId: o.messageId ?? assoc.nextMessageId(),
    affectedSopClassUid: context.abstractSyntax,
    priority: o.priority ?? PRIORITY.medium,
  };
  for await (const r of operation(assoc, context, request, identifier, o, "C-FIND-RSP")) {
    const message = r.message as CFindRsp;
    yield { ...base(message, r.dataset, context.transferSyntax), match: isPending(message.status) };
  }
}

/**
 * C-MOVE (PS3.7 9.1.4) of what `identifier` names to the AE title
 * `o.destination`: yields the peer's responses (pending ones with the
 * sub-operation counts as the instances go out), then the final one. The
 * same errors as {@link find}.
 */
export async function* move(
  assoc: Association,
  identifier: Attributes | EncodedIdentifier,
  o: MoveOptions,
): AsyncGenerator<RetrieveResponse<CMoveRsp>> {
  const context = pick(assoc, sopClassOf(o.model, "move"), o);
  const request = {
    type: "C-MOVE-RQ" as const,
    messageId: o.messageId ?? assoc.nextMessageId(),
    affectedSopClassUid: context.abstractSyntax,
    priority: o.priority ?? PRIORITY.medium,
    moveDestination: o.destination,
  };
  for await (const r of operation(assoc, context, request, identifier, o, "C-MOVE-RSP")) {
    yield retrieveResponse(r.message as CMoveRsp, r.dataset, context.transferSyntax);
  }
}

/**
 * C-GET (PS3.7 9.1.3) of what `identifier` names: the peer sends the
 * instances on this association as C-STORE sub-operations, answered by the
 * `services` given to `associate()` (a storage service) on the storage
 * contexts whose SCP role was negotiated ({@link qrContexts}). Yields the
 * responses with the sub-operation counts, then the final one. The same
 * errors as {@link find}.
 */
export async function* get(
  assoc: Association,
  identifier: Attributes | EncodedIdentifier,
  o: QrOptions,
): AsyncGenerator<RetrieveResponse<CGetRsp>> {
  const context = pick(assoc, sopClassOf(o.model, "get"), o);
  const request = {
    type: "C-GET-RQ" as const,
    messageId: o.messageId ?? assoc.nextMessageId(),
    affectedSopClassUid: context.abstractSyntax,
    priority: o.priority ?? PRIORITY.medium,
  };
  for await (const r of operation(assoc, context, request, identifier, o, "C-GET-RSP")) {
    yield retrieveResponse(r.message as CGetRsp, r.dataset, context.transferSyntax);
  }
}

/** The counts of a C-MOVE or C-GET response. */
export function suboperations(m: SuboperationCounts): Suboperations {
  return {
    remainingSuboperations: m.remainingSuboperations,
    completedSuboperations: m.completedSuboperations,
    failedSuboperations: m.failedSuboperations,
    warningSuboperations: m.warningSuboperations,
  };
}

// ---- internals ----

function pick(assoc: Association, sopClass: string, o: QrOptions): AcceptedContext {
  if (o.contextId !== undefined) {
    const c = assoc.contexts.find((c) => c.id === o.contextId);
    if (c) return c;
  }
  const c = assoc.contextFor(sopClass);
  if (c) return c;
  throw new NoPresentationContext(
    assoc.ac,
    sopClass,
    `no accepted presentation context for ${sopClass}`,
  );
}

async function* operation(
  assoc: Association,
  context: AcceptedContext,
  request: DimseMessage & { messageId: number },
  identifier: Attributes | EncodedIdentifier,
  o: OperationOptions,
  expected: DimseMessage["type"],
) {
  const dataset = Array.isArray(identifier)
    ? encodeAttributes(identifier, context.transferSyntax)
    : encodedIn(identifier, context);
  for await (const r of assoc.request(context.id, request, dataset, o)) {
    if (r.message.type !== expected) {
      // PS3.7 9.1: only the operation's responses answer its message ID.
      const err = new ProtocolError("unexpected-message", r.message.type);
      await assoc.abort();
      throw err;
    }
    yield r;
  }
}

function encodedIn(identifier: EncodedIdentifier, context: AcceptedContext): Uint8Array {
  if (identifier.transferSyntax !== context.transferSyntax) {
    throw new RangeError(
      `the identifier is in ${identifier.transferSyntax} but the context accepted for ` +
        `${context.abstractSyntax} uses ${context.transferSyntax}`,
    );
  }
  return identifier.dataset;
}

function isPending(status: number): boolean {
  return (status & 0xff00) === 0xff00;
}

function base<M extends CFindRsp | CMoveRsp | CGetRsp>(
  message: M,
  dataset: Uint8Array | undefined,
  transferSyntax: string,
): QrResponseBase<M> {
  return {
    message,
    status: message.status,
    pending: isPending(message.status),
    dataset,
    transferSyntax,
    attributes: (options) =>
      dataset === undefined || dataset.length === 0
        ? []
        : decodeAttributes(dataset, transferSyntax, options),
  };
}

function retrieveResponse<M extends CMoveRsp | CGetRsp>(
  message: M,
  dataset: Uint8Array | undefined,
  transferSyntax: string,
): RetrieveResponse<M> {
  const b = base(message, dataset, transferSyntax);
  return {
    ...b,
    counts: suboperations(message),
    failedSopInstanceUids: () => {
      try {
        return stringValues(
          b.attributes({ onCharsetProblem: () => {} }),
          FAILED_SOP_INSTANCE_UID_LIST,
        ) ??
          [];
      } catch {
        return [];
      }
    },
  };
}
