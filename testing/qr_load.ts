/**
 * Many small images for Query/Retrieve tests and benchmarks: `count`
 * 1x1 MR images (a few hundred bytes each) spread over studies, written
 * fast (one encode per file, no pixel work), and loaded into a dcmqrscp
 * (dcmqridx in batches, no network).
 */
import { makeImageFile } from "./dicom_files.ts";
import type { Dcmqrscp } from "./dcmqrscp.ts";
import { runCommand, show } from "./procs.ts";

/** What {@link writeSmallImages} wrote: the files and the study UIDs. */
export interface SmallImages {
  /** The files, in order. */
  files: string[];
  /** The study UIDs, in order. */
  studies: string[];
}

/**
 * Writes `count` 1x1 images into `dir`, `perStudy` per study (default all
 * in one), patient `PID-<n>` per study.
 */
export async function writeSmallImages(
  dir: string,
  count: number,
  perStudy = count,
): Promise<SmallImages> {
  const files: string[] = [];
  const studies: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = Math.floor(i / perStudy);
    const studyUid = `1.2.826.0.1.3680043.9.7433.5.${s + 1}`;
    if (studies.length === s) studies.push(studyUid);
    const path = `${dir}/s${s}_${i}.dcm`;
    await Deno.writeFile(
      path,
      makeImageFile({
        rows: 1,
        // Two pixels of 8 bits: the pixel data's length is even (PS3.5 7.1.1).
        cols: 2,
        bitsAllocated: 8,
        withSequence: false,
        privateTags: false,
        studyUid,
        seriesUid: `${studyUid}.1`,
        sopInstanceUid: `${studyUid}.1.${i + 1}`,
        patientName: `Patient^${s + 1}`,
        patientId: `PID-${s + 1}`,
      }),
    );
    files.push(path);
  }
  return { files, studies };
}

/**
 * Puts files into a dcmqrscp's archive of `aeTitle` in place: moves them
 * into its storage area and indexes them with dcmqridx, 500 at a time.
 */
export async function indexInPlace(scp: Dcmqrscp, aeTitle: string, files: string[]): Promise<void> {
  const area = scp.storageArea(aeTitle);
  const moved: string[] = [];
  for (const f of files) {
    const to = `${area}/${f.split("/").pop()}`;
    await Deno.rename(f, to);
    moved.push(to);
  }
  for (let i = 0; i < moved.length; i += 500) {
    // dcmqridx scans its whole index for each file: 10,000 files take minutes.
    const run = await runCommand("dcmqridx", [area, ...moved.slice(i, i + 500)], 3_600_000);
    if (run.code !== 0) throw new Error(`dcmqridx failed: ${show(run)}`);
  }
}
