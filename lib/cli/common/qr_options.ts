/**
 * What findscu, movescu and getscu share, worded as DCMTK 3.6.7's help
 * prints it: the information model (-P/-S/-W/-O, each tool its own set and
 * default), -k keys (lib/dicom/query_keys.ts) over query files given as
 * parameters, the proposed transfer syntaxes (-x= -xe -xb -xd -xi), the
 * other network options (-to [-ts] -ta -td -pdu --repeat --abort
 * [--cancel n]); and the settings read from them.
 *
 * @module
 */
import type { QueryModel } from "../../ae/qr.ts";
import { type Attributes, decodeAttributesFile } from "../../dicom/attributes.ts";
import { parseQueryKey, type QueryKey, QueryKeyError } from "../../dicom/query_keys.ts";
import { applyQueryKeys } from "../../dicom/query_keys.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from "../../dicom/uids.ts";
import {
  ABORT_OPTION,
  ACSE_TIMEOUT_OPTION,
  CONNECT_TIMEOUT_OPTION,
  DIMSE_TIMEOUT_OPTION,
  MAX_PDU_OPTION,
  REPEAT_OPTION,
  SOCKET_TIMEOUT_OPTION,
} from "./network_options.ts";
import { type OptionDef, OptionError, type OptionSubgroup, type ParsedOptions } from "./options.ts";

/** The three Q/R tools. */
export type QrTool = "findscu" | "movescu" | "getscu";

const MODEL_BLOCK = "qr-model";
const PROPOSAL_BLOCK = "qr-proposal";

/** The model options, long name to model, with DCMTK's short names and help. */
const MODEL_OPTIONS: readonly { long: string; short: string; model: QueryModel; what: string }[] = [
  { long: "--worklist", short: "-W", model: "worklist", what: "modality worklist" },
  { long: "--patient", short: "-P", model: "patient", what: "patient root" },
  { long: "--study", short: "-S", model: "study", what: "study root" },
  { long: "--psonly", short: "-O", model: "patient-study", what: "patient/study only" },
];

/** Each tool's default model: findscu the worklist, the retrieve tools patient root. */
export const DEFAULT_MODEL: Readonly<Record<QrTool, QueryModel>> = {
  findscu: "worklist",
  movescu: "patient",
  getscu: "patient",
};

/** The query files parameter (`dcmfile-in...`, zero or more). */
export const QUERY_FILES_PARAM = {
  name: "dcmfile-in",
  help: "DICOM query file(s)",
  mode: "multiOptional",
} as const;

/** -k: DCMTK's help differs by a word between the three tools. */
export function queryKeySubgroup(tool: QrTool): OptionSubgroup {
  const what = {
    findscu: 'gggg,eeee="str", path or dict. name="str"',
    movescu: 'gggg,eeee="str" or dict. name="str"',
    getscu: 'gggg,eeee="str", path or dic. name="str"',
  }[tool];
  return {
    title: "override matching keys:",
    options: [{
      long: "--key",
      short: "-k",
      valueHelp: `[k]ey: ${what}`,
      help: "override matching key",
    }],
  };
}

/** -W (findscu only) / -P / -S / -O, the tool's default marked as DCMTK marks it. */
export function qrModelSubgroup(tool: QrTool): OptionSubgroup {
  const models = tool === "findscu" ? MODEL_OPTIONS : MODEL_OPTIONS.slice(1);
  return {
    title: tool === "getscu" ? "retrieve information model:" : "query information model:",
    options: models.map((m) => ({
      long: m.long,
      short: m.short,
      help: `use ${m.what} information model` +
        (m.model !== DEFAULT_MODEL[tool] ? "" : tool === "findscu" ? " (def.)" : " (default)"),
      block: MODEL_BLOCK,
    })),
  };
}

/** The information model chosen (rightmost of -W/-P/-S/-O), or the tool's default. */
export function qrModel(options: ParsedOptions, tool: QrTool): QueryModel {
  const long = options.winner(MODEL_BLOCK);
  return MODEL_OPTIONS.find((m) => m.long === long)?.model ?? DEFAULT_MODEL[tool];
}

