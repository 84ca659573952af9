/**
 * Synthetic DICOM files for tests and benchmarks: an MR image (512x512x16
 * by default, any number of frames) in any of the four uncompressed
 * transfer syntaxes or an encapsulated one (fake fragments), with nested
 * sequences, private elements and, on request, odd value lengths. Big files
 * are written as a stream: one frame is in memory at a time. Also: a Part 10
 * file read back.
 */

import { type Dataset, decodeDataset, type Element, encodeDataset } from "../lib/dicom/dataset.ts";
import { deflateRaw, deflateRawChunks } from "../lib/dicom/deflate.ts";
import { decodeFileMeta, encodeFileMeta, type FileMeta } from "../lib/dicom/part10.ts";
import { tsEncoding } from "../lib/dicom/transfer_syntax.ts";
import { encodeText, swapInPlace } from "../lib/dicom/vr.ts";
import { ChunkSink, DatasetEncoder } from "../lib/dicom/writer.ts";
import { newUid } from "../lib/util/uid.ts";
import { concatBytes } from "../lib/util/bytes.ts";

/** MR Image Storage. */
export const MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4";
/** JPEG Lossless SV1, the encapsulated syntax the helpers use by default for fragments. */
export const JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70";

/** What to put in a synthetic image file. */
export interface ImageFileOptions {
  rows?: number;
  cols?: number;
  bitsAllocated?: 8 | 16;
  frames?: number;
  /** Transfer syntax (default explicit VR little endian). */
  ts?: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyUid?: string;
  seriesUid?: string;
  patientName?: string;
  patientId?: string;
  /** (0008,0060) Modality (default MR). */
  modality?: string;
  /** A two-item (0008,1140) sequence whose first item nests (0040,A170) (default true). */
  withSequence?: boolean;
  /** Private creator (0029,0010) and private LO, US, OB, UN and SQ elements (default true). */
  privateTags?: boolean;
  /** Private OB and UN values of odd length (not valid DICOM, PS3.5 7.1.1; default false). */
  oddLengths?: boolean;
  /** Sequences and items with defined lengths (default false: undefined lengths). */
  definedLengths?: boolean;
  /** Preamble, DICM and file meta information (default true); false for a bare data set. */
  meta?: boolean;
  /** (0002,0016) in the meta information. */
  sourceAeTitle?: string;
}

interface Resolved extends Required<Omit<ImageFileOptions, "sourceAeTitle">> {
  sourceAeTitle?: string;
}

function resolve(o: ImageFileOptions): Resolved {
  return {
    rows: 512,
    cols: 512,
    bitsAllocated: 16,
    frames: 1,
    ts: "1.2.840.10008.1.2.1",
    sopClassUid: MR_IMAGE_STORAGE,
    sopInstanceUid: newUid(),
    studyUid: newUid(),
    seriesUid: newUid(),
    patientName: "TEST^PATIENT",
    patientId: "PID-0001",
    modality: "MR",
    withSequence: true,
    privateTags: true,
    oddLengths: false,
    definedLengths: false,
    meta: true,
    ...o,
  };
}

function numbers(
  tag: number,
  vr: string,
  values: number[],
  size: 2 | 4 | 8,
  le: boolean,
): Element {
  const bytes = new Uint8Array(values.length * size);
  const v = new DataView(bytes.buffer);
  values.forEach((x, i) => {
    if (vr === "FL") v.setFloat32(i * size, x, le);
    else if (vr === "FD") v.setFloat64(i * size, x, le);
    else if (size === 4) v.setUint32(i * size, x, le);
    else v.setUint16(i * size, x, le);
  });
  return { tag, vr, value: bytes };
}

