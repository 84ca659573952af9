/**
 * The Storage Service Class as SCP (PS3.4 Annex B.2), after DCMTK's
 * storescp: every C-STORE data set streams into a `.part` file as its
 * fragments arrive (file meta information first, PS3.10 7.1), and the file
 * is renamed into place only once the data set is complete and consistent
 * with its request. An aborted transfer, a lost connection, a refused or
 * failed store leave nothing behind. Names never come unchecked from the
 * peer: UIDs used in paths must be valid UIDs (PS3.5 9.1), and every path
 * must stay inside the output directory.
 *
 * @module
 */
import { FileMetaEncoder } from "../../dicom/part10.ts";
import { sopClassModality, STORAGE_SOP_CLASSES } from "../../dicom/sop_classes.ts";
import { newUid } from "../../util/uid.ts";
import { TopLevelWatcher } from "../../dicom/watcher.ts";
import { dumpMessage } from "../../dimse/dump.ts";
import type { CStoreRq } from "../../dimse/messages.ts";
import { formatStatus } from "../../dimse/status.ts";
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  VERIFICATION_SOP_CLASS,
} from "../../dicom/uids.ts";
import { uidName } from "../../dicom/uid_names.ts";
import { isValidUid } from "../../util/uid.ts";
import type { AcceptorPolicy } from "../../ae/negotiation.ts";
import {
  childPath,
  DEFAULT_WRITE_BATCH,
  DENO_FILE_SINK,
  type FileSink,
  normalizeDir,
  PartFile,
  WriteBufferPool,
} from "../../ae/file_store.ts";
import { STORE_STATUS } from "../../ae/services.ts";
import {
  type CommandHandler,
  type RequestContext,
  type RequestInterrupted,
  slowText,
} from "../../ae/server.ts";

// ---------------------------------------------------------------------------
// negotiation

/** Explicit VR little endian, big endian, implicit: the uncompressed syntaxes, DCMTK's order. */
const UNCOMPRESSED = [EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];

/**
 * What DCMTK's storescp accepts with `+xa` (dcmnet/apps/storescp.cc, 3.6.7),
 * best first: the compressed syntaxes DCMTK knows, deflate, then the
 * uncompressed ones.
 */
const ACCEPT_ALL = [
  "1.2.840.10008.1.2.4.91", // JPEG 2000
  "1.2.840.10008.1.2.4.90", // JPEG 2000 lossless
  "1.2.840.10008.1.2.4.51", // JPEG extended (process 2 & 4)
  "1.2.840.10008.1.2.4.50", // JPEG baseline (process 1)
  "1.2.840.10008.1.2.4.70", // JPEG lossless, first-order prediction (process 14 SV1)
  "1.2.840.10008.1.2.4.81", // JPEG-LS near-lossless
  "1.2.840.10008.1.2.4.80", // JPEG-LS lossless
  "1.2.840.10008.1.2.5", // RLE lossless
  "1.2.840.10008.1.2.4.100", // MPEG2 main profile @ main level
  "1.2.840.10008.1.2.4.101", // MPEG2 main profile @ high level
  "1.2.840.10008.1.2.4.102", // MPEG-4 AVC/H.264 high profile / level 4.1
  "1.2.840.10008.1.2.4.103", // MPEG-4 AVC/H.264 BD-compatible high profile / level 4.1
  "1.2.840.10008.1.2.4.104", // MPEG-4 AVC/H.264 high profile / level 4.2, 2D
  "1.2.840.10008.1.2.4.105", // MPEG-4 AVC/H.264 high profile / level 4.2, 3D
  "1.2.840.10008.1.2.4.106", // MPEG-4 AVC/H.264 stereo high profile / level 4.2
  "1.2.840.10008.1.2.4.107", // HEVC/H.265 main profile / level 5.1
  "1.2.840.10008.1.2.4.108", // HEVC/H.265 main 10 profile / level 5.1
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  ...UNCOMPRESSED,
];

