/**
 * Dictionary keywords to tags (PS3.6 Section 6): `PatientName` ->
 * (0010,0010), for query keys and data sets written by name.
 *
 * Looked up in the same table as the dictionary
 * (dictionary_data.js, DCMTK's dicom.dic). Both the PS3.6 keyword and
 * DCMTK's name (which prefixes retired attributes with `RETIRED_`) are
 * accepted, as DCMTK's tools accept its names.
 *
 * @module
 */

import { DICTIONARY_DATA } from "./dictionary_data.js";

const RETIRED_PREFIX = "RETIRED_";
// Keyword -> tag (or its absence), for the keywords already looked up.
const found = new Map<string, number | undefined>();

// The start of the last line whose name (the third field) is `name`, or -1. The data is
// searched, not turned into a table of its 5,000 names (30-80 ms at the first lookup of a run).
function lastLineNamed(name: string): number {
  const data = DICTIONARY_DATA;
  const needle = `\t${name}\t`;
  for (let at = data.lastIndexOf(needle); at >= 0; at = data.lastIndexOf(needle, at - 1)) {
    const line = data.lastIndexOf("\n", at) + 1;
    // The name is the third field: one tab (after the tag) between the line start and it.
    const tab = data.indexOf("\t", line);
    const second = data.indexOf("\t", tab + 1);
    if (second === at) return line;
  }
  return -1;
}

function lookUp(keyword: string): number | undefined {
  if (keyword === "" || /[\t\n]/.test(keyword)) return undefined;
  // Both DCMTK's name and, for a retired attribute, its PS3.6 keyword (the name without
  // RETIRED_) name a line; the later line wins, as when every line was entered into one map.
  const line = Math.max(lastLineNamed(keyword), lastLineNamed(RETIRED_PREFIX + keyword));
  if (line < 0) return undefined;
  const tagText = DICTIONARY_DATA.slice(line, DICTIONARY_DATA.indexOf("\t", line));
  // A repeating group or element range ("6000-60FF,0010") names its first tag, as
  // DCMTK's dictionary does.
  const [group, element] = tagText.split(",").map((part) => parseInt(part.slice(0, 4), 16));
  return ((group << 16) | element) >>> 0;
}

/**
 * The tag of a PS3.6 keyword or DCMTK dictionary name (case-sensitive,
 * e.g. `PatientName`, `RETIRED_CurveData`), or undefined when the
 * dictionary has none. A repeating group gives its first tag
 * (`OverlayRows` -> (6000,0010)).
 */
export function keywordTag(keyword: string): number | undefined {
  const known = found.get(keyword);
  if (known !== undefined || found.has(keyword)) return known;
  const tag = lookUp(keyword);
  // Bounded: keywords come from command lines and programs; at most 10,000 are kept.
  if (found.size < 10_000) found.set(keyword, tag);
  return tag;
}
