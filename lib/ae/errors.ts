/**
 * The typed errors of the service layer: what can go wrong with an
 * association, as values a program matches on (`instanceof`, then the
 * fields). They carry the standard's fields, not sentences for a user: the
 * tools word them (DCMTK's lines, exit codes), and a program formats its
 * own messages. Every error is a {@link DicomNetworkError}.
 *
 * @module
 */
import type { AbortPdu, AssociateAcPdu, AssociateRjPdu } from "../pdu/types.ts";
import type { AbortSource } from "../ul/association.ts";
import type { ConnectError } from "../transport/tcp.ts";
import type { MissingPermission } from "../util/permission.ts";

/** The base of every error this layer throws. */
export class DicomNetworkError extends Error {
  /** The class name, for messages and logs. */
  override name = "DicomNetworkError";
}

/**
 * The TCP (or TLS) connection could not be opened: `cause` is the
 * transport's {@link ConnectError} (its `code`: refused, timeout, lookup,
 * unreachable...; a TLS failure is a `TlsError` with its `kind`), or
 * `permission` when Deno refused it for want of a flag.
 */
export class ConnectFailed extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "ConnectFailed";
  /** Host and port asked for. */
  readonly peer: { host: string; port: number };
  /** Deno's permission that is missing, when that is why. */
  readonly permission?: MissingPermission;

  /** `cause` is the transport's error. */
  constructor(
    peer: { host: string; port: number },
    cause: ConnectError | Error,
    permission?: MissingPermission,
  ) {
    super(`cannot connect to ${peer.host}:${peer.port}: ${cause.message}`, { cause });
    this.peer = peer;
    this.permission = permission;
  }
}

/** The peer answered with an A-ASSOCIATE-RJ (PS3.8 9.3.4, Table 9-21). */
export class AssociationRejected extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "AssociationRejected";
  /** 1 rejected-permanent, 2 rejected-transient. */
  readonly result: number;
  /** 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation). */
  readonly source: number;
  /** The reason, whose meaning depends on the source (PS3.8 Table 9-21). */
  readonly reason: number;
  /** The PDU as received. */
  readonly rj: AssociateRjPdu;

  /** From the peer's A-ASSOCIATE-RJ. */
  constructor(rj: AssociateRjPdu) {
    super(`association rejected: result ${rj.result}, source ${rj.source}, reason ${rj.reason}`);
    this.result = rj.result;
    this.source = rj.source;
    this.reason = rj.reason;
    this.rj = rj;
  }
}

/**
 * The association ended abnormally: the peer's A-ABORT (`abort` holds its
 * source and reason, PS3.8 9.3.8), or the provider's A-P-ABORT (a closed
 * connection, a malformed or unexpected PDU, a timeout: `reason` says
 * which), or our own abort. `establishing`: before it was accepted.
 */
export class AssociationAborted extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "AssociationAborted";
  /** Who ended it. */
  readonly source: AbortSource;
  /** What ended it, in plain words. */
  readonly reason: string;
  /** The peer's A-ABORT PDU, when it sent one. */
  readonly abort?: AbortPdu;
  /** True when it ended while being requested (no A-ASSOCIATE-AC yet). */
  readonly establishing: boolean;

  /** `reason` in plain words (the upper layer's). */
  constructor(
    o: { source: AbortSource; reason: string; abort?: AbortPdu; establishing?: boolean },
  ) {
    super(`association aborted (${o.source}): ${o.reason}`);
    this.source = o.source;
    this.reason = o.reason;
    this.abort = o.abort;
    this.establishing = o.establishing ?? false;
  }
}

/**
 * The peer accepted the association but none of the presentation contexts
 * an operation needs (or none at all): `ac` holds each context's result.
 */
export class NoPresentationContext extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "NoPresentationContext";
  /** The peer's answer. */
  readonly ac: AssociateAcPdu;
  /** The abstract syntax asked for, when an operation found no context for it. */
  readonly abstractSyntax?: string;

  /** `abstractSyntax`: the one an operation needed. */
  constructor(ac: AssociateAcPdu, abstractSyntax?: string, message?: string) {
    super(
      message ??
        (abstractSyntax
          ? `no accepted presentation context for ${abstractSyntax}`
          : "the peer accepted none of the presentation contexts"),
    );
    this.ac = ac;
    this.abstractSyntax = abstractSyntax;
  }
}

/** No DIMSE response (or next data fragment) within the DIMSE timeout; the association was aborted. */
export class DimseTimeout extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "DimseTimeout";
  /** The timeout, milliseconds. */
  readonly timeoutMs: number;
  /** The request waited for, e.g. "C-ECHO". */
  readonly operation: string;

  /** After `timeoutMs` waiting for the response to `operation`. */
  constructor(operation: string, timeoutMs: number) {
    super(`no ${operation}-RSP within ${timeoutMs / 1000} s`);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/** What the peer did against PS3.7/PS3.8 while we waited for a response. */
export type ProtocolErrorKind =
  /** A DIMSE command set we cannot decode, or a fragment out of sequence. */
  | "malformed"
  /** A message other than the response expected (another type, or a request out of place). */
  | "unexpected-message"
  /** A response to a message ID no request of ours awaits (PS3.7 9.1). */
  | "unknown-message-id"
  /** Data, or the end of a release, where a response was due. */
  | "unexpected-event"
  /** An A-RELEASE-RQ while our request was unanswered. */
  | "release-requested"
  /** The peer's Maximum Length Received (1..7) leaves no room for a PDV (PS3.8 D.1). */
  | "unusable-max-length";

/** The peer broke the protocol; the association was aborted. */
export class ProtocolError extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "ProtocolError";
  /** What it did. */
  readonly kind: ProtocolErrorKind;
  /** The detail: the decoder's words, or the type of message or event received. */
  readonly detail: string;

  /** `detail`: see {@link ProtocolError.detail}. */
  constructor(kind: ProtocolErrorKind, detail: string) {
    super(`protocol error (${kind}): ${detail}`);
    this.kind = kind;
    this.detail = detail;
  }
}

/**
 * A data set could not be sent: its source failed (a file unreadable or
 * malformed) after part of it was on the wire; the association was aborted
 * (PS3.7 has no way to take a fragment back). `cause` is the source's error.
 */
export class DatasetSourceFailed extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "DatasetSourceFailed";

  /** `cause`: what the data set's source threw. */
  constructor(cause: unknown) {
    super(`the data set's source failed: ${cause instanceof Error ? cause.message : cause}`, {
      cause,
    });
  }
}

/**
 * The status of a DIMSE response, thrown by a service handler to answer
 * with it (as dcm4che's DicomServiceException): `status` goes into the
 * response, `comment` into its Error Comment (0000,0902), `offending` into
 * its Offending Element (0000,0901).
 */
export class DimseError extends DicomNetworkError {
  /** The class name, for messages and logs. */
  override name = "DimseError";
  /** The response status (PS3.7 Annex C). */
  readonly status: number;
  /** The Error Comment (at most 64 characters are sent). */
  readonly comment?: string;
  /** Tags of the offending elements. */
  readonly offending?: number[];

  /** Answers the request with `status`. */
  constructor(status: number, comment?: string, offending?: number[]) {
    super(
      `status 0x${status.toString(16).padStart(4, "0")}${comment ? `: ${comment}` : ""}`,
    );
    this.status = status;
    this.comment = comment;
    this.offending = offending;
  }
}