/**
 * Which transfer syntaxes storescp accepts: `{ prefer: uid }` puts that
 * syntax first and the uncompressed ones after it (DCMTK's +x=, +xe, +xb,
 * +xs, +xd...), "implicit" accepts implicit VR little endian only (+xi),
 * "all" every syntax DCMTK's +xa accepts.
 */
export type StoreScpSyntaxChoice = { prefer: string } | "implicit" | "all";

/** The syntaxes accepted for every SOP class, best first, as DCMTK's storescp orders them. */
export function storeScpTransferSyntaxes(choice: StoreScpSyntaxChoice): string[] {
  if (choice === "implicit") return [IMPLICIT_VR_LITTLE_ENDIAN];
  if (choice === "all") return [...ACCEPT_ALL];
  return [choice.prefer, ...UNCOMPRESSED.filter((ts) => ts !== choice.prefer)];
}

/** The root of the UIDs the DICOM standard defines (PS3.5 9.1). */
const STANDARD_ROOT = "1.2.840.10008.";
/** The branch of the standard's composite instance storage SOP classes (PS3.6 Annex A). */
const STORAGE_BRANCH = "1.2.840.10008.5.1.4.1.1.";

/**
 * Whether an abstract syntax we do not know may be a storage SOP class:
 * a private one (outside the standard's root) or a standard one in the
 * storage branch, newer than our tables; and a valid UID, as it becomes
 * the stored file's Media Storage SOP Class UID. DCMTK's -pm accepts every
 * UID its dictionary does not name; ours names fewer UIDs (no
 * query/retrieve, worklist... classes), so it keeps to where storage
 * classes live.
 */
function mayBeStorageClass(uid: string): boolean {
  // Only a UID (PS3.5 9.1): it becomes the file's Media Storage SOP Class UID.
  return isValidUid(uid) && uidName(uid) === undefined &&
    (!uid.startsWith(STANDARD_ROOT) || uid.startsWith(STORAGE_BRANCH));
}

/**
 * Abstract syntaxes of a promiscuous storescp (DCMTK's -pm): the known
 * ones, plus unknown ones that may be storage SOP classes. Negotiation only
 * looks classes up (PS3.8 9.3.3.2), so answering `get` is all it takes.
 */
class PromiscuousSyntaxes extends Map<string, string[]> {
  readonly #syntaxes: string[];

  constructor(known: Iterable<[string, string[]]>, syntaxes: string[]) {
    super(known);
    this.#syntaxes = syntaxes;
  }

