/**
 * `associate()`: open an association to a peer given as `AE@host:port`,
 * with a default for everything else (after dicom-rs's
 * ClientAssociationOptions): our AE title, a Verification context, 16 KiB
 * PDUs, DCMTK's timeouts. Failures are typed errors (errors.ts).
 *
 * @module
 */
import { VERIFICATION_SOP_CLASS } from "../dicom/uids.ts";
import type { Logger } from "../log/logger.ts";
import type {
  AssociateAcPdu,
  AssociateRqPdu,
  AsynchronousOperationsWindow,
  Pdu,
  PresentationContextRq,
  RoleSelection,
  UserIdentityRq,
} from "../pdu/types.ts";
import { ConnectError, connectTcp, type IpFamily } from "../transport/tcp.ts";
import type { TlsCredentials, TlsInfo, TlsSettings } from "../transport/tls.ts";
import type { Transport } from "../transport/transport.ts";
import { requestAssociation, type UlAssociation, type UlLogger } from "../ul/association.ts";
import { missingPermission } from "../util/permission.ts";
import { Association, type AssociationEvent } from "./association.ts";
import { DimseChannel } from "./channel.ts";
import {
  AssociationAborted,
  AssociationRejected,
  ConnectFailed,
  DicomNetworkError,
  NoPresentationContext,
  ProtocolError,
} from "./errors.ts";
import {
  acceptedContexts,
  buildAssociateRq,
  UNCOMPRESSED_TRANSFER_SYNTAXES,
} from "./negotiation.ts";
import type { Service } from "./service.ts";

