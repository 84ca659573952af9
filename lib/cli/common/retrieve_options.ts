/**
 * The options movescu and getscu share besides the query and the retrieve
 * context (qr_options.ts): the transfer syntaxes accepted or proposed for
 * the instances received (+x=, +xe, ... +xi, +xa), the output directory
 * (-od), --ignore and +B/-B, worded as DCMTK 3.6.7's help prints them.
 *
 * @module
 */
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
} from "../../dicom/uids.ts";
import { storeScpTransferSyntaxes } from "../storescp/store_handler.ts";
import { checkPermission, PermissionError } from "../../util/permission.ts";
import { type OptionDef, OptionError, type OptionSubgroup, type ParsedOptions } from "./options.ts";

/** The +x options: which syntax is preferred for the instances received. */
const PREFER: readonly (OptionDef & { choice: string | "implicit" | "all" })[] = [
  [
    "--prefer-uncompr",
    "+x=",
    "prefer explicit VR local byte order (default)",
    EXPLICIT_VR_LITTLE_ENDIAN,
  ],
  ["--prefer-little", "+xe", "prefer explicit VR little endian TS", EXPLICIT_VR_LITTLE_ENDIAN],
  ["--prefer-big", "+xb", "prefer explicit VR big endian TS", EXPLICIT_VR_BIG_ENDIAN],
  ["--prefer-lossless", "+xs", "prefer default JPEG lossless TS", "1.2.840.10008.1.2.4.70"],
  [
    "--prefer-jpeg8",
    "+xy",
    "prefer default JPEG lossy TS for 8 bit data",
    "1.2.840.10008.1.2.4.50",
  ],
  [
    "--prefer-jpeg12",
    "+xx",
    "prefer default JPEG lossy TS for 12 bit data",
    "1.2.840.10008.1.2.4.51",
  ],
  ["--prefer-j2k-lossless", "+xv", "prefer JPEG 2000 lossless TS", "1.2.840.10008.1.2.4.90"],
  ["--prefer-j2k-lossy", "+xw", "prefer JPEG 2000 lossy TS", "1.2.840.10008.1.2.4.91"],
  ["--prefer-jls-lossless", "+xt", "prefer JPEG-LS lossless TS", "1.2.840.10008.1.2.4.80"],
  ["--prefer-jls-lossy", "+xu", "prefer JPEG-LS lossy TS", "1.2.840.10008.1.2.4.81"],
  ["--prefer-rle", "+xr", "prefer RLE lossless TS", "1.2.840.10008.1.2.5"],
  [
    "--prefer-deflated",
    "+xd",
    "prefer deflated explicit VR little endian TS",
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  ],
  ["--implicit", "+xi", "accept implicit VR little endian TS only", "implicit"],
  ["--accept-all", "+xa", "accept all supported transfer syntaxes", "all"],
].map(([long, short, help, choice]) => ({ long, short, help, choice, block: "prefer-ts" }));

/** +x=... under DCMTK's title for the incoming instances. */
export function preferSubgroup(title: string): OptionSubgroup {
  return { title, options: PREFER.map(({ choice: _, ...def }) => def) };
}

/** The syntaxes accepted (movescu's SCP) or proposed (getscu's storage contexts), best first. */
export function incomingSyntaxes(options: ParsedOptions): string[] {
  const winner = options.winner("prefer-ts") ?? "--prefer-uncompr";
  const choice = PREFER.find((p) => p.long === winner)!.choice;
  return storeScpTransferSyntaxes(
    choice === "implicit" || choice === "all" ? choice : { prefer: choice },
  );
}

/** -od, --ignore and +B/-B, as the output options group lists them. */
export const OUTPUT_OPTIONS: readonly OptionDef[] = [
  {
    long: "--output-directory",
    short: "-od",
    valueHelp: '[d]irectory: string (default: ".")',
    help: "write received objects to existing directory d",
  },
  {
    long: "--normal",
    short: "-B",
    help: [
      "allow implicit format conversions (default; ours",
      "never converts: the data set is stored as received)",
    ],
    block: "bit-preserving",
  },
  {
    long: "--bit-preserving",
    short: "+B",
    help: [
      "write data exactly as read (getscu: files named",
      "by SOP Instance UID alone, as DCMTK's)",
    ],
    block: "bit-preserving",
  },
  {
    long: "--ignore",
    help: "ignore store data, receive but do not store",
  },
];

/**
 * -od, checked to be an existing directory we may read and (unless
 * --ignore) write: a missing Deno permission is said as such (exit 2)
 * before anything is received, never as a missing directory or as failed
 * stores.
 */
export async function outputDirectory(options: ParsedOptions): Promise<string> {
  const dir = options.value("--output-directory") ?? ".";
  const needs = options.has("--ignore") ? (["read"] as const) : (["read", "write"] as const);
  for (const name of needs) {
    const denied = await checkPermission({ name, path: dir });
    if (denied) throw new PermissionError(denied, "cannot store into the output directory");
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new OptionError(`specified output directory does not exist: ${dir}`);
  }
  if (!info.isDirectory) throw new OptionError(`specified output path is not a directory: ${dir}`);
  return dir;
}
