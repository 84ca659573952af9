/**
 * Dictionary keywords to tags (PS3.6 Section 6): `PatientName` ->
 * (0010,0010), for query keys and data sets written by name.
 *
 * Built on the first lookup from the same table as the dictionary
 * (dictionary_data.js, DCMTK's dicom.dic). Both the PS3.6 keyword and
 * DCMTK's name (which prefixes retired attributes with `RETIRED_`) are
 * accepted, as DCMTK's tools accept its names.
 *
 * @module
 */

import { DICTIONARY_DATA } from "./dictionary_data.js";

let byKeyword: Map<string, number> | undefined;

function table(): Map<string, number> {
  if (byKeyword) return byKeyword;
  const map = new Map<string, number>();
  for (const line of DICTIONARY_DATA.split("\n")) {
    if (line === "") continue;
    const [tagText, , name] = line.split("\t");
    // A repeating group or element range ("6000-60FF,0010") names its first tag, as
    // DCMTK's dictionary does.
    const [group, element] = tagText.split(",").map((part) => parseInt(part.slice(0, 4), 16));
    const tag = ((group << 16) | element) >>> 0;
    map.set(name, tag);
    if (name.startsWith("RETIRED_")) map.set(name.slice("RETIRED_".length), tag);
  }
  byKeyword = map;
  return map;
}

/**
 * The tag of a PS3.6 keyword or DCMTK dictionary name (case-sensitive,
 * e.g. `PatientName`, `RETIRED_CurveData`), or undefined when the
 * dictionary has none. A repeating group gives its first tag
 * (`OverlayRows` -> (6000,0010)).
 */
export function keywordTag(keyword: string): number | undefined {
  return table().get(keyword);
}
