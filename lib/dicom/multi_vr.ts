/**
 * Data elements whose VR the dictionary leaves open ("US or SS", "OB or
 * OW", "US or SS or OW"; PS3.6 Table 6-1, PS3.5 6.2): in an implicit VR data
 * set the tag alone cannot tell the VR, so it is resolved from other
 * elements of the data set, as PS3.5 and DCMTK 3.6.7 (DcmItem::checkAndUpdateVR,
 * checked against dcmconv in tests/dicom/dicom_multi_vr.test.ts) do:
 *
 * - "US or SS" by the Pixel Representation (0028,0103) in force, for the
 *   elements DCMTK resolves so (PS3.3 C.7.5.1, C.7.6.16.2.11, C.11.1.1.1,
 *   C.11.2.1.1, C.11.5);
 * - "OB or OW" by Waveform Bits Allocated (5400,1004) for waveform data
 *   (PS3.5 8.3), always OW for Pixel Data and Overlay Data (PS3.5 8.1.2,
 *   8.2, A.1);
 * - "US or SS or OW" (LUT Data) as OW (PS3.5 A.1, 8.1.2).
 *
 * The value "in force" is the one the item itself holds, else the one of
 * the item or data set enclosing it (PS3.3 C.7.6.16.2.11: the real world
 * value mapping items follow the image's Pixel Representation). DCMTK only
 * looks in the item itself, so in a nested item without its own Pixel
 * Representation it writes US where the image's is 1; we follow the
 * standard there. Elements come in ascending tag order (PS3.5 7.1), so a
 * value is resolved from what has gone by, as a streaming reader (and
 * DCMTK's) sees it.
 *
 * @module
 */

import { lookupTag, tagVr } from "./dictionary.ts";
import type { DatasetToken, ElementToken } from "./parser.ts";
import type { Layout } from "./transfer_syntax.ts";

/** Pixel Representation (0028,0103): 0 unsigned, 1 two's complement (PS3.3 C.7.6.3.1). */
export const PIXEL_REPRESENTATION = 0x00280103;
/** Waveform Bits Allocated (5400,1004) (PS3.3 C.10.9.1). */
export const WAVEFORM_BITS_ALLOCATED = 0x54001004;
/** Presentation LUT Sequence (2050,0010): its LUT Descriptor is always US (PS3.3 C.11.4.1, C.11.6.1.1). */
const PRESENTATION_LUT_SEQUENCE = 0x20500010;
const LUT_DESCRIPTOR = 0x00283002;
const PIXEL_DATA = 0x7fe00010;

/**
 * "US or SS" elements whose VR follows the Pixel Representation: DCMTK
 * 3.6.7's list. The other "US or SS" elements of the dictionary (Mapped
 * Pixel Value, the palette color LUT descriptors, retired ones) are left as
 * US by DCMTK, and so by us: nothing in the standard ties them to another
 * element we could read.
 */
const BY_PIXEL_REPRESENTATION: ReadonlySet<number> = new Set([
  0x00189810, // Zero Velocity Pixel Value
  0x00280106, // Smallest Image Pixel Value
  0x00280107, // Largest Image Pixel Value
  0x00280108, // Smallest Pixel Value in Series
  0x00280109, // Largest Pixel Value in Series
  0x00280120, // Pixel Padding Value
  0x00280121, // Pixel Padding Range Limit
  LUT_DESCRIPTOR,
  0x00409211, // Real World Value Last Value Mapped
  0x00409216, // Real World Value First Value Mapped
  0x00603004, // Histogram First Bin Value
  0x00603006, // Histogram Last Bin Value
]);

/** "OB or OW" elements whose VR follows Waveform Bits Allocated (PS3.5 8.3). */
const BY_WAVEFORM_BITS: ReadonlySet<number> = new Set([
  0x54000110, // Channel Minimum Value
  0x54000112, // Channel Maximum Value
  0x5400100a, // Waveform Padding Value
  0x54001010, // Waveform Data
]);

/** What is in force where an element is read: the values that decide an open VR. */
export interface VrContext {
  /** Pixel Representation (0028,0103) in force, if one has gone by. */
  pixelRepresentation?: number;
  /** Waveform Bits Allocated (5400,1004) in force, if one has gone by. */
  waveformBitsAllocated?: number;
  /** The element is in an item of the Presentation LUT Sequence (2050,0010). */
  inPresentationLut?: boolean;
}

/**
 * The VR of `tag` read without one (implicit VR) where `ctx` is in force:
 * the dictionary's VR, with the open ones resolved. Each branch names the
 * rule it applies.
 */
