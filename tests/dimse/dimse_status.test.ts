/** Status classes (PS3.7 Annex C) and DCMTK 3.6.7 wording. */

import assert from "node:assert/strict";
import { formatStatus, statusCategory, statusHex, statusMeaning } from "../../lib/dimse/status.ts";

Deno.test("status: categories of PS3.7 Annex C", () => {
  const cases: [number, string][] = [
    [0x0000, "success"],
    [0x0001, "warning"],
    [0x0107, "warning"],
    [0x0116, "warning"],
    [0xb000, "warning"],
    [0xb006, "warning"],
    [0xb007, "warning"],
    [0xbfff, "warning"],
    [0xa700, "failure"],
    [0xa7ff, "failure"],
    [0xa900, "failure"],
    [0xafff, "failure"],
    [0xc000, "failure"],
    [0xcfff, "failure"],
    [0x0105, "failure"],
    [0x0110, "failure"],
    [0x0122, "failure"],
    [0x0124, "failure"],
    [0x0210, "failure"],
    [0x0211, "failure"],
    [0x0213, "failure"],
    [0xfe00, "cancel"],
    [0xff00, "pending"],
    [0xff01, "pending"],
    // Outside every class: never success.
    [0x1234, "failure"],
    [0xff02, "failure"],
    [0xfe01, "failure"],
  ];
  for (const [code, category] of cases) {
    assert.equal(statusCategory(code), category, statusHex(code));
  }
});

Deno.test("status: C-STORE meanings in DCMTK's words", () => {
  const cases: [number, string][] = [
    [0x0000, "Success"],
    [0xa700, "Refused: Out of resources"],
    [0xa7ff, "Refused: Out of resources"],
    [0xa900, "Error: Data Set does not match SOP Class"],
    [0xa9ab, "Error: Data Set does not match SOP Class"],
    [0xc000, "Error: Cannot understand"],
    [0xc123, "Error: Cannot understand"],
    [0xb000, "Warning: Coercion of Data Elements"],
    [0xb007, "Warning: Data Set does not match SOP Class"],
    [0xb006, "Warning: Elements discarded"],
    [0x0122, "Refused: SOP Class not supported"],
    [0x0124, "Refused: Not authorized"],
    [0x0210, "Duplicate invocation"],
    [0x0211, "Unrecognized operation"],
    [0x0212, "Mistyped argument"],
    [0x0110, "Failure"],
    [0xb123, "Warning"],
    [0xff00, "Pending"],
    [0xfe00, "Cancel"],
    [0x1234, "Unknown Status Code (non-standard)"],
  ];
  for (const [code, meaning] of cases) {
    assert.equal(statusMeaning(code, "C-STORE"), meaning, statusHex(code));
  }
});

Deno.test("status: C-ECHO meanings in DCMTK's words", () => {
  assert.equal(statusMeaning(0x0000, "C-ECHO"), "Success");
  assert.equal(statusMeaning(0x0122, "C-ECHO"), "Refused: SOP Class not supported");
  assert.equal(statusMeaning(0x0211, "C-ECHO"), "Unrecognized operation");
  assert.equal(statusMeaning(0xa700, "C-ECHO"), "Failure");
  assert.equal(statusMeaning(0x0001, "C-ECHO"), "Warning");
});

Deno.test("status: general meanings without a service", () => {
  assert.equal(statusMeaning(0x0110), "Processing failure");
  assert.equal(statusMeaning(0x0211), "Unrecognized operation");
  assert.equal(statusMeaning(0x0122), "SOP Class not supported");
  assert.equal(statusMeaning(0x0213), "Resource limitation");
  assert.equal(statusMeaning(0xa700), "Failure");
  assert.equal(statusMeaning(0x9999), "Unknown Status Code (non-standard)");
});

Deno.test("status: formatStatus gives 4 upper-case hex digits and the meaning", () => {
  assert.equal(formatStatus(0xa700, "C-STORE"), "0xA700 Refused: Out of resources");
  assert.equal(formatStatus(0x0000, "C-ECHO"), "0x0000 Success");
  assert.equal(formatStatus(0x0110), "0x0110 Processing failure");
  assert.equal(statusHex(0xb), "0x000B");
});
