/**
 * DIMSE messages over an established association: commands and datasets
 * fragmented into P-DATA-TF PDUs that fill the peer's maximum length
 * (PS3.8 9.3.5, Annex D.1), and incoming PDVs reassembled into messages
 * (PS3.7 8.1). SCUs and SCPs of every service share it.
 *
 * @module
 */
import { encodeCommandSet } from "../dimse/command.ts";
import { type DimseMessage, messageToCommandSet } from "../dimse/messages.ts";
import { fragmentMessage, maxPdvDataLength, MessageAssembler } from "../dimse/fragment.ts";
import { DimseDecodeError } from "../dimse/errors.ts";
import type { AbortSource, Association } from "../ul/association.ts";

/** What the channel hands its user, in arrival order. */
export type ChannelEvent =
  | { kind: "command"; contextId: number; message: DimseMessage }
  | { kind: "data"; contextId: number; chunk: Uint8Array; last: boolean }
  | { kind: "release-requested" }
  | { kind: "released" }
  | { kind: "aborted"; source: AbortSource; reason: string }
  | { kind: "timeout" }
  | { kind: "protocol-error"; reason: string };

/** Channel settings. */
export interface ChannelOptions {
  /** PDV data size when the peer sets no limit (its max length 0). */
  chunkSize?: number;
  /** Largest command set accepted from the peer. */
  maxCommandSetLength?: number;
}

/** Default PDV size when the peer accepts any length: large enough to amortise syscalls. */
export const DEFAULT_CHUNK = 64 * 1024;

/** One association's DIMSE message stream. */
export class DimseChannel {
  /** The association the messages travel on. */
  readonly association: Association;
  readonly #pdvLength: number;
  readonly #assembler: MessageAssembler;
  #pending: ChannelEvent[] = [];
  #inflight: ReturnType<Association["receive"]> | undefined;

  /** Sizes PDVs for the peer's maximum PDU length (PS3.8 D.1). */
  constructor(association: Association, opts: ChannelOptions = {}) {
    this.association = association;
    this.#pdvLength = maxPdvDataLength(association.peerMaxPdu, opts.chunkSize ?? DEFAULT_CHUNK);
    this.#assembler = new MessageAssembler({
      maxCommandSetLength: opts.maxCommandSetLength ?? 64 * 1024,
    });
  }

  /** Data bytes per PDV we send: the peer's maximum minus the PDV item header, made even. */
  get maxSendPdv(): number {
    return this.#pdvLength;
  }

  /** Sends one command set and, when given, its dataset bytes (PS3.7 6.3.1). */
  async send(contextId: number, message: DimseMessage, dataset?: Uint8Array): Promise<void> {
    const command = encodeCommandSet(messageToCommandSet(message));
    for (const pdu of fragmentMessage(contextId, true, command, this.#pdvLength)) {
      await this.association.sendPData(pdu);
    }
    if (dataset === undefined) return;
    for (const pdu of fragmentMessage(contextId, false, dataset, this.#pdvLength)) {
      await this.association.sendPData(pdu);
    }
  }

  /**
   * The next event, or `{kind: "timeout"}` after `timeoutMs` (0 or undefined:
   * wait for ever). A timeout loses nothing: the read stays pending and its
   * result is returned by the next call.
   */
  async receive(timeoutMs?: number): Promise<ChannelEvent> {
    while (this.#pending.length === 0) {
      this.#inflight ??= this.association.receive();
      const indication = await withTimeout(this.#inflight, timeoutMs);
      if (indication === undefined) return { kind: "timeout" };
      this.#inflight = undefined;
      switch (indication.kind) {
        case "p-data":
          try {
            for (const pdv of indication.pdu.pdvs) {
              for (const ev of this.#assembler.push(pdv)) {
                // A command set that decodes but is no message we know ends the association.
                if (ev.kind === "command" && ev.error) throw ev.error;
                this.#pending.push(
                  ev.kind === "command"
                    ? { kind: "command", contextId: ev.contextId, message: ev.message! }
                    : ev,
                );
              }
            }
          } catch (err) {
            if (!(err instanceof DimseDecodeError)) throw err;
            return { kind: "protocol-error", reason: err.message };
          }
          break;
        case "release-requested":
        case "released":
          return { kind: indication.kind };
        case "aborted":
          return { kind: "aborted", source: indication.source, reason: indication.reason };
      }
    }
    return this.#pending.shift()!;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number | undefined): Promise<T | undefined> {
  if (!ms) return await p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