  override get(uid: string): string[] | undefined {
    return super.get(uid) ?? (mayBeStorageClass(uid) ? this.#syntaxes : undefined);
  }

  override has(uid: string): boolean {
    return this.get(uid) !== undefined;
  }
}

/**
 * The acceptor policy of storescp: Verification and every storage SOP class
 * DCMTK's storescp accepts, each with the same syntaxes (DCMTK does the same).
 */
export function storagePolicy(o: {
  aeTitle: string;
  maxPdu: number;
  transferSyntaxes: string[];
  allowedCallingAeTitles?: string[];
  promiscuous?: boolean;
  /** --async: the asynchronous operations window granted at most (PS3.7 D.3.3.3). */
  maxOperationsPerformed?: number;
}): AcceptorPolicy {
  const known: [string, string[]][] = [
    [VERIFICATION_SOP_CLASS, o.transferSyntaxes],
    ...STORAGE_SOP_CLASSES.map((c): [string, string[]] => [c.uid, o.transferSyntaxes]),
  ];
  return {
    aeTitle: o.aeTitle,
    maxPdu: o.maxPdu,
    allowedCallingAeTitles: o.allowedCallingAeTitles,
    maxOperationsPerformed: o.maxOperationsPerformed,
    abstractSyntaxes: o.promiscuous
      ? new PromiscuousSyntaxes(known, o.transferSyntaxes)
      : new Map(known),
  };
}

// ---------------------------------------------------------------------------
// the handler

/** One C-STORE request's outcome: what `--json` prints. */
export interface StoreEvent {
  /** Event discriminant. */
  event: "store";
  /** The peer's address, host:port. */
  peer: string;
  /** Where the data set was stored; null when it was not (refused, failed, --ignore). */
  path: string | null;
  /** Message ID of the request. */
  messageId: number;
  /** Affected SOP Class UID of the request. */
  sopClassUid: string;
  /** Affected SOP Instance UID of the request. */
  sopInstanceUid: string;
  /** The transfer syntax of the data set (the presentation context's). */
  transferSyntax: string;
  /** Data set bytes received. */
  bytes: number;
  /** Milliseconds from the request to the response. */
  ms: number;
  /** The C-STORE-RSP status. */
  status: number;
  /** Why the store failed, when it did. */
  error?: string;
}

/** How storescp stores what it receives. */
export interface StoreScpOptions {
  /** -od: the existing directory files go to. */
  outputDirectory: string;
  /** +uf: `<modality>.X.<new UID>` names instead of `<modality>.<SOP instance UID>` (-uf). */
  uniqueFilenames?: boolean;
  /** -fe: appended to every file name. */
  extension?: string;
  /** -su: sort into subdirectories `<prefix>_<Study Instance UID>` (no `_` when the prefix is empty). */
  sortStudyPrefix?: string;
  /** --ignore: receive data sets but store nothing. */
  ignore?: boolean;
  /** --abort-during / --abort-after: abort the association while or after receiving a data set. */
  abort?: "during" | "after";
  /** File operations (default: the real file system). */
  sink?: FileSink;
  /** Bytes gathered per write (default {@link DEFAULT_WRITE_BATCH}). */
  writeBatch?: number;
  /** Where write batches come from (default: a pool of {@link DEFAULT_BUFFER_TOTAL} for this handler). */
  buffers?: WriteBufferPool;
  /** Receives one event per C-STORE request. */
  onStore?: (e: StoreEvent) => void;
  /** DCMTK's `RECV: ....` progress (one dot per fragment), e.g. to stdout at -v. */
  progress?: (text: string) => void;
}

const TAG_SOP_CLASS_UID = 0x00080016;
const TAG_SOP_INSTANCE_UID = 0x00080018;
const TAG_STUDY_INSTANCE_UID = 0x0020000d;
const TAG_AFFECTED_SOP_CLASS_UID = 0x00000002;
const TAG_AFFECTED_SOP_INSTANCE_UID = 0x00001000;

/** The whole data set is read (not kept): what cannot be read back is not stored. */
const WHOLE_DATASET = Object.freeze({ wholeDataset: true });

/** A refusal: status, the comment sent back (LO, PS3.7 C.4), the element at fault. */
interface Failure {
  status: number;
  comment: string;
  offending?: number;
}

/** How receiving a data set ended. */
type Received =
  | { kind: "complete"; bytes: number }
  | { kind: "abort"; why: "option" | "timeout" }
  | RequestInterrupted & { kind: "interrupted" };

/**
 * The C-STORE-RQ handler of storescp. It always drains the whole data set
 * before answering (PS3.7 9.3.1: the response follows the complete request),
 * on the request's own presentation context, also when it refuses the
 * object.
 */
export function storeHandler(o: StoreScpOptions): CommandHandler {
  const sink = o.sink ?? DENO_FILE_SINK;
  const outputDirectory = normalizeDir(o.outputDirectory);
  const batch = o.writeBatch ?? DEFAULT_WRITE_BATCH;
  const pool = o.buffers ?? new WriteBufferPool();
  // DCMTK logs a study's subdirectory when the study changes (one storescp, many associations).
  const studies = { last: undefined as string | undefined };
  // One encoder per handler: a PartFile is done with its head once constructed.
  const metas = new FileMetaEncoder();
  // What the data set is checked for (checkDataset), the same for every request.
  const watched: readonly number[] = o.sortStudyPrefix === undefined
    ? [TAG_SOP_CLASS_UID, TAG_SOP_INSTANCE_UID]
    : [TAG_SOP_CLASS_UID, TAG_SOP_INSTANCE_UID, TAG_STUDY_INSTANCE_UID];

  return async (message, ctx) => {
    if (message.type !== "C-STORE-RQ") return "abort";
    // The clock only for --json's `ms` (a call into the runtime per request otherwise).
    const started = o.onStore ? performance.now() : 0;
    const log = ctx.log;
    const modality = sopClassModality(message.affectedSopClassUid);
    if (log.isEnabled("debug")) {
      log.info("Received Store Request");
      log.debug(dumpMessage(message, "INCOMING", { contextId: ctx.contextId, uidName }));
    } else if (log.isEnabled("info")) {
      // DCMTK names an unknown class "OT" here but "UNKNOWN" in file names. The line is built
      // only when it is written (at the default level it is not: a string per file saved).
      log.info(
        `Received Store Request (MsgID ${message.messageId}, ${
          modality === "UNKNOWN" ? "OT" : modality
        })`,
      );
    }
    let failure = checkRequest(message, ctx);
    if (failure) logRefusal(log, failure);

    const name = `${
      o.uniqueFilenames
        ? `${modality}.X.${newUid()}`
        : `${modality}.${message.affectedSopInstanceUid}`
    }${o.extension ?? ""}`;
    let part: PartFile | undefined;
    if (!failure && !o.ignore) {
      const path = childPath(outputDirectory, `${name}.${crypto.randomUUID().slice(0, 8)}.part`);
      try {
        if (path === undefined) throw new Error("the name would leave the output directory");
        part = new PartFile(sink, path, fileMeta(metas, message, ctx), {
          size: batch,
          pool,
          onShortage: () =>
            log.warn(
              `Write buffers of stores in progress reached their total ` +
                `(${
                  pool.held / (1024 * 1024)
                } MiB): stores write each fragment unbuffered meanwhile`,
            ),
        });
      } catch (err) {
        failure = cannotWrite(log, path ?? name, err);
      }
    }
    const watcher = part &&
      new TopLevelWatcher(ctx.context.transferSyntax, watched, WHOLE_DATASET);

    const received = await receiveDataset(ctx, part, watcher, o);
    if (received.kind !== "complete" || o.abort === "after") {
      part?.discard();
      if (received.kind === "interrupted") return { interrupted: received.interrupted };
      if (received.kind === "complete" || received.why === "option") {
        log.info("ABORT initiated (due to command line options)");
        return "abort";
      }
      return "timeout";
    }

    // Read whole: within an asynchronous operations window the next request may come now.
    ctx.detach?.();
    let path: string | null = null;
    if (part) {
      const stored = store(part, name, watcher!, message, ctx);
      if (typeof stored === "string") path = stored;
      else failure = stored;
    }
    ctx.tally.bytes += received.bytes;
    if (path !== null) ctx.tally.stored++;
    const status = failure?.status ?? STORE_STATUS.success;
    await ctx.channel.send(ctx.contextId, {
      type: "C-STORE-RSP",
      messageIdBeingRespondedTo: message.messageId,
      affectedSopClassUid: message.affectedSopClassUid,
      // U(=) in PS3.7 Table 9.3-2: not echoed when it is no UID at all.
      affectedSopInstanceUid: isValidUid(message.affectedSopInstanceUid)
        ? message.affectedSopInstanceUid
        : undefined,
      status,
      ...(failure && {
        errorComment: failure.comment.slice(0, 64),
        ...(failure.offending !== undefined && { offendingElement: [failure.offending] }),
      }),
    });
    o.onStore?.({
      event: "store",
      peer: ctx.peer,
      path,
      messageId: message.messageId,
      sopClassUid: message.affectedSopClassUid,
      sopInstanceUid: message.affectedSopInstanceUid,
      transferSyntax: ctx.context.transferSyntax,
      bytes: received.bytes,
      ms: Math.round(performance.now() - started),
      status,
      ...(failure && { error: failure.comment }),
    });
    return status;
  };

  /**
   * Completes the file, checks the data set against the request, and moves
   * it into place: the final path, or why it was not stored (the .part is
   * gone either way).
   */
  function store(
    part: PartFile,
    name: string,
    watcher: TopLevelWatcher,
    message: CStoreRq,
    ctx: RequestContext,
  ): string | Failure {
    const log = ctx.log;
    try {
      part.finish();
    } catch (err) {
      part.discard();
      return cannotWrite(log, part.path, err);
    }
    const found = checkDataset(watcher, message, o.sortStudyPrefix !== undefined);
    let dir: string | undefined = outputDirectory;
    if (!("status" in found) && o.sortStudyPrefix !== undefined) {
      const study = found.study!;
      const sub = o.sortStudyPrefix === "" ? study : `${o.sortStudyPrefix}_${study}`;
      dir = childPath(outputDirectory, sub);
      if (dir !== undefined) {
        try {
          const created = sink.makeDirectory(dir);
          if (studies.last !== study) {
            log.info(
              `${created ? "created new" : "using existing"} subdirectory for study: ${dir}`,
            );
          }
          studies.last = study;
        } catch (err) {
          log.error(`could not create subdirectory for study: ${dir}: ${errorText(err)}`);
          part.discard();
          return { status: STORE_STATUS.outOfResources, comment: "cannot create study directory" };
        }
      }
    }
    const path = dir === undefined ? undefined : childPath(dir, name);
    if ("status" in found || path === undefined) {
      part.discard();
      const failure = "status" in found ? found : {
        status: STORE_STATUS.cannotUnderstand,
        comment: "the file name would leave the output directory",
      };
      return logRefusal(log, failure);
    }
    if (log.isEnabled("info")) log.info(`storing DICOM file: ${path}`);
    try {
      if (!sink.moveNew(part.path, path)) {
        log.warn(`DICOM file already exists, overwriting: ${path}`);
        sink.rename(part.path, path);
      }
    } catch (err) {
      part.discard();
      return cannotWrite(log, path, err);
    }
    return path;
  }
}

/** The failures we can tell from the command alone, before any data arrives. */
function checkRequest(message: CStoreRq, ctx: RequestContext): Failure | undefined {
  if (message.affectedSopClassUid !== ctx.context.abstractSyntax) {
    return {
      status: STORE_STATUS.sopClassNotSupported,
      comment: `SOP class ${message.affectedSopClassUid} is not the context's ` +
        ctx.context.abstractSyntax,
      offending: TAG_AFFECTED_SOP_CLASS_UID,
    };
  }
  if (!isValidUid(message.affectedSopInstanceUid)) {
    return {
      status: STORE_STATUS.cannotUnderstand,
      comment: `SOP instance UID ${JSON.stringify(message.affectedSopInstanceUid)} is not a UID`,
      offending: TAG_AFFECTED_SOP_INSTANCE_UID,
    };
  }
  return undefined;
}

/**
 * The data set's SOP class and instance must be the request's (DCMTK
 * answers 0xA900 otherwise, 0xC000 when they are missing), and with -su its
 * Study Instance UID must be a valid UID: it names a directory.
 */
function checkDataset(
  watcher: TopLevelWatcher,
  message: CStoreRq,
  sortByStudy: boolean,
): Failure | { study?: string } {
  if (watcher.error) {
    return {
      status: STORE_STATUS.cannotUnderstand,
      comment: `bad data set: ${watcher.error.message}`,
    };
  }
  const values = watcher.values();
  const sopClass = values.get(TAG_SOP_CLASS_UID);
  const sopInstance = values.get(TAG_SOP_INSTANCE_UID);
  if (!sopClass || !sopInstance) {
    return {
      status: STORE_STATUS.cannotUnderstand,
      comment: "data set without SOP class or instance UID",
      offending: sopClass ? TAG_SOP_INSTANCE_UID : TAG_SOP_CLASS_UID,
    };
  }
  if (sopClass !== message.affectedSopClassUid) {
    return {
      status: STORE_STATUS.datasetDoesNotMatch,
      comment: `data set SOP class ${sopClass} differs from the request's`,
      offending: TAG_SOP_CLASS_UID,
    };
  }
  if (sopInstance !== message.affectedSopInstanceUid) {
    return {
      status: STORE_STATUS.datasetDoesNotMatch,
      comment: `data set SOP instance ${sopInstance} differs from the request's`,
      offending: TAG_SOP_INSTANCE_UID,
    };
  }
  if (!sortByStudy) return {};
  const study = values.get(TAG_STUDY_INSTANCE_UID);
  if (!study) {
    return {
      status: STORE_STATUS.cannotUnderstand,
      comment: "element StudyInstanceUID (0020,000d) absent or empty in data set",
      offending: TAG_STUDY_INSTANCE_UID,
    };
  }
  if (!isValidUid(study)) {
    return {
      status: STORE_STATUS.cannotUnderstand,
      comment: `Study Instance UID ${JSON.stringify(study)} is not a UID`,
      offending: TAG_STUDY_INSTANCE_UID,
    };
  }
  return { study };
}

/** The file meta information of a received instance (PS3.10 7.1), as DCMTK's storescp writes it. */
function fileMeta(metas: FileMetaEncoder, message: CStoreRq, ctx: RequestContext): Uint8Array {
  return metas.encode({
    mediaStorageSopClassUid: message.affectedSopClassUid,
    mediaStorageSopInstanceUid: message.affectedSopInstanceUid,
    transferSyntaxUid: ctx.context.transferSyntax,
    sourceAeTitle: ctx.rq.callingAeTitle,
  });
}

/** Fragments between progress updates: one write of dots per 64 PDVs. */
const DOTS_PER_UPDATE = 64;

/**
 * Reads the request's data set to its last fragment (PS3.7 8.1, PS3.8
 * E.2), feeding the .part file and the watcher when given. Anything but a
 * data fragment on the request's context ends the request: the event is
 * handed back to the server.
 */
async function receiveDataset(
  ctx: RequestContext,
  part: PartFile | undefined,
  watcher: TopLevelWatcher | undefined,
  o: StoreScpOptions,
): Promise<Received> {
  let bytes = 0;
  let dots = 0;
  o.progress?.("RECV: ");
  for (;;) {
    // Fragments already read come without a promise each; a wait only when none is.
    const ev = ctx.channel.poll() ?? await ctx.channel.receive(ctx.dimseTimeoutMs);
    if (ev.kind === "data") {
      if (o.abort === "during") return { kind: "abort", why: "option" };
      bytes += ev.chunk.length;
      part?.add(ev.chunk);
      if (watcher && !watcher.done) watcher.push(ev.chunk);
      // Both copy what they keep (the .part file into its batch, written synchronously;
      // the watcher the values it collects): the PDU's memory may be read into again.
      ev.release?.();
      if (o.progress && (++dots === DOTS_PER_UPDATE || ev.last)) {
        o.progress(`${".".repeat(dots)}${ev.last ? "\n" : ""}`);
        dots = 0;
      }
      if (ev.last) {
        watcher?.end();
        return { kind: "complete", bytes };
      }
      continue;
    }
    // The channel checks the fragment sequence (PS3.7 8.1, PS3.8 E.2): data comes on the
    // command's context and nothing else before its last fragment, else a protocol error.
    o.progress?.("\n");
    if (ev.kind === "timeout") {
      ctx.log.error(
        ev.slow
          ? `${ctx.peer}: data set arriving too slowly: ${slowText(ev.slow)}`
          : `DIMSE timeout: data set incomplete after ${ctx.dimseTimeoutMs! / 1000} s`,
      );
      return { kind: "abort", why: "timeout" };
    }
    return { kind: "interrupted", interrupted: ev };
  }
}

/** Logs why a data set is refused, with the status it gets; returns the failure. */
function logRefusal(log: RequestContext["log"], failure: Failure): Failure {
  log.error(
    `Store SCP: ${failure.comment}: refusing with ${formatStatus(failure.status, "C-STORE")}`,
  );
  return failure;
}

/** Logs a write failure as DCMTK does; the status is 0xA700 (PS3.4 B.2.3). */
function cannotWrite(log: RequestContext["log"], path: string, err: unknown): Failure {
  log.error(`cannot write DICOM file: ${path}: ${errorText(err)}`);
  return { status: STORE_STATUS.outOfResources, comment: `cannot write file: ${errorText(err)}` };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// partial files of an earlier run

/** What storescp found (and removed) at start: the `stale-parts` event of `--json`. */
export interface StalePartsEvent {
  /** Event discriminant. */
  event: "stale-parts";
  /** The output directory. */
  directory: string;
  /** Partial files found. */
  count: number;
  /** Age of the oldest, seconds since it was last written to. */
  oldestSeconds: number;
  /** How many were removed. */
  removed: number;
}

/**
 * A partial file is removed only when nothing wrote to it for this long:
 * a younger one may belong to another storescp writing into the same
 * directory now.
 */
export const STALE_PART_AGE_MS = 60_000;

/** The names storescp gives its partial files: `<name>.<8 hex digits>.part`. */
const PART_NAME = /\.[0-9a-f]{8}\.part$/;

/**
 * The partial files an earlier run left in `dir` (a crash, a kill -9: a
 * stop or a failed store removes its own), with one line to log; with
 * `remove`, those not written to for {@link STALE_PART_AGE_MS} are
 * removed. Undefined when there are none.
 */
export function staleParts(
  dir: string,
  remove: boolean,
  now: number = Date.now(),
): { line: string; event: StalePartsEvent } | undefined {
  const found: { path: string; ageMs: number }[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !PART_NAME.test(entry.name)) continue;
    const path = `${normalizeDir(dir)}/${entry.name}`;
    try {
      found.push({ path, ageMs: now - (Deno.lstatSync(path).mtime?.getTime() ?? now) });
    } catch {
      // Gone meanwhile (moved into place by another storescp).
    }
  }
  if (found.length === 0) return undefined;
  // A fold, not Math.max(...list): spread arguments overflow the stack past ~120,000 entries.
  const oldestMs = found.reduce((most, f) => Math.max(most, f.ageMs), -Infinity);
  let removed = 0;
  if (remove) {
    for (const f of found) {
      if (f.ageMs < STALE_PART_AGE_MS) continue;
      try {
        Deno.removeSync(f.path);
        removed++;
      } catch {
        // Gone meanwhile, or not ours to remove: it stays counted as kept.
      }
    }
  }
  const files = (n: number) => `${n} partial file${n === 1 ? "" : "s"} (*.part)`;
  const oldest = `the oldest last written ${age(oldestMs)} ago`;
  const kept = found.length - removed;
  const line = !remove
    ? `${files(found.length)} from an earlier run in ${dir}, ${oldest}: ` +
      "--remove-stale-parts removes them"
    : `removed ${files(removed)} an earlier run left in ${dir}, ${oldest}` +
      (kept ? `; kept ${kept} written to within the last minute (another storescp?)` : "");
  return {
    line,
    event: {
      event: "stale-parts",
      directory: dir,
      count: found.length,
      oldestSeconds: Math.round(oldestMs / 1000),
      removed,
    },
  };
}

/** "45 s", "12 min", "5 h", "3 days". */
function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