/** The proposal options and the transfer syntaxes each proposes, in order (DCMTK's). */
const PROPOSALS: readonly (OptionDef & { syntaxes: readonly string[] })[] = [
  {
    long: "--propose-uncompr",
    short: "-x=",
    help: ["propose all uncompressed TS, explicit VR", "with local byte ordering first (default)"],
    // Explicit VR "local byte order" is little endian on every platform Deno runs on.
    syntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
  },
  {
    long: "--propose-little",
    short: "-xe",
    help: ["propose all uncompressed TS, explicit VR", "little endian first"],
    syntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
  },
  {
    long: "--propose-big",
    short: "-xb",
    help: ["propose all uncompressed TS, explicit VR", "big endian first"],
    syntaxes: [EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
  },
  {
    long: "--propose-deflated",
    short: "-xd",
    help: [
      "propose deflated explicit VR little endian TS",
      "and all uncompressed transfer syntaxes",
    ],
    syntaxes: [
      DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
      EXPLICIT_VR_LITTLE_ENDIAN,
      EXPLICIT_VR_BIG_ENDIAN,
      IMPLICIT_VR_LITTLE_ENDIAN,
    ],
  },
  {
    long: "--propose-implicit",
    short: "-xi",
    help: "propose implicit VR little endian TS only",
    syntaxes: [IMPLICIT_VR_LITTLE_ENDIAN],
  },
];

/** -x= -xe -xb -xd -xi under the title each tool gives them. */
export function qrProposalSubgroup(tool: QrTool): OptionSubgroup {
  return {
    title: {
      findscu: "proposed transmission transfer syntaxes:",
      movescu: "proposed transmission transfer syntaxes (outgoing associations):",
      getscu: "proposed retrieve transfer syntaxes (outgoing associations):",
    }[tool],
    options: PROPOSALS.map(({ syntaxes: _, ...def }) => ({ ...def, block: PROPOSAL_BLOCK })),
  };
}

/** The transfer syntaxes to propose for the Q/R contexts, preferred first. */
export function qrProposedSyntaxes(options: ParsedOptions): readonly string[] {
  const long = options.winner(PROPOSAL_BLOCK) ?? PROPOSALS[0].long;
  return PROPOSALS.find((p) => p.long === long)!.syntaxes;
}

/** --cancel n: send a C-CANCEL-RQ after n responses (findscu, movescu). */
export const CANCEL_OPTION: OptionDef = {
  long: "--cancel",
  valueHelp: "[n]umber: integer",
  help: "cancel after n responses (default: never)",
};

/**
 * The "other network options" of each tool, in DCMTK's order: findscu has
 * -ts and --cancel; movescu has --cancel; getscu neither. A tool adds its
 * own (movescu's -dhl, --ignore, -up) around them.
 */
export function qrOtherNetworkOptions(tool: QrTool): OptionDef[] {
  return [
    CONNECT_TIMEOUT_OPTION,
    ...(tool === "findscu" ? [SOCKET_TIMEOUT_OPTION] : []),
    ACSE_TIMEOUT_OPTION,
    DIMSE_TIMEOUT_OPTION,
    MAX_PDU_OPTION,
    REPEAT_OPTION,
    ABORT_OPTION,
    ...(tool === "getscu" ? [] : [CANCEL_OPTION]),
  ];
}

/** One identifier to send: where it came from, and its attributes (file + keys). */
export interface QrQuery {
  /** The query file, or undefined for the keys alone. */
  file?: string;
  /** The identifier. */
  attributes: Attributes;
}

/**
 * The -k keys, parsed in order (later keys win); throws {@link OptionError}
 * with the key's one line (`bad key '...': reason`).
 */
export function qrKeys(options: ParsedOptions): QueryKey[] {
  return options.occurrences("--key").map(([text]) => {
    try {
      return parseQueryKey(text);
    } catch (err) {
      if (err instanceof QueryKeyError) throw new OptionError(err.message);
      throw err;
    }
  });
}

/** A query file that cannot be read or decoded, with its one line. */
export class QueryFileError extends Error {
  /** The file as given. */
  readonly file: string;

  /** `reason`: what is wrong. */
  constructor(file: string, reason: string) {
    super(`cannot read query file ${file}: ${reason}`);
    this.name = "QueryFileError";
    this.file = file;
  }
}

/**
 * The identifiers to send, as DCMTK's tools build them: one per query file
 * (its data set, the -k keys applied over it), or one from the keys alone
 * when no file is given. Throws {@link QueryFileError} for a file that
 * cannot be read, {@link OptionError} for a key that cannot apply.
 */
export async function qrQueries(
  files: readonly string[],
  keys: readonly QueryKey[],
): Promise<QrQuery[]> {
  const apply = (base: Attributes) => {
    try {
      return applyQueryKeys(base, keys);
    } catch (err) {
      if (err instanceof QueryKeyError) throw new OptionError(err.message);
      throw err;
    }
  };
  if (files.length === 0) return [{ attributes: apply([]) }];
  const out: QrQuery[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (err) {
      if (err instanceof Deno.errors.PermissionDenied) throw err;
      throw new QueryFileError(file, err instanceof Error ? err.message : String(err));
    }
    let attributes: Attributes;
    try {
      attributes = decodeAttributesFile(bytes, { path: file }).attributes;
    } catch (err) {
      throw new QueryFileError(file, err instanceof Error ? err.message : String(err));
    }
    out.push({ file, attributes: apply(attributes) });
  }
  return out;
}

/** The Q/R settings every tool reads the same way. */
export interface QrSettings {
  /** -W/-P/-S/-O. */
  model: QueryModel;
  /** -x...: the transfer syntaxes proposed for the Q/R contexts. */
  transferSyntaxes: readonly string[];
  /** -k, parsed. */
  keys: QueryKey[];
  /** The query files (parameters after peer and port). */
  files: readonly string[];
  /** --repeat: each query sent n times (default 1). */
  repeat: number;
  /** --cancel n: C-CANCEL after n responses; undefined: never. */
  cancelAfter?: number;
}

/** Reads {@link QrSettings}; throws {@link OptionError} for bad values. */
export function qrSettings(options: ParsedOptions, tool: QrTool): QrSettings {
  return {
    model: qrModel(options, tool),
    transferSyntaxes: qrProposedSyntaxes(options),
    keys: qrKeys(options),
    files: options.params.slice(2),
    repeat: options.uint("--repeat", { min: 1 }) ?? 1,
    cancelAfter: options.defines("--cancel") ? options.uint("--cancel", { min: 0 }) : undefined,
  };
}
