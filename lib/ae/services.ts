/**
 * The services a program composes into `serve()` or `associate()`:
 * Verification (PS3.4 Annex A) and Storage (PS3.4 Annex B) as SCP, the
 * latter storing into a {@link fileStore} or handing each data set to a
 * handler of the program's own.
 *
 * @module
 */
import { FileMetaEncoder } from "../dicom/part10.ts";
import { sopClassModality, STORAGE_SOP_CLASSES } from "../dicom/sop_classes.ts";
import { VERIFICATION_SOP_CLASS } from "../dicom/uids.ts";
import type { CEchoRq, CStoreRq } from "../dimse/messages.ts";
import { isValidUid } from "../util/uid.ts";
import { DimseError } from "./errors.ts";
import { UNCOMPRESSED_TRANSFER_SYNTAXES } from "./negotiation.ts";
import {
  childPath,
  DENO_FILE_SINK,
  type FileSink,
  PartFile,
  WriteBufferPool,
} from "./file_store.ts";
import {
  type HandlerResult,
  type RequestContext,
  type Service,
  singleResponse,
} from "./service.ts";

// Defined with the negotiation code, which associate() loads without the services.
export { UNCOMPRESSED_TRANSFER_SYNTAXES };

/** The C-STORE statuses of the storage services (PS3.4 Table B.2-1, PS3.7 Annex C). */
export const STORE_STATUS = {
  /** Stored. */
  success: 0x0000,
  /**
   * PS3.7 C.5 "Refused: SOP Class not supported": the request names a SOP
   * class other than the abstract syntax of the presentation context it came
   * on (PS3.7 9.3.1.1), so we cannot know which class it really is.
   */
  sopClassNotSupported: 0x0122,
  /** PS3.4 B.2.3 "Refused: Out of Resources": the file could not be written (disk full...). */
  outOfResources: 0xa700,
  /** PS3.4 B.2.3 "Error: Data Set does not match SOP Class": its SOP class or instance UID differs from the request's. */
  datasetDoesNotMatch: 0xa900,
  /**
   * PS3.4 B.2.3 "Error: Cannot understand": a UID we need for a file name is
   * not a UID (PS3.5 9.1: digits and dots, at most 64 characters), or the data
   * set lacks what we need from it. The failure the standard gives for a
   * request the SCP cannot interpret; it names the offending element.
   */
  cannotUnderstand: 0xc000,
} as const;

/** Options of {@link verification}. */
export interface VerificationOptions {
  /** Transfer syntaxes accepted, best first (default: the uncompressed ones). */
  transferSyntaxes?: readonly string[];
}

/**
 * The Verification SOP Class as SCP: every C-ECHO-RQ is answered with
 * success (PS3.7 9.3.5.2) whenever Verification was accepted.
 */
export function verification(o: VerificationOptions = {}): Service {
  const syntaxes = o.transferSyntaxes ?? UNCOMPRESSED_TRANSFER_SYNTAXES;
  return singleResponse<CEchoRq>({
    name: "verification",
    commands: ["C-ECHO-RQ"],
    abstractSyntaxes: [VERIFICATION_SOP_CLASS],
    transferSyntaxes: (uid) => uid === VERIFICATION_SOP_CLASS ? syntaxes : undefined,
    failureStatus: 0x0110,
    handler: () => 0,
  });
}

/** What a storage handler gets: the request, its data set, the association. */
export type StoreContext = RequestContext<CStoreRq> & { dataset: AsyncIterable<Uint8Array> };

/**
 * Stores one received data set: returns the status (nothing: success), or
 * throws a {@link DimseError} to refuse with its status. The data set must
 * be read (or it is drained after the handler); its chunks are valid until
 * the next is asked for.
 */
export type StoreHandler = (ctx: StoreContext) => HandlerResult | Promise<HandlerResult>;

/** Options of {@link storage}. */
export interface StorageOptions {
  /** Where data sets go: a {@link fileStore}, or a handler of your own. */
  store: StoreHandler;
  /** SOP classes accepted (default: every storage SOP class we know). */
  sopClasses?: readonly string[];
  /** Transfer syntaxes accepted for each, best first (default: the uncompressed ones). */
  transferSyntaxes?: readonly string[];
}

