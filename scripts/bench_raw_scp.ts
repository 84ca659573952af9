/**
 * The floor for storescp to disk: the least a Deno process does to take
 * C-STOREs from a real storescu and leave each data set in a file, to set
 * our storescp's CPU against (issue 15). It answers the association as
 * storescp does (`-pm`: every proposed context, explicit VR little endian
 * preferred), then
 * parses P-DATA-TF and PDV headers as the bytes stream past (PS3.8 9.3.5,
 * Annex E) and writes each data PDV's bytes from its one 256 KiB read
 * buffer straight into a `.part` file (no copy in user space, no PDU
 * objects, no checks, no logs, no timers); at a data set's last fragment
 * it links the file into place, removes the `.part` and answers success
 * (PS3.7 9.3.1.2). The association and the command sets use our codecs:
 * they are a few hundred bytes per store.
 *
 * Usage: deno run --allow-net --allow-read --allow-write scripts/bench_raw_scp.ts PORT DIR [MAX-PDU]
 * (MAX-PDU our Maximum Length Received, default 16384), stopped by SIGTERM. Measure its CPU
 * (/proc/PID/stat) against storescp's with the same sender, e.g. DCMTK's storescu.
 *
 * @module
 */
import { answerAssociateRq } from "../lib/ae/negotiation.ts";
import { storagePolicy } from "../lib/cli/storescp/store_handler.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from "../lib/dicom/uids.ts";
import { decodeCommandSet, encodeCommandSet } from "../lib/dimse/command.ts";
import { commandSetToMessage, messageToCommandSet } from "../lib/dimse/messages.ts";
import { decodePdu, encodePdu, PDU_HEADER_LENGTH } from "../lib/pdu/codec.ts";
import type { Pdu } from "../lib/pdu/types.ts";
import { concatBytes } from "../lib/util/bytes.ts";

const [port, dir, maxPdu] = [Number(Deno.args[0]), Deno.args[1], Number(Deno.args[2] ?? 16384)];
/** PDV item header: item length (4), context ID (1), message control header (1). */
const PDV_HEADER = 6;
const P_DATA_TF = 0x04;

async function send(conn: Deno.Conn, pdu: Pdu): Promise<void> {
  const bytes = encodePdu(pdu);
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** storescp's own answer: every storage context, explicit VR little endian preferred. */
const POLICY = storagePolicy({
  aeTitle: "RAWSCP",
  maxPdu,
  transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
  promiscuous: true,
});

/** One association: returns when the peer released or the connection ended. */
async function serve(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  const header = new Uint8Array(PDU_HEADER_LENGTH);
  const pdvHeader = new DataView(new ArrayBuffer(PDV_HEADER));
  let headerFilled = 0;
  let pduLeft = 0;
  let other: Uint8Array[] = []; // the body of a PDU other than P-DATA-TF
  let pdvFilled = 0;
  let pdvLeft = 0;
  let isCommand = false;
  let isLast = false;
  let command: Uint8Array[] = [];
  let file: Deno.FsFile | undefined;
  let part = "";
  let stored = 0;
  for (;;) {
    const got = await conn.read(buf);
    if (got === null) return;
    for (let at = 0; at < got;) {
      if (pduLeft === 0) {
        const n = Math.min(PDU_HEADER_LENGTH - headerFilled, got - at);
        header.set(buf.subarray(at, at + n), headerFilled);
        headerFilled += n;
        at += n;
        if (headerFilled < PDU_HEADER_LENGTH) break;
        headerFilled = 0;
        pduLeft = new DataView(header.buffer).getUint32(2);
        other = [];
        if (pduLeft === 0) continue;
      }
      if (header[0] !== P_DATA_TF) {
        const n = Math.min(pduLeft, got - at);
        other.push(buf.slice(at, at + n));
        at += n;
        pduLeft -= n;
        if (pduLeft > 0) continue;
        const pdu = decodePdu(concatBytes([header, ...other]));
        if (pdu.type === "A-ASSOCIATE-RQ") await send(conn, answerAssociateRq(pdu, POLICY));
        else if (pdu.type === "A-RELEASE-RQ") await send(conn, { type: "A-RELEASE-RP" });
        else return;
        continue;
      }
      if (pdvLeft === 0) {
        const n = Math.min(PDV_HEADER - pdvFilled, got - at);
        for (let i = 0; i < n; i++) pdvHeader.setUint8(pdvFilled + i, buf[at + i]);
        pdvFilled += n;
        at += n;
        pduLeft -= n;
        if (pdvFilled < PDV_HEADER) continue;
        pdvFilled = 0;
        pdvLeft = pdvHeader.getUint32(0) - 2;
        isCommand = (pdvHeader.getUint8(5) & 1) === 1;
        isLast = (pdvHeader.getUint8(5) & 2) === 2;
        if (!isCommand && !file) {
          part = `${dir}/${stored++}.${crypto.randomUUID().slice(0, 8)}.part`;
          file = Deno.openSync(part, { write: true, createNew: true });
        }
      }
      const n = Math.min(pdvLeft, got - at);
      const data = buf.subarray(at, at + n);
      if (isCommand) command.push(data.slice());
      else for (let off = 0; off < n;) off += file!.writeSync(data.subarray(off));
      at += n;
      pdvLeft -= n;
      pduLeft -= n;
      if (pdvLeft > 0 || !isLast || isCommand) continue;
      // The data set's last fragment: into place, then the answer (a C-STORE carries one).
      file!.close();
      file = undefined;
      Deno.linkSync(part, part.slice(0, -".xxxxxxxx.part".length));
      Deno.removeSync(part);
      const rq = commandSetToMessage(decodeCommandSet(concatBytes(command)));
      command = [];
      if (rq.type !== "C-STORE-RQ") return;
      const rsp = encodeCommandSet(messageToCommandSet({
        type: "C-STORE-RSP",
        messageIdBeingRespondedTo: rq.messageId,
        affectedSopClassUid: rq.affectedSopClassUid,
        affectedSopInstanceUid: rq.affectedSopInstanceUid,
        status: 0,
      }));
      await send(conn, {
        type: "P-DATA-TF",
        pdvs: [{ contextId: pdvHeader.getUint8(4), isCommand: true, isLast: true, data: rsp }],
      });
    }
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port });
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
for await (const conn of listener) {
  await serve(conn).catch((err) => console.error(`bench_raw_scp: ${err}`));
  conn.close();
}
