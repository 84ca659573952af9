/**
 * The --json output of every tool: one object per line on stdout, each with
 * the `type` of the line, the ISO-8601 `time` it was written and the `tool`
 * that wrote it, and the same names for the same things in every tool
 * (`peer` as `{host, port}`, `callingAeTitle`, `calledAeTitle`, `status`,
 * `statusText`, `outcome`, `diagnosis`, `exitCode`, durations in
 * milliseconds with at most three decimals). Each line type has a JSON
 * Schema in `schemas/v1/` (the README lists them); a change to a line is a
 * change to its schema.
 *
 * @module
 */
import type { ServerEvent } from "../../ae/server.ts";
import type { StalePartsEvent, StoreEvent } from "../storescp/store_handler.ts";
import { statusCategory, statusMeaning } from "../../dimse/status.ts";
import { transferSyntaxName } from "../../dicom/uids.ts";
import { stdout, type SyncWriter, writeAllSync } from "../../util/std_streams.ts";

/** The version of the line schemas (`schemas/v1/`): raised when a line changes incompatibly. */
export const JSON_SCHEMA_VERSION = 1;

/** A peer as every line gives it. */
export interface JsonPeer {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
}

/** Milliseconds with at most three decimals (a microsecond), or null. */
export function ms3(ms: number | undefined | null): number | null {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return null;
  return Math.round(ms * 1000) / 1000;
}

/** A peer given as "host:port" (IPv6 hosts hold colons: the port follows the last). */
export function jsonPeer(peer: string | JsonPeer): JsonPeer {
  if (typeof peer !== "string") return { host: peer.host, port: peer.port };
  const at = peer.lastIndexOf(":");
  const host = peer.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(peer.slice(at + 1)) };
}

/** The transfer syntax and its name, as the lines carry them. */
export function jsonTransferSyntax(
  uid: string | undefined,
): { transferSyntax: string | null; transferSyntaxName: string | null } {
  return {
    transferSyntax: uid ?? null,
    transferSyntaxName: uid ? transferSyntaxName(uid) : null,
  };
}

/** Writes the --json lines of one tool to stdout, each whole and in order. */
export class JsonLines {
  readonly #tool: string;
  readonly #out: SyncWriter;
  readonly #encoder = new TextEncoder();

  /** Lines of `tool`, written to `out` (stdout unless given). */
  constructor(tool: string, out: SyncWriter = stdout) {
    this.#tool = tool;
    this.#out = out;
  }

  /** The line as written: `type`, `time`, `tool`, then `fields`. */
  format(type: string, fields: Record<string, unknown>): string {
    return JSON.stringify({ type, time: new Date().toISOString(), tool: this.#tool, ...fields });
  }

  /** Writes one line. */
  write(type: string, fields: Record<string, unknown>): void {
    writeAllSync(this.#out, this.#encoder.encode(`${this.format(type, fields)}\n`));
  }
}

/**
 * A server's event as its line: `event` becomes `type`, `peer` an object,
 * `reason` the `diagnosis`, a status gets its `statusText`. Events this
 * function does not know are passed on with the same renaming.
 */
export function serverEventFields(
  e: ServerEvent | StoreEvent | StalePartsEvent,
): { type: string; fields: Record<string, unknown> } {
  const { event, ...rest } = e as { event: string } & Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (key === "peer" && typeof value === "string") fields.peer = jsonPeer(value);
    else if (key === "reason" || key === "error") fields.diagnosis = value;
    else if (key === "ms") fields.ms = ms3(value as number);
    else fields[key] = value;
  }
  if (event === "request" || event === "store") {
    const command = event === "store" ? "C-STORE" : String(rest.command).replace(/-RQ$/, "");
    const status = rest.status as number;
    const service = command === "C-ECHO" || command === "C-STORE" ? command : undefined;
    fields.statusText = statusMeaning(status, service);
    fields.outcome = operationOutcome(status);
  }
  if (event === "store") {
    Object.assign(fields, jsonTransferSyntax(rest.transferSyntax as string));
    fields.diagnosis ??= null;
  }
  return { type: event, fields };
}

/** An operation's `outcome` from its response status. */
export function operationOutcome(status: number): "success" | "warning" | "failed" {
  const category = statusCategory(status);
  return category === "success" || category === "warning" ? category : "failed";
}

/**
 * A server's event handler printing each event as its --json line;
 * `listening` also says which AE title, whether TLS, and where files go.
 */
export function serverJsonLines(
  tool: string,
  listening: { aeTitle: string; tls: boolean; outputDirectory: string | null },
): (e: ServerEvent | StoreEvent | StalePartsEvent) => void {
  const lines = new JsonLines(tool);
  return (e) => {
    const { type, fields } = serverEventFields(e);
    lines.write(type, type === "listening" ? { ...fields, ...listening } : fields);
  };
}
