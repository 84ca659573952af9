/**
 * Generates lib/dicom/dictionary_data.js from DCMTK's data dictionary
 * (the conversion is testing/dictionary_gen.ts).
 *
 * Usage: deno run --allow-read --allow-write scripts/gen_dictionary.ts [path/to/dicom.dic]
 * (default /usr/share/libdcmtk17/dicom.dic, where Debian's libdcmtk17 puts it).
 *
 * @module
 */
import { convertDictionary, dictionaryEdition, renderModule } from "../testing/dictionary_gen.ts";

const DEFAULT_SOURCE = "/usr/share/libdcmtk17/dicom.dic";
const OUTPUT = new URL("../lib/dicom/dictionary_data.js", import.meta.url);

if (import.meta.main) {
  const source = Deno.args[0] ?? DEFAULT_SOURCE;
  const text = await Deno.readTextFile(source);
  const lines = convertDictionary(text, source);
  const edition = dictionaryEdition(text) ?? "edition not stated";
  await Deno.writeTextFile(OUTPUT, renderModule(lines, source.split("/").pop() ?? source, edition));
  // Load the result through the real parser: a line it cannot read fails here,
  // not at the first lookup of some user's run.
  const { lookupTag } = await import("../lib/dicom/dictionary.ts");
  if (lookupTag(0x00100010)?.keyword !== "PatientName") throw new Error("PatientName not found");
  console.log(`wrote ${lines.length} entries to ${OUTPUT.pathname}`);
}