export function resolveVr(tag: number, ctx: VrContext = {}): string {
  const entry = lookupTag(tag);
  switch (entry?.vr) {
    case "xs": {
      if (tag === LUT_DESCRIPTOR && ctx.inPresentationLut) {
        // PS3.3 C.11.4.1, C.11.6.1.1: all three values are unsigned; "the explicit VR
        // actually used will always be US".
        return "US";
      }
      if (BY_PIXEL_REPRESENTATION.has(tag) && ctx.pixelRepresentation !== undefined) {
        // PS3.3 C.7.5.1, C.7.6.16.2.11, C.11.1.1.1, C.11.2.1.1: SS for two's complement
        // pixels (DCMTK: 1 gives SS, any other value US).
        return ctx.pixelRepresentation === 1 ? "SS" : "US";
      }
      // No rule or no Pixel Representation (yet): US, DCMTK's choice for "xs".
      return "US";
    }
    case "ox": {
      // PS3.5 8.3: 8-bit waveform samples are OB, others OW (DCMTK: OW for any value but 8).
      if (BY_WAVEFORM_BITS.has(tag) && ctx.waveformBitsAllocated !== undefined) {
        return ctx.waveformBitsAllocated === 8 ? "OB" : "OW";
      }
      // Overlay Data OW (PS3.5 8.1.2, A.1), the rest without a rule OB: DCMTK's choices.
      return tagVr(tag);
    }
    case "px":
      // PS3.5 A.1: native Pixel Data read in implicit VR is OW whatever Bits Allocated, and
      // DCMTK keeps OW when it writes it in explicit VR (allowed for any Bits Allocated,
      // PS3.5 8.2): its 16-bit words then byte-swap as words in big endian.
      return tag === PIXEL_DATA ? "OW" : tagVr(tag);
    default:
      // "lt" (LUT Data: US or SS or OW) is OW (PS3.5 A.1, DCMTK); "up" is UL.
      return tagVr(tag);
  }
}

/** One open item or sequence, for {@linkcode VrResolver}. */
interface Scope {
  /** An item or data set, or a sequence (its tag) whose items come next. */
  kind: "item" | "sequence";
  /** Tag of the sequence (0 for the data set and for items). */
  tag: number;
  /** Layout of the values in this scope (implicit VR little endian in UN sequences). */
  layout: Layout;
  ctx: VrContext;
}

/**
 * Gives every element token read without a VR (implicit VR input) the VR
 * {@linkcode resolveVr} finds in its context, tracking Pixel Representation
 * and Waveform Bits Allocated through items as the tokens stream by.
 * Tokens read with an explicit VR keep theirs: the VR in the header is what
 * the writer chose.
 */
export class VrResolver {
  readonly #stack: Scope[];
  /** The tag whose value is being collected, and what has come of it. */
  #collecting: number | undefined;
  #bytes = new Uint8Array(2);
  #got = 0;

  /**
   * Creates a resolver for one data set.
   *
   * @param layout the layout the tokens were read in
   */
  constructor(layout: Layout) {
    this.#stack = [{ kind: "item", tag: 0, layout, ctx: {} }];
  }

  /** The token with its VR resolved (a new object when it changes). */
  resolve(t: DatasetToken): DatasetToken {
    const top = this.#stack[this.#stack.length - 1];
    switch (t.kind) {
      case "element":
        this.#startCollect(t);
        if (top.layout.explicitVr) return t;
        return this.#resolved(t, top.ctx);
      case "value":
        if (this.#collecting !== undefined) this.#collect(t.bytes, t.last, top);
        return t;
      case "sequence":
        this.#collecting = undefined;
        this.#stack.push({ kind: "sequence", tag: t.tag, layout: t.items, ctx: top.ctx });
        return t;
      case "encapsulated":
        this.#collecting = undefined;
        this.#stack.push({ kind: "sequence", tag: t.tag, layout: top.layout, ctx: top.ctx });
        return t;
      case "item-start": {
        const ctx = { ...top.ctx };
        if (top.tag === PRESENTATION_LUT_SEQUENCE) ctx.inPresentationLut = true;
        this.#stack.push({ kind: "item", tag: 0, layout: top.layout, ctx });
        return t;
      }
      case "item-end":
      case "sequence-end":
        this.#collecting = undefined;
        if (this.#stack.length > 1) this.#stack.pop();
        return t;
      default:
        return t;
    }
  }

  #resolved(t: ElementToken, ctx: VrContext): ElementToken {
    const vr = resolveVr(t.tag, ctx);
    return vr === t.vr ? t : { ...t, vr };
  }

  #startCollect(t: ElementToken): void {
    this.#collecting = undefined;
    if (t.tag !== PIXEL_REPRESENTATION && t.tag !== WAVEFORM_BITS_ALLOCATED) return;
    // An empty (type 2) value holds nothing: the one enclosing stays in force.
    if (t.length < 2) return;
    this.#collecting = t.tag;
    this.#got = 0;
  }

  /** Keeps the first 16-bit number of the value (US, VM 1) and sets it in the item's context. */
  #collect(bytes: Uint8Array, last: boolean, top: Scope): void {
    for (let i = 0; i < bytes.length && this.#got < 2; i++) this.#bytes[this.#got++] = bytes[i];
    if (this.#got < 2 && !last) return;
    const tag = this.#collecting!;
    this.#collecting = undefined;
    if (this.#got < 2) return;
    const le = top.layout.littleEndian;
    const value = le
      ? this.#bytes[0] | (this.#bytes[1] << 8)
      : (this.#bytes[0] << 8) | this.#bytes[1];
    if (tag === PIXEL_REPRESENTATION) top.ctx.pixelRepresentation = value;
    else top.ctx.waveformBitsAllocated = value;
  }
}
