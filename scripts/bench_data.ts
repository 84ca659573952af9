/**
 * The benchmark's test data, written once under `--data DIR` and reused:
 * CT-like images (CT Image Storage, 512x512x16, about 0.5 MB each; the set
 * grows to the largest count asked for, and a smaller run uses its first
 * files) and one multi-frame MR file per size asked for. A marker written
 * last says what is complete, so an interrupted generation is redone.
 *
 * @module
 */
import { MR_IMAGE_STORAGE, writeImageFile } from "../testing/dicom_files.ts";

/** CT Image Storage. */
export const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";
const FRAME_BYTES = 512 * 512 * 2;
const ROOT = "1.2.826.0.1.3680043.10.1001";

/** The default data directory: under the system temp dir. */
export function defaultDataDir(): string {
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/dimse-bench-data`;
}

/** Input files and their total size. */
export interface Inputs {
  paths: string[];
  bytes: number;
}

async function readCount(marker: string): Promise<number> {
  try {
    return Number(await Deno.readTextFile(marker)) || 0;
  } catch {
    return 0;
  }
}

/** The first `n` CT files of the data set in `dir`, written now if missing. */
export async function ctFiles(dir: string, n: number): Promise<Inputs> {
  const folder = `${dir}/ct-512x512x16`;
  const marker = `${folder}/.complete`;
  const path = (i: number) => `${folder}/ct${String(i).padStart(5, "0")}.dcm`;
  const have = await readCount(marker);
  if (have < n) {
    await Deno.mkdir(folder, { recursive: true });
    console.error(`bench: writing CT files ${have + 1}..${n} (512x512x16) to ${folder}`);
    const study = `${ROOT}.1`;
    for (let i = have; i < n; i++) {
      await writeImageFile(path(i), {
        rows: 512,
        cols: 512,
        bitsAllocated: 16,
        frames: 1,
        modality: "CT",
        sopClassUid: CT_IMAGE_STORAGE,
        sopInstanceUid: `${study}.1.${i + 1}`,
        studyUid: study,
        seriesUid: `${study}.1`,
      });
      if ((i + 1) % 500 === 0) await Deno.writeTextFile(marker, String(i + 1));
    }
    await Deno.writeTextFile(marker, String(n));
  }
  const paths = Array.from({ length: n }, (_, i) => path(i));
  let bytes = 0;
  for (const p of paths) bytes += (await Deno.stat(p)).size;
  return { paths, bytes };
}

/** One MR file of `mb` MiB of pixel data (512x512x16 frames), written now if missing. */
export async function bigFile(dir: string, mb: number): Promise<Inputs> {
  const path = `${dir}/mr-${mb}mib.dcm`;
  const marker = `${path}.complete`;
  if ((await readCount(marker)) !== mb) {
    await Deno.mkdir(dir, { recursive: true });
    console.error(`bench: writing one ${mb} MiB file to ${path}`);
    const study = `${ROOT}.2`;
    await writeImageFile(path, {
      rows: 512,
      cols: 512,
      bitsAllocated: 16,
      frames: Math.max(1, Math.round((mb * 1024 * 1024) / FRAME_BYTES)),
      sopClassUid: MR_IMAGE_STORAGE,
      sopInstanceUid: `${study}.1.${mb}`,
      studyUid: study,
      seriesUid: `${study}.1`,
    });
    await Deno.writeTextFile(marker, String(mb));
  }
  return { paths: [path], bytes: (await Deno.stat(path)).size };
}
