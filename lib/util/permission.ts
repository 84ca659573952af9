/**
 * Deno's permissions as a cause: an operation Deno refused because the
 * process was not started with the flag that allows it (`--allow-net`,
 * `--allow-read`, ...) is named as that, with the flag and what it was
 * for, never as a network or file failure.
 *
 * @module
 */

/** A permission the process lacks: the flag that grants it and what it was needed for. */
export interface MissingPermission {
  /** Deno's name of the permission: `net`, `read`, `write`, `env`, `sys`, `run`... */
  name: string;
  /** The flag that grants it, e.g. `--allow-write`. */
  flag: string;
  /** What it was needed for: a path, `host:port`, a variable; empty when Deno did not say. */
  target: string;
}

/** Deno's words for a refused operation (Deno 2): `Requires write access to "x", run again with ...`. */
const REQUIRES =
  /Requires (\w+) access(?: to "?(.*?)"?)?, (?:run again with|specify) the (--allow-[\w-]+)/;

/**
 * The permission an error says is missing, or undefined when the error is
 * something else. Deno 2 throws `Deno.errors.NotCapable`; node:* modules
 * wrap it, keeping Deno's message.
 */
export function missingPermission(err: unknown): MissingPermission | undefined {
  if (!(err instanceof Error)) return undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const m = REQUIRES.exec(e.message);
    if (m && (e instanceof Deno.errors.NotCapable || e.name === "NotCapable")) {
      return { name: m[1], flag: m[3], target: m[2] ?? "" };
    }
  }
  return undefined;
}

/** `this needs --allow-write (Deno permission) for DIR`: the cause in one phrase. */
export function describePermission(p: MissingPermission): string {
  return `this needs ${p.flag} (Deno permission)${p.target ? ` for ${p.target}` : ""}`;
}

/** A permission the process lacks, as an error: thrown where it is found. */
export class PermissionError extends Error {
  /** The permission. */
  readonly permission: MissingPermission;

  /** `context` says what was being done, e.g. `cannot read ca.pem`. */
  constructor(permission: MissingPermission, context?: string) {
    super(`${context ? `${context}: ` : ""}${describePermission(permission)}`);
    this.name = "PermissionError";
    this.permission = permission;
  }
}

/** The descriptor of a permission, for {@link checkPermission}. */
export type PermissionNeed =
  | { name: "read" | "write"; path: string }
  | { name: "net"; host: string };

const FLAG: Record<PermissionNeed["name"], string> = {
  read: "--allow-read",
  write: "--allow-write",
  net: "--allow-net",
};

/**
 * Whether the process may do what `need` describes; the missing permission
 * when not. Where Deno would ask (on a terminal, without `--no-prompt`) the
 * user is asked now, once; elsewhere nothing is asked.
 */
export async function checkPermission(
  need: PermissionNeed,
): Promise<MissingPermission | undefined> {
  const descriptor: Deno.PermissionDescriptor = need.name === "net"
    ? { name: "net", host: need.host }
    : { name: need.name, path: need.path };
  let state = (await Deno.permissions.query(descriptor)).state;
  if (state === "prompt") state = (await Deno.permissions.request(descriptor)).state;
  if (state === "granted") return undefined;
  return {
    name: need.name,
    flag: FLAG[need.name],
    target: need.name === "net" ? need.host : need.path,
  };
}