/** The elements before Pixel Data, values in the byte order of `o.ts`. */
export function imageHeader(options: ImageFileOptions): Dataset {
  const o = resolve(options);
  const le = tsEncoding(o.ts)?.littleEndian ?? true;
  const text = (tag: number, vr: string, s: string): Element => ({
    tag,
    vr,
    value: encodeText(s, vr),
  });
  const us = (tag: number, ...v: number[]) => numbers(tag, "US", v, 2, le);
  const odd = (bytes: number[]) => new Uint8Array(o.oddLengths ? bytes : [...bytes, 0]);
  const ds: Dataset = [
    text(0x00080005, "CS", "ISO_IR 100"),
    text(0x00080008, "CS", "ORIGINAL\\PRIMARY\\OTHER"),
    text(0x00080016, "UI", o.sopClassUid),
    text(0x00080018, "UI", o.sopInstanceUid),
    text(0x00080020, "DA", "20240101"),
    text(0x00080030, "TM", "120000"),
    text(0x00080060, "CS", o.modality),
  ];
  if (o.withSequence) {
    const code: Dataset = [
      text(0x00080100, "SH", "121311"),
      text(0x00080102, "SH", "DCM"),
      text(0x00080104, "LO", "Localizer"),
    ];
    ds.push({
      tag: 0x00081140,
      vr: "SQ",
      value: [
        [
          text(0x00081150, "UI", MR_IMAGE_STORAGE),
          text(0x00081155, "UI", "1.2.3.4.5.6.7"),
          { tag: 0x0040a170, vr: "SQ", value: [code] },
        ],
        [text(0x00081150, "UI", MR_IMAGE_STORAGE), text(0x00081155, "UI", "1.2.3.4.5.6.8")],
      ],
    });
  }
  ds.push(
    text(0x00100010, "PN", o.patientName),
    text(0x00100020, "LO", o.patientId),
    text(0x00180050, "DS", "1.5"),
  );
  if (o.frames > 1) ds.push(text(0x00181063, "DS", "33.3"));
  ds.push(
    numbers(0x00181320, "FL", [2.5], 4, le),
    numbers(0x00189089, "FD", [0.5, -0.25, 1 / 3], 8, le),
    text(0x0020000d, "UI", o.studyUid),
    text(0x0020000e, "UI", o.seriesUid),
    text(0x00200013, "IS", "1"),
    us(0x00280002, 1),
    text(0x00280004, "CS", "MONOCHROME2"),
  );
  if (o.frames > 1) {
    // AT (0018,1063): a tag is written as two 16-bit numbers (PS3.5 6.2).
    ds.push(
      text(0x00280008, "IS", String(o.frames)),
      numbers(0x00280009, "AT", [0x18, 0x1063], 2, le),
    );
  }
  const stored = o.bitsAllocated === 16 ? 12 : 8;
  ds.push(
    us(0x00280010, o.rows),
    us(0x00280011, o.cols),
    text(0x00280030, "DS", "0.5\\0.5"),
    us(0x00280100, o.bitsAllocated),
    us(0x00280101, stored),
    us(0x00280102, stored - 1),
    us(0x00280103, 0),
    text(0x00281050, "DS", "600"),
    text(0x00281051, "DS", "1200"),
  );
  if (o.privateTags) {
    ds.push(
      text(0x00290010, "LO", "DIMSE DENO TEST"),
      text(0x00291010, "LO", "private text"),
      us(0x00291011, 1, 0x0203),
      { tag: 0x00291012, vr: "OB", value: odd([1, 2, 3]) },
      // UN values are little endian in every syntax (PS3.5 6.2.2).
      { tag: 0x00291013, vr: "UN", value: odd([9, 8, 7]) },
      { tag: 0x00291020, vr: "SQ", value: [[text(0x00080100, "SH", "PRIVATE")]] },
    );
  }
  return ds;
}

/** The frame bytes of frame `f`: a gradient, frame number in the first pixel, in `ts` byte order. */
function frameMaker(o: Resolved): (f: number) => Uint8Array {
  const pixels = o.rows * o.cols;
  const frame = new Uint8Array(pixels * (o.bitsAllocated / 8));
  if (o.bitsAllocated === 16) {
    const words = new Uint16Array(frame.buffer);
    for (let y = 0; y < o.rows; y++) {
      for (let x = 0; x < o.cols; x++) words[y * o.cols + x] = (x + y) & 0xfff;
    }
  } else {
    for (let i = 0; i < pixels; i++) frame[i] = i & 0xff;
  }
  const le = tsEncoding(o.ts)?.littleEndian ?? true;
  return (f) => {
    frame[0] = f & 0xff;
    if (o.bitsAllocated === 16) frame[1] = (f >> 8) & 0x0f;
    if (!le && o.bitsAllocated === 16) {
      const copy = frame.slice();
      swapInPlace(copy, 2);
      return copy;
    }
    return frame;
  };
}

/**
 * The data set as a stream of byte pieces (not deflated): header elements,
 * then Pixel Data frame by frame. A piece may be reused after the next one
 * is asked for.
 */
