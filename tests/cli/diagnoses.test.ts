/**
 * The plain-language diagnoses of echoscu and storescu (issue 16 item 6):
 * each says what was refused and what would help, once, and never advice
 * that cannot help. Fake peers built with encodePdu play the PACS.
 */
import assert from "node:assert/strict";
import { verificationPolicy } from "../../lib/cli/echoscp/echo_handler.ts";
import { answerAssociateRq } from "../../lib/ae/negotiation.ts";
import { concatBytes } from "../../lib/util/bytes.ts";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { PduReader } from "../../lib/pdu/reader.ts";
import type { AssociateAcPdu, AssociateRqPdu, Pdu } from "../../lib/pdu/types.ts";
import { type Finished, runTool, show } from "../../testing/procs.ts";
import { writeImageFile } from "../../testing/dicom_files.ts";
import { withTempDir } from "../../testing/temp_files.ts";

const HOST = "127.0.0.1";

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Reads whole PDUs from one connection. */
class Pdus {
  readonly #reader = new PduReader();
  readonly #buf = new Uint8Array(65536);
  constructor(readonly conn: Deno.Conn) {}

  /** The next PDU, or null once the client closed. */
  async next(): Promise<Pdu | null> {
    for (;;) {
      const item = this.#reader.next();
      if (item) return item.pdu;
      const n = await this.conn.read(this.#buf).catch(() => null);
      if (n === null) return null;
      this.#reader.push(this.#buf.slice(0, n));
    }
  }
}

/**
 * Runs `tool` against a fake peer: each connection's first bytes are read,
 * `answer` gives the bytes sent back, then the peer waits for the client
 * to close (at most 5 s).
 */
async function against(
  tool: string,
  args: string[],
  answer: (rq: AssociateRqPdu | null) => Uint8Array,
  files: string[] = [],
): Promise<Finished> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (!conn) return;
      const until = setTimeout(() => conn.close(), 5000);
      try {
        const pdus = new Pdus(conn);
        const rq = await pdus.next();
        await writeAll(conn, answer(rq?.type === "A-ASSOCIATE-RQ" ? rq : null));
        // As a peer does: a release is answered, an abort ends the connection.
        for (let p = await pdus.next(); p && p.type !== "A-ABORT"; p = await pdus.next()) {
          if (p.type === "A-RELEASE-RQ") {
            await writeAll(conn, encodePdu({ type: "A-RELEASE-RP" }));
            break;
          }
        }
      } catch {
        // The client went away.
      } finally {
        clearTimeout(until);
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    }
  })();
  try {
    return await runTool(tool, [...args, HOST, String(port), ...files]);
  } finally {
    listener.close();
    await served;
  }
}

/** echoscp's answer to `rq`, every context's result then set to `result`. */
function acWith(rq: AssociateRqPdu, result?: number): AssociateAcPdu {
  const ac = answerAssociateRq(
    rq,
    verificationPolicy({ aeTitle: "FAKE", maxPdu: 16384, preference: "uncompressed" }),
  ) as AssociateAcPdu;
  if (result !== undefined) {
    ac.presentationContexts = rq.presentationContexts.map((pc) => ({
      id: pc.id,
      result,
      transferSyntax: pc.transferSyntaxes[0],
    }));
  }
  return ac;
}

/** The stderr lines of a failed run: DCMTK's line(s), the diagnosis, the summary line. */
function diagnosis(r: Finished, tool = "echoscu"): string {
  const err = lines(r.stderr);
  assert.match(err.at(-1)!, new RegExp(`^${tool}: .*\\(exit ${r.code}\\)$`), show(r));
  return err.at(-2)!;
}

Deno.test("abstract syntax not supported: says the peer refused Verification itself; no -pts advice", async () => {
  const r = await against("echoscu", [], (rq) => encodePdu(acWith(rq!, 3)));
  assert.equal(r.code, 67, show(r));
  const d = diagnosis(r);
  assert.match(
    d,
    /^E: .*refused the Verification SOP Class itself \(abstract syntax not supported\)/,
  );
  assert.match(d, /AE title 'ECHOSCU'/);
  assert.doesNotMatch(d, /-pts/, "more transfer syntaxes cannot help");
});

Deno.test("transfer syntaxes not supported: names how many were proposed and proposes more", async () => {
  const r = await against("echoscu", [], (rq) => encodePdu(acWith(rq!, 4)));
  assert.equal(r.code, 67, show(r));
  assert.match(diagnosis(r), /none of the 1 transfer syntax proposed .*-pts 3/);
  const all = await against("echoscu", ["-pts", "53"], (rq) => encodePdu(acWith(rq!, 4)));
  assert.equal(all.code, 67, show(all));
  assert.match(diagnosis(all), /none of the 53 transfer syntaxes proposed .*check which/);
});

Deno.test("a port that speaks HTTP: the finding once, with the advice, on one line", async () => {
  const http = new TextEncoder().encode(
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  );
  await withTempDir("dimse_diag_", async (dir) => {
    const file = `${dir}/a.dcm`;
    await writeImageFile(file, { rows: 4, cols: 4 });
    for (const tool of ["echoscu", "storescu"]) {
      const r = await against(tool, [], () => http, tool === "storescu" ? [file] : []);
      assert.equal(r.code, 66, show(r));
      const err = lines(r.stderr);
      assert.equal(err.length, 3, show(r));
      assert.match(err[0], /^F: Association Request Failed: .*looks like HTTP$/);
      assert.match(
        err[1],
        /^E: port \d+ answers in HTTP, not DICOM: it is a web port .*DICOM port/,
      );
      assert.match(err[2], new RegExp(`^${tool}: `));
    }
  });
});

Deno.test("a peer abort while associating: what a service-user abort usually means, what to check", async () => {
  const abort = encodePdu({ type: "A-ABORT", source: 0, reason: 0 });
  const r = await against("echoscu", ["-aet", "CALLER"], () => abort);
  assert.equal(r.code, 66, show(r));
  const d = diagnosis(r);
  assert.match(d, /peer sent A-ABORT \(service-user, reason 0\)/);
  assert.match(d, /does not know our AE title 'CALLER'/);
  assert.match(d, /check the peer's log/);
  const provider = await against(
    "echoscu",
    [],
    () => encodePdu({ type: "A-ABORT", source: 2, reason: 6 }),
  );
  assert.match(diagnosis(provider), /invalid-PDU-parameter-value.*maximum PDU length/);
});

Deno.test("a peer abort after accepting: the association ended, what it usually means", async () => {
  const r = await against("echoscu", [], (rq) =>
    concatBytes([
      encodePdu(acWith(rq!)),
      encodePdu({ type: "A-ABORT", source: 0, reason: 0 }),
    ]));
  assert.equal(r.code, 70, show(r));
  assert.match(diagnosis(r), /aborted during the echo: .*could not process the request/);
});