/**
 * The Storage Service Class as SCP: C-STORE requests of the accepted
 * classes go to `store`; a request whose SOP class is not its context's
 * abstract syntax is refused (0x0122, PS3.7 9.3.1.1) before the handler.
 */
export function storage(o: StorageOptions): Service {
  const classes = o.sopClasses ?? STORAGE_SOP_CLASSES.map((c) => c.uid);
  const known = new Set(classes);
  const syntaxes = o.transferSyntaxes ?? UNCOMPRESSED_TRANSFER_SYNTAXES;
  return singleResponse<CStoreRq>({
    name: "storage",
    commands: ["C-STORE-RQ"],
    abstractSyntaxes: classes,
    transferSyntaxes: (uid) => known.has(uid) ? syntaxes : undefined,
    failureStatus: STORE_STATUS.cannotUnderstand,
    handler: (ctx) => {
      const m = ctx.message;
      if (m.affectedSopClassUid !== ctx.context.abstractSyntax) {
        throw new DimseError(
          STORE_STATUS.sopClassNotSupported,
          `SOP class ${m.affectedSopClassUid} is not the context's ${ctx.context.abstractSyntax}`,
          [0x00000002],
        );
      }
      return o.store(ctx as StoreContext);
    },
  });
}

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /** The existing directory files go to. */
  dir: string;
  /**
   * The file name of a stored instance (one path component, no separator);
   * default `<modality>.<SOP Instance UID>.dcm` (`CT.1.2.3.dcm`).
   */
  name?: (request: CStoreRq) => string;
  /** Called with each file's path once it is in place. */
  onStored?: (path: string, ctx: StoreContext) => void;
  /** File operations (default: the real file system through Deno's API). */
  sink?: FileSink;
  /** Write batches shared by the stores in progress (default: one pool of 32 MiB). */
  buffers?: WriteBufferPool;
}

/**
 * A {@link StoreHandler} writing each data set as a DICOM file (PS3.10:
 * file meta information, then the data set as received) through a `.part`
 * file renamed into place once the data set is complete: an interrupted
 * transfer or a failed write leaves nothing behind. The SOP Instance UID
 * names the file only when it is a valid UID (0xC000 otherwise); a write
 * failure answers 0xA700.
 */
export function fileStore(o: FileStoreOptions): StoreHandler {
  const sink = o.sink ?? DENO_FILE_SINK;
  const pool = o.buffers ?? new WriteBufferPool();
  // One encoder per handler: a PartFile is done with its head once constructed.
  const metas = new FileMetaEncoder();
  const name = o.name ??
    ((m: CStoreRq) => `${sopClassModality(m.affectedSopClassUid)}.${m.affectedSopInstanceUid}.dcm`);
  return async (ctx) => {
    const m = ctx.message;
    if (!isValidUid(m.affectedSopInstanceUid)) {
      throw new DimseError(
        STORE_STATUS.cannotUnderstand,
        `SOP instance UID ${JSON.stringify(m.affectedSopInstanceUid)} is not a UID`,
        [0x00001000],
      );
    }
    const final = childPath(o.dir, name(m));
    const partPath = final && `${final}.${crypto.randomUUID().slice(0, 8)}.part`;
    if (!final || !partPath) {
      throw new DimseError(
        STORE_STATUS.cannotUnderstand,
        "the file name would leave the directory",
      );
    }
    const meta = metas.encode({
      mediaStorageSopClassUid: m.affectedSopClassUid,
      mediaStorageSopInstanceUid: m.affectedSopInstanceUid,
      transferSyntaxUid: ctx.context.transferSyntax,
      sourceAeTitle: ctx.association.callingAeTitle,
    });
    let part: PartFile;
    try {
      part = new PartFile(sink, partPath, meta, { size: 256 * 1024, pool });
    } catch (err) {
      throw new DimseError(STORE_STATUS.outOfResources, `cannot write file: ${errorText(err)}`);
    }
    try {
      for await (const chunk of ctx.dataset) part.add(chunk);
      part.finish();
      if (!sink.moveNew(part.path, final)) sink.rename(part.path, final);
    } catch (err) {
      part.discard();
      if (ctx.signal.aborted) throw err;
      throw new DimseError(STORE_STATUS.outOfResources, `cannot write file: ${errorText(err)}`);
    }
    o.onStored?.(final, ctx);
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