function* datasetPieces(o: Resolved): Generator<Uint8Array> {
  const enc = tsEncoding(o.ts);
  if (!enc) throw new Error(`unknown transfer syntax ${o.ts}`);
  const layoutTs = enc.deflated ? "1.2.840.10008.1.2.1" : o.ts;
  yield encodeDataset(imageHeader(o), layoutTs, { definedLengths: o.definedLengths });
  const sink = new ChunkSink();
  const encoder = new DatasetEncoder(enc, enc, sink);
  const frame = frameMaker(o);
  const frameLength = o.rows * o.cols * (o.bitsAllocated / 8);
  const vr = o.bitsAllocated === 16 && !enc.encapsulated ? "OW" : "OB";
  const drain = function* () {
    sink.flush();
    yield* sink.take();
  };
  if (enc.encapsulated) {
    encoder.encode({ kind: "encapsulated", tag: 0x7fe00010, vr, depth: 0 });
    encoder.encode({ kind: "fragment", length: 0 }); // empty Basic Offset Table (PS3.5 A.4)
    yield* drain();
    for (let f = 0; f < o.frames; f++) {
      // A fake compressed frame: a quarter of the frame, odd-sized, padded to even.
      const body = frame(f).subarray(0, (frameLength >> 2) | 1);
      const padded = new Uint8Array(body.length + 1);
      padded.set(body);
      encoder.encode({ kind: "fragment", length: padded.length });
      encoder.encode({ kind: "value", bytes: padded, last: true });
      yield* drain();
    }
    encoder.encode({ kind: "sequence-end" });
    yield* drain();
    return;
  }
  const total = frameLength * o.frames;
  encoder.encode({ kind: "element", tag: 0x7fe00010, vr, length: total, depth: 0 });
  yield* drain();
  for (let f = 0; f < o.frames; f++) yield frame(f);
}

function metaBytes(o: Resolved): Uint8Array {
  return encodeFileMeta({
    mediaStorageSopClassUid: o.sopClassUid,
    mediaStorageSopInstanceUid: o.sopInstanceUid,
    transferSyntaxUid: o.ts,
    sourceAeTitle: o.sourceAeTitle,
  });
}

/** A whole synthetic image file (or bare data set) in memory. */
export function makeImageFile(options: ImageFileOptions = {}): Uint8Array {
  const o = resolve(options);
  let dataset = concatBytes(Array.from(datasetPieces(o), (p) => p.slice()));
  if (tsEncoding(o.ts)?.deflated) dataset = deflateRaw(dataset);
  return o.meta ? concatBytes([metaBytes(o), dataset]) : dataset;
}

/** Writes a synthetic image file as a stream (one frame in memory at a time); returns its size. */
export async function writeImageFile(
  path: string,
  options: ImageFileOptions = {},
): Promise<number> {
  const o = resolve(options);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let size = 0;
  const write = async (bytes: Uint8Array) => {
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    size += bytes.length;
  };
  try {
    if (o.meta) await write(metaBytes(o));
    if (tsEncoding(o.ts)?.deflated) {
      const pieces = (async function* () {
        for (const p of datasetPieces(o)) yield p.slice();
      })();
      for await (const c of deflateRawChunks(pieces)) await write(c);
    } else {
      for (const p of datasetPieces(o)) await write(p);
    }
  } finally {
    file.close();
  }
  return size;
}

/** A Part 10 file read back: its meta information, transfer syntax, data set bytes and data set. */
export async function readPart10(
  path: string,
): Promise<{ meta: FileMeta; ts: string; raw: Uint8Array; dataset: Dataset }> {
  const bytes = await Deno.readFile(path);
  const { meta, length } = decodeFileMeta(bytes, path);
  const raw = bytes.subarray(length);
  const ts = meta.transferSyntaxUid;
  return { meta, ts, raw, dataset: decodeDataset(raw, ts) };
}

/**
 * `file` (explicit VR little endian) with the NUL that pads its odd-length
 * SOP Class and Instance UIDs turned into a space, in the file meta
 * information and at the top level of the data set: UIDs are padded with
 * NUL (PS3.5 9.1), but files padded with spaces exist.
 */
export function spacePadSopUids(file: Uint8Array): Uint8Array {
  const out = file.slice();
  const view = new DataView(out.buffer);
  for (const [group, element] of [[2, 2], [2, 3], [8, 0x16], [8, 0x18]]) {
    // The first element with this tag and VR UI: group, element, "UI", 16-bit length.
    let at = 0;
    while (
      at + 8 <= out.length &&
      !(view.getUint16(at, true) === group && view.getUint16(at + 2, true) === element &&
        out[at + 4] === 0x55 && out[at + 5] === 0x49)
    ) at++;
    const end = at + 8 + view.getUint16(at + 6, true);
    if (out[end - 1] !== 0) throw new Error(`(${group},${element}) has no NUL pad`);
    out[end - 1] = 0x20;
  }
  return out;
}
