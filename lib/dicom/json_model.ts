/**
 * Attributes in the DICOM JSON Model (PS3.18 F.2): an object keyed by the
 * tag as eight upper-case hex digits, each with its `vr` and `Value` (text,
 * numbers; person names as `{Alphabetic}`; items as objects) or
 * `InlineBinary` (base64) for bulk VRs. An empty value has no `Value`.
 *
 * @module
 */
import type { Attributes } from "./attributes.ts";

/** One attribute in the DICOM JSON Model. */
export interface JsonAttribute {
  /** The VR. */
  vr: string;
  /** The values (absent when empty). */
  Value?: unknown[];
  /** Bulk data, base64 (OB OD OF OL OV OW UN). */
  InlineBinary?: string;
}

/** A data set in the DICOM JSON Model: tag (`0020000D`) to attribute. */
export type JsonDataset = Record<string, JsonAttribute>;

const BINARY = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "UN"]);

/** `attrs` in the DICOM JSON Model (PS3.18 F.2). */
export function toDicomJson(attrs: Attributes): JsonDataset {
  const out: JsonDataset = {};
  for (const a of [...attrs].sort((x, y) => x.tag - y.tag)) {
    const key = (a.tag >>> 0).toString(16).toUpperCase().padStart(8, "0");
    const v = a.value;
    if (v instanceof Uint8Array) {
      out[key] = v.length === 0 || !BINARY.has(a.vr)
        ? { vr: a.vr }
        : { vr: a.vr, InlineBinary: base64(v) };
      continue;
    }
    if (v.length === 0) {
      out[key] = { vr: a.vr };
      continue;
    }
    if (a.vr === "SQ" || (typeof v[0] === "object" && !(v[0] instanceof Uint8Array))) {
      out[key] = { vr: a.vr, Value: (v as Attributes[]).map(toDicomJson) };
    } else if (a.vr === "PN") {
      out[key] = { vr: a.vr, Value: (v as string[]).map(personName) };
    } else if (typeof v[0] === "bigint") {
      // Beyond 2^53 a JSON number loses digits: PS3.18 F.2.3.1 allows strings.
      out[key] = {
        vr: a.vr,
        Value: (v as bigint[]).map((b) =>
          b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(b)
            : b.toString()
        ),
      };
    } else if (a.vr === "AT") {
      out[key] = {
        vr: a.vr,
        Value: (v as number[]).map((t) => (t >>> 0).toString(16).toUpperCase().padStart(8, "0")),
      };
    } else if (a.vr === "DS" || a.vr === "IS") {
      // PS3.18 F.2.3: numbers; a value that is not one stays as text.
      out[key] = {
        vr: a.vr,
        Value: (v as string[]).map((s) => {
          const n = Number(s);
          return s.trim() !== "" && Number.isFinite(n) ? n : s;
        }),
      };
    } else {
      out[key] = { vr: a.vr, Value: [...v as (string | number)[]] };
    }
  }
  return out;
}

/** A person name's component groups (PS3.18 F.2.2). */
function personName(s: string): Record<string, string> {
  const [alphabetic, ideographic, phonetic] = s.split("=");
  const out: Record<string, string> = {};
  if (alphabetic) out.Alphabetic = alphabetic;
  if (ideographic) out.Ideographic = ideographic;
  if (phonetic) out.Phonetic = phonetic;
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
