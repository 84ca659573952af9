/**
 * Presentation contexts for what a program is about to send: one per SOP
 * class and transfer syntax found, so that every data set goes out as it
 * is, in its own syntax (nothing is converted on the way).
 *
 * @module
 */
import { inspectDicomFile } from "../dicom/part10.ts";
import type { ContextProposal } from "./associate.ts";

/** What a context is needed for: a file, or a data set's class and syntax. */
export type StorageItem = string | { sopClassUid: string; transferSyntax: string };

/**
 * The contexts to propose for sending `items` (files are read for their
 * class and syntax): one per distinct (SOP class, transfer syntax), in the
 * order first met. Throws a RangeError past 128 (PS3.8 9.3.2.2 allows no more).
 *
 * @example Send a folder
 * ```ts ignore
 * const files = [...Deno.readDirSync("study")].map((e) => `study/${e.name}`);
 * await using assoc = await associate("PACS@10.0.0.5:104", {
 *   contexts: await storageContextsFor(files),
 * });
 * for (const f of files) console.log(f, (await assoc.store(f)).status);
 * ```
 */
export async function storageContextsFor(
  items: readonly StorageItem[],
): Promise<ContextProposal[]> {
  const seen = new Map<string, ContextProposal>();
  for (const item of items) {
    const { sopClassUid, transferSyntax } = typeof item === "string"
      ? await classAndSyntax(item)
      : item;
    const key = `${sopClassUid} ${transferSyntax}`;
    if (!seen.has(key)) {
      seen.set(key, { abstractSyntax: sopClassUid, transferSyntaxes: [transferSyntax] });
    }
  }
  if (seen.size > 128) {
    throw new RangeError(
      `${seen.size} SOP class and transfer syntax pairs need more than the 128 presentation ` +
        "contexts an association can have: send them on several associations",
    );
  }
  return [...seen.values()];
}

async function classAndSyntax(
  path: string,
): Promise<{ sopClassUid: string; transferSyntax: string }> {
  const info = await inspectDicomFile(path, "file-or-dataset");
  return { sopClassUid: info.sopClassUid, transferSyntax: info.transferSyntaxUid };
}
