/**
 * Test harness for the upper-layer runtime: a recording logger, a transition
 * trace, hand-assembled PDU bytes, and setups that bring the runtime into
 * each state it can rest in, facing a scripted fake peer.
 *
 * @module
 */

import { encodePdu } from "../lib/pdu/codec.ts";
import type { AssociateAcPdu, AssociateRqPdu } from "../lib/pdu/types.ts";
import {
  acceptAssociation,
  type AcceptResult,
  requestAssociation,
  type RequestResult,
  type UlAssociation,
  type UlOptions,
} from "../lib/ul/association.ts";
import type { ActionName, Event, State } from "../lib/ul/state_machine.ts";
import { type MemoryTransport, memoryTransportPair } from "./memory_transport.ts";

/** One recorded transition. */
export interface Step {
  /** The state the event arrived in. */
  state: State;
  /** The Table 9-10 event. */
  event: Event;
  /** The action executed. */
  action: ActionName;
  /** The state after the action. */
  next: State;
}

/** Transitions as they happen, with a way to wait for the next ones. */
export class Trace {
  /** Every step so far, in order. */
  readonly steps: Step[] = [];
  #waiters: (() => void)[] = [];

  /** Records a step (the runtime's `onTransition`). */
  push(step: Step): void {
    this.steps.push(step);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `pred` holds for some step from index `from`; fails after 2 s. */
  async until(pred: (s: Step) => boolean, from = 0): Promise<Step> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no such step; trace: ${this.text()}`)), 2000);
    });
    try {
      for (;;) {
        const hit = this.steps.slice(from).find(pred);
        if (hit) return hit;
        await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), deadline]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once the machine is back in Sta1. */
  idle(): Promise<Step> {
    return this.until((s) => s.next === "Sta1");
  }

  /** The steps as "Sta6+Evt10->DT-2->Sta6, ...". */
  text(): string {
    return this.steps.map((s) => `${s.state}+${s.event}->${s.action}->${s.next}`).join(", ");
  }
}

/** A logger that keeps "L: message" lines. */
export function recordingLogger(): UlOptions["logger"] & { lines: string[] } {
  const lines: string[] = [];
  const at = (p: string) => (msg: string) => void lines.push(`${p}: ${msg}`);
  return {
    lines,
    trace: at("T"),
    debug: at("D"),
    info: at("I"),
    warn: at("W"),
    error: at("E"),
    isEnabled: () => true,
  };
}

/** Lets queued writes and reads run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Bytes as "07 00 00 ..." for readable assertions. */
export const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

// ---- PDUs on the wire (PS3.8 9.3), hand-assembled where they are fixed ----

/** A-ABORT PDU: type 07, reserved, length 4, two reserved bytes, source, reason. */
export const abortBytes = (source: number, reason: number): Uint8Array =>
  new Uint8Array([0x07, 0, 0, 0, 0, 4, 0, 0, source, reason]);
/** A-RELEASE-RQ PDU: type 05, reserved, length 4, four reserved bytes. */
export const RELEASE_RQ = new Uint8Array([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
/** A-RELEASE-RP PDU: type 06, reserved, length 4, four reserved bytes. */
export const RELEASE_RP = new Uint8Array([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
/** A-ASSOCIATE-RJ: rejected-permanent, service-user, no-reason-given. */
export const ASSOCIATE_RJ = new Uint8Array([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 1]);
/** P-DATA-TF with one PDV: item length 6, context 1, last command fragment, 4 bytes. */
export const P_DATA = new Uint8Array([
  0x04,
  0,
  0,
  0,
  0,
  10,
  0,
  0,
  0,
  6,
  1,
  0x03,
  0xde,
  0xad,
  0xbe,
  0xef,
]);
/** An HTTP request on the DICOM port: unrecognized PDU type 0x47. */
export const HTTP_GET = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");

/** An A-ASSOCIATE-RQ proposing Verification, with our Maximum Length Received. */
export function associateRq(maxLength = 16384, protocolVersion = 1): AssociateRqPdu {
  return {
    type: "A-ASSOCIATE-RQ",
    protocolVersion,
    calledAeTitle: "ANY-SCP",
    callingAeTitle: "ECHOSCU",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [
      { id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"] },
    ],
    userInformation: {
      maxLength,
      implementationClassUid: "1.2.3.4",
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  };
}

/** An A-ASSOCIATE-AC accepting Verification, with the acceptor's Maximum Length Received. */
export function associateAc(maxLength = 16384): AssociateAcPdu {
  return {
    type: "A-ASSOCIATE-AC",
    protocolVersion: 1,
    calledAeTitle: "ANY-SCP",
    callingAeTitle: "ECHOSCU",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [{ id: 1, result: 0, transferSyntax: "1.2.840.10008.1.2" }],
    userInformation: {
      maxLength,
      implementationClassUid: "1.2.3.4",
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
    },
  };
}

/** The runtime under test, facing a scripted peer. */
export interface Harness {
  /** The scripted peer's end of the connection. */
  peer: MemoryTransport;
  /** The runtime's transitions. */
  trace: Trace;
  /** The runtime's log lines, "L: message". */
  logs: string[];
  /** The options the runtime was given. */
  opts: UlOptions;
}

/** A connection pair, a trace and a logger, wired into runtime options (ARTIM 1 s). */
export function harness(extra: Partial<UlOptions> = {}): Harness & { ours: MemoryTransport } {
  const [ours, peer] = memoryTransportPair();
  const trace = new Trace();
  const logger = recordingLogger();
  const opts: UlOptions = {
    logger,
    artimTimeoutMs: 1000,
    onTransition: (t) => trace.push(t),
    ...extra,
  };
  return { ours, peer, trace, logs: logger.lines, opts };
}

/** Requestor in Sta5: the A-ASSOCIATE-RQ is on the wire, no answer yet. */
export async function requestorInSta5(extra: Partial<UlOptions> = {}) {
  const h = harness(extra);
  const result: Promise<RequestResult> = requestAssociation(h.ours, associateRq(), h.opts);
  await settle();
  const rq = h.peer.drain();
  return { ...h, result, rq };
}

/** Requestor in Sta6. */
export async function requestorInSta6(extra: Partial<UlOptions> = {}, peerMax = 16384) {
  const h = await requestorInSta5(extra);
  await h.peer.write(encodePdu(associateAc(peerMax)));
  const r = await h.result;
  if (r.kind !== "accepted") throw new Error(`not accepted: ${JSON.stringify(r)}`);
  return { ...h, assoc: r.association };
}

/** Acceptor in Sta2: connection accepted, ARTIM running, no A-ASSOCIATE-RQ yet. */
export function acceptorInSta2(
  decide: Parameters<typeof acceptAssociation>[2] = () => associateAc(),
  extra: Partial<UlOptions> = {},
) {
  const h = harness(extra);
  const result: Promise<AcceptResult> = acceptAssociation(h.ours, h.opts, decide);
  return { ...h, result };
}

/** Acceptor in Sta3: the A-ASSOCIATE indication is with a user who has not answered. */
export async function acceptorInSta3() {
  let answer!: (ac: AssociateAcPdu) => void;
  const pending = new Promise<AssociateAcPdu>((r) => answer = r);
  const h = acceptorInSta2(() => pending);
  await h.peer.write(encodePdu(associateRq()));
  await h.trace.until((s) => s.action === "AE-6");
  return { ...h, answer };
}

/** Acceptor in Sta6. */
export async function acceptorInSta6(extra: Partial<UlOptions> = {}) {
  const h = acceptorInSta2(() => associateAc(), extra);
  await h.peer.write(encodePdu(associateRq()));
  const r = await h.result;
  if (r.kind !== "accepted") throw new Error(`not accepted: ${JSON.stringify(r)}`);
  await settle();
  h.peer.drain();
  return { ...h, assoc: r.association };
}

/** Rests the runtime in `state`, with whatever promises the setup left pending. */
export interface Resting extends Harness {
  /** The association, once there is one. */
  assoc?: UlAssociation;
  /** Promises the setup started that settle when the runtime reaches Sta1. */
  pending: Promise<unknown>[];
}

/** Setups for every state the runtime rests in while the peer can act. */
export const SETUPS: Record<string, () => Promise<Resting>> = {
  Sta2: () => {
    const h = acceptorInSta2();
    return Promise.resolve({ ...h, pending: [h.result] });
  },
  Sta3: async () => {
    const h = await acceptorInSta3();
    return { ...h, pending: [h.result] };
  },
  Sta5: async () => {
    const h = await requestorInSta5();
    return { ...h, pending: [h.result] };
  },
  Sta6: async () => {
    const h = await requestorInSta6();
    return { ...h, pending: [] };
  },
  Sta7: async () => {
    const h = await requestorInSta6();
    const released = h.assoc.release();
    await settle();
    h.peer.drain();
    return { ...h, pending: [released] };
  },
  Sta8: async () => {
    const h = await requestorInSta6();
    await h.peer.write(RELEASE_RQ);
    const ind = await h.assoc.receive();
    if (ind.kind !== "release-requested") throw new Error(ind.kind);
    return { ...h, pending: [] };
  },
  Sta10: async () => {
    const h = await acceptorInSta6();
    const released = h.assoc.release();
    await settle();
    h.peer.drain();
    await h.peer.write(RELEASE_RQ);
    await h.trace.until((s) => s.next === "Sta10");
    return { ...h, pending: [released] };
  },
  Sta11: async () => {
    const h = await requestorInSta6();
    const released = h.assoc.release();
    await settle();
    h.peer.drain();
    await h.peer.write(RELEASE_RQ);
    await h.trace.until((s) => s.next === "Sta11");
    await settle();
    h.peer.drain();
    return { ...h, pending: [released] };
  },
  Sta13: async () => {
    const h = await requestorInSta6();
    const aborted = h.assoc.abort();
    await settle();
    h.peer.drain();
    return { ...h, pending: [aborted] };
  },
};