/** Where a peer is: its AE title, host and port. */
export interface PeerAddress {
  /** The called AE title. */
  aeTitle: string;
  /** Host name or address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

/**
 * Parses `AE@host:port` (`ANY-SCP@127.0.0.1:104`, `PACS@[::1]:11112`);
 * without `AE@` the called AE title is `ANY-SCP`. Throws a RangeError
 * naming what is wrong.
 */
export function parseAddress(address: string): PeerAddress {
  const m = /^(?:(.{1,16})@)?(\[[^\]]+\]|[^:@[\]]+):(\d{1,5})$/.exec(address);
  if (!m) throw new RangeError(`not a peer address (AE@host:port): ${JSON.stringify(address)}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new RangeError(`port out of range in ${address}`);
  const host = m[2].startsWith("[") ? m[2].slice(1, -1) : m[2];
  return { aeTitle: m[1] ?? "ANY-SCP", host, port };
}

/** Timeouts of an association, milliseconds; undefined leaves one unlimited (or the OS's). */
export interface Timeouts {
  /** TCP (and TLS) connect; the OS default when absent. */
  connectMs?: number;
  /** ARTIM: the A-ASSOCIATE and A-RELEASE answers (PS3.8 9.1.5); default 30 s. */
  acseMs?: number;
  /** Each DIMSE response; default unlimited. */
  dimseMs?: number;
  /** No data read and no write completed for this long aborts; default none. */
  idleMs?: number;
}

/** A presentation context to propose: an abstract syntax and the transfer syntaxes offered for it. */
export interface ContextProposal {
  /** The SOP class (abstract syntax) UID. */
  abstractSyntax: string;
  /** Transfer syntaxes offered, preferred first. */
  transferSyntaxes: readonly string[];
}

/** Everything `associate()` takes besides the address; every field has a default. */
export interface AssociateOptions {
  /** Our AE title (default "DIMSE-DENO"). */
  callingAeTitle?: string;
  /**
   * The presentation contexts to propose (IDs 1, 3, 5... in order); default
   * Verification in the uncompressed syntaxes. See `storageContextsFor()`.
   */
  contexts?: readonly ContextProposal[];
  /** Shorthand for `contexts`: one context each, offering the uncompressed syntaxes. */
  abstractSyntaxes?: readonly string[];
  /** Our Maximum Length Received (PS3.8 D.1; default 16384, 0: unlimited). */
  maxPdu?: number;
  /** Never send PDUs longer than this, whatever the peer accepts. */
  maxSendPdu?: number;
  /** Timeouts; see {@link Timeouts} for the defaults. */
  timeouts?: Timeouts;
  /** Address family when the host is a name: "auto" (default), "ipv4", "ipv6". */
  family?: IpFamily;
  /** DICOM TLS (PS3.15 B.1): the settings, and credentials loaded once (loadTlsCredentials). */
  tls?: { settings: TlsSettings; credentials?: TlsCredentials };
  /** Connects the transport instead of TCP/TLS (a test's memory pipe, a proxy...). */
  connect?: (peer: { host: string; port: number }) => Promise<Transport>;
  /** Aborts the attempt (and the association once open, with an A-ABORT). */
  signal?: AbortSignal;
  /** User identity to assert (PS3.7 D.3.3.7). */
  userIdentity?: UserIdentityRq;
  /**
   * SCP/SCU Role Selection items (PS3.7 D.3.3.4): propose the SCP role for
   * a SOP class to receive its C-STORE sub-operations (C-GET).
   */
  roles?: readonly RoleSelection[];
  /** Services answering requests the peer sends on this association (C-GET's C-STOREs). */
  services?: readonly Service[];
  /**
   * Proposes an Asynchronous Operations Window (PS3.7 D.3.3.3): up to
   * `invoked` operations of ours outstanding at once (0: unlimited) and
   * `performed` of the peer's (default 1). The peer grants as many or
   * fewer (`Association.asyncWindow`); operations beyond the grant wait
   * for a place. Default: none proposed, one operation at a time.
   */
  asyncWindow?: { invoked: number; performed?: number };
  /** Where neutral lines go, each with the association's name (`ME->PEER(1)`); silent without. */
  logger?: Logger;
  /**
   * Where the upper layer's trace and debug lines go (state transitions,
   * what it read); default `logger`. A tool passes its own to keep `-d`.
   */
  upperLayerLogger?: UlLogger;
  /** Receives the steps of the association (for a tool's own lines). */
  onEvent?: (e: AssociateEvent) => void;
  /** Every PDU sent and received, with its bytes (for dumps); a received P-DATA-TF's memory
   * may be reused once its data events are released: copy what you keep. */
  onPdu?: (dir: "sent" | "received", pdu: Pdu, raw: Uint8Array) => void;
}

/** The steps of `associate()` and of the association, as they happen. */
export type AssociateEvent =
  /** About to connect, with the request that will go out. */
  | { type: "requesting"; rq: AssociateRqPdu; peer: { host: string; port: number } }
  /** The connection is up (over TLS: its details). */
  | { type: "connected"; ms: number; tls?: TlsInfo }
  /** The peer answered with an A-ASSOCIATE-AC (before its contexts are judged). */
  | { type: "answered"; ms: number; ac: AssociateAcPdu }
  | AssociationEvent;

/** Associations opened by this process, for their names. */
let counter = 0;

/** The default calling AE title. */
export const DEFAULT_CALLING_AE_TITLE = "DIMSE-DENO";

/**
 * Opens an association with the peer at `address` (`AE@host:port`):
 * connects, requests the association (PS3.8 7.1) and returns it once the
 * peer has accepted at least one presentation context. Throws
 * {@link ConnectFailed}, {@link AssociationRejected},
 * {@link AssociationAborted} (the peer aborted, closed, or stayed silent
 * past the ACSE timeout) or {@link NoPresentationContext}.
 *
 * @example Echo a peer in three lines
 * ```ts ignore
 * import { associate } from "jsr:@dimse-deno/dimse";
 * await using assoc = await associate("ANY-SCP@127.0.0.1:104");
 * console.log((await assoc.echo()).status === 0 ? "alive" : "refused");
 * ```
 */
export async function associate(
  address: string | PeerAddress,
  o: AssociateOptions = {},
): Promise<Association> {
  const peer = typeof address === "string" ? parseAddress(address) : address;
  const callingAeTitle = o.callingAeTitle ?? DEFAULT_CALLING_AE_TITLE;
  const rq = buildAssociateRq({
    aeTitle: callingAeTitle,
    calledAeTitle: peer.aeTitle,
    maxPdu: o.maxPdu ?? 16384,
    presentationContexts: proposal(o),
    userIdentity: o.userIdentity,
    roleSelections: o.roles ? [...o.roles] : [],
    asyncWindow: o.asyncWindow && proposedWindow(o.asyncWindow),
  });
  return await requestWith(peer, rq, o);
}

/**
 * {@link associate} with the A-ASSOCIATE-RQ built by the caller (a tool
 * that proposes contexts of its own reckoning); the same errors.
 */
export async function requestWith(
  peer: PeerAddress,
  rq: AssociateRqPdu,
  o: AssociateOptions = {},
): Promise<Association> {
  const where = { host: peer.host, port: peer.port };
  o.signal?.throwIfAborted();
  o.onEvent?.({ type: "requesting", rq, peer: where });
  const t0 = performance.now();
  let transport: Transport;
  try {
    transport = await connect(where, o);
  } catch (err) {
    if (err instanceof DicomNetworkError) throw err;
    const denied = err instanceof ConnectError ? err.permission : missingPermission(err);
    if (!(err instanceof ConnectError) && !denied) throw err;
    throw new ConnectFailed(where, err as Error, denied);
  }
  const tls = (transport as { tls?: TlsInfo }).tls;
  o.onEvent?.({ type: "connected", ms: performance.now() - t0, tls });
  const t1 = performance.now();
  const cancel = () => transport.close();
  o.signal?.addEventListener("abort", cancel, { once: true });
  let outcome;
  try {
    outcome = await requestAssociation(transport, rq, {
      logger: o.upperLayerLogger ?? o.logger ?? SILENT,
      artimTimeoutMs: o.timeouts?.acseMs ?? 30_000,
      idleTimeoutMs: o.timeouts?.idleMs,
      onPdu: o.onPdu,
    });
  } finally {
    o.signal?.removeEventListener("abort", cancel);
  }
  if (outcome.kind === "rejected") throw new AssociationRejected(outcome.rj);
  if (outcome.kind === "aborted") {
    throw new AssociationAborted({ ...outcome, establishing: true });
  }
  const { association, ac } = outcome;
  o.onEvent?.({ type: "answered", ms: performance.now() - t1, ac });
  if (acceptedContexts(rq, ac).length === 0) {
    await association.abort();
    throw new NoPresentationContext(ac);
  }
  let channel: DimseChannel;
  try {
    channel = new DimseChannel(
      o.maxSendPdu ? limitSendPdu(association, o.maxSendPdu) : association,
    );
  } catch (err) {
    // A peer maximum of 1..7 (PS3.8 D.1) leaves no room for a PDV (docs/SECURITY_CLASSES.md #10).
    if (!(err instanceof RangeError)) throw err;
    await association.abort();
    throw new ProtocolError("unusable-max-length", err.message);
  }
  const assoc = new Association({
    ul: association,
    channel,
    rq,
    ac,
    peer: where,
    tls,
    name: `${rq.callingAeTitle}->${rq.calledAeTitle}(${++counter})`,
    dimseTimeoutMs: o.timeouts?.dimseMs,
    services: o.services ?? [],
    logger: o.logger,
    onEvent: o.onEvent,
  });
  o.signal?.addEventListener("abort", () => assoc.abort().catch(() => {}), { once: true });
  if (o.logger?.isEnabled("info")) {
    o.logger.info(`${assoc.name}: associated with ${where.host}:${where.port}`);
  }
  return assoc;
}

/** The window item of `asyncWindow`, its values checked (16-bit, PS3.7 D.3.3.3.1). */
export function proposedWindow(
  w: { invoked: number; performed?: number },
): AsynchronousOperationsWindow {
  const performed = w.performed ?? 1;
  for (const v of [w.invoked, performed]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new RangeError(`an asynchronous operations window is 0 to 65535, not ${v}`);
    }
  }
  return { maxOperationsInvoked: w.invoked, maxOperationsPerformed: performed };
}

/** The contexts to propose: given, from abstract syntaxes, or Verification. */
function proposal(o: AssociateOptions): PresentationContextRq[] {
  const wanted: readonly ContextProposal[] = o.contexts ??
    (o.abstractSyntaxes ?? [VERIFICATION_SOP_CLASS]).map((abstractSyntax) => ({
      abstractSyntax,
      transferSyntaxes: UNCOMPRESSED_TRANSFER_SYNTAXES,
    }));
  if (wanted.length === 0 || wanted.length > 128) {
    throw new RangeError(`1 to 128 presentation contexts can be proposed, not ${wanted.length}`);
  }
  return wanted.map((c, i) => ({
    id: 2 * i + 1,
    abstractSyntax: c.abstractSyntax,
    transferSyntaxes: [...c.transferSyntaxes],
  }));
}

async function connect(
  peer: { host: string; port: number },
  o: AssociateOptions,
): Promise<Transport> {
  if (o.connect) return await o.connect(peer);
  if (o.tls) {
    const { connectTls } = await import("../transport/tls.ts");
    return await connectTls(peer.host, peer.port, o.tls.settings, {
      timeoutMs: o.timeouts?.connectMs,
      family: o.family ?? "auto",
      credentials: o.tls.credentials,
    });
  }
  return await connectTcp({
    host: peer.host,
    port: peer.port,
    family: o.family ?? "auto",
    timeoutMs: o.timeouts?.connectMs,
  });
}

/** A logger that says nothing (the upper layer's lines when none was given). */
const SILENT: UlLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  isEnabled: () => false,
};

/**
 * The association as the channel sees it, with the peer's maximum PDU
 * length lowered to `max` (DCMTK's dcmMaxOutgoingPDUSize): PDVs are then
 * cut to fit `max` (PS3.8 D.1 only sets an upper bound).
 */
function limitSendPdu(a: UlAssociation, max: number): UlAssociation {
  return {
    get state() {
      return a.state;
    },
    get bytesReceived() {
      return a.bytesReceived;
    },
    get lastActivity() {
      return a.lastActivity;
    },
    peerMaxPdu: a.peerMaxPdu === 0 ? max : Math.min(a.peerMaxPdu, max),
    ourMaxPdu: a.ourMaxPdu,
    receive: () => a.receive(),
    ...(a.poll && { poll: () => a.poll!() }),
    sendPData: (pdu) => a.sendPData(pdu),
    release: () => a.release(),
    respondRelease: () => a.respondRelease(),
    abort: (opts) => a.abort(opts),
    closed: a.closed,
  };
}
