/**
 * Deno's floor for echoscu's whole process: the least a Deno process does
 * for what `echoscu HOST PORT` does on the wire. It connects, proposes
 * Verification with implicit VR little endian, sends C-ECHO-RQs and waits
 * for each response, then releases. It uses raw `Deno.connect` reads and
 * writes, PDUs built here, and no library code. The echo benchmark runs it
 * with the launcher's flags (bin/echoscu), in the same rounds as our
 * echoscu and DCMTK's. Its start, module and exit are Deno's alone, so our
 * echoscu minus this row is what our own code costs.
 *
 * Not a DICOM client: it checks each answer's PDU type only (an A-ASSOCIATE-AC,
 * then P-DATA-TF, then A-RELEASE-RP). Any other answer exits 1.
 *
 * Usage: deno run --allow-net scripts/bench_echo_floor.ts [--repeat N] HOST PORT
 *
 * @module
 */

const VERIFICATION = "1.2.840.10008.1.1";
const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";
const APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1";
/** lib/util/version.ts's IMPLEMENTATION_CLASS_UID, written out so that no library module loads. */
const IMPLEMENTATION_CLASS_UID = "2.25.51311414609608412964455530151455058978";
const MAX_PDU = 16384;

/** An item or PDU: type, a reserved byte, then the body's length (2 bytes, or 4 for a PDU). */
function item(type: number, body: number[], longLength = false): number[] {
  const n = body.length;
  const length = longLength
    ? [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
    : [n >>> 8, n & 0xff];
  return [type, 0, ...length, ...body];
}

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

/** An AE title field: 16 bytes, padded with spaces (PS3.8 9.3.2). */
function aeTitle(s: string): number[] {
  return ascii(s.padEnd(16, " "));
}

/** A-ASSOCIATE-RQ (PS3.8 9.3.2): one presentation context, as `echoscu` proposes by default. */
function associateRq(called: string, calling: string): Uint8Array {
  const context = [
    1,
    0,
    0,
    0,
    ...item(0x30, ascii(VERIFICATION)),
    ...item(0x40, ascii(IMPLICIT_VR_LITTLE_ENDIAN)),
  ];
  const userInfo = [
    ...item(0x51, [
      MAX_PDU >>> 24,
      (MAX_PDU >>> 16) & 0xff,
      (MAX_PDU >>> 8) & 0xff,
      MAX_PDU & 0xff,
    ]),
    ...item(0x52, ascii(IMPLEMENTATION_CLASS_UID)),
  ];
  return new Uint8Array(item(0x01, [
    0,
    1, // protocol version 1
    0,
    0,
    ...aeTitle(called),
    ...aeTitle(calling),
    ...new Array(32).fill(0),
    ...item(0x10, ascii(APPLICATION_CONTEXT)),
    ...item(0x20, context),
    ...item(0x50, userInfo),
  ], true));
}

/** An element of a command set, implicit VR little endian: tag, 4-byte length, value. */
function element(element: number, value: number[]): number[] {
  const n = value.length;
  return [0, 0, element & 0xff, element >>> 8, n & 0xff, (n >>> 8) & 0xff, 0, 0, ...value];
}

const u16 = (v: number) => [v & 0xff, v >>> 8];

/**
 * A C-ECHO-RQ (PS3.7 9.3.5.1) as one P-DATA-TF of one command PDV (PS3.8 9.3.5, E.2), and the
 * offset of its Message ID (0000,0110) value, which each echo writes.
 */
function echoRq(): { pdu: Uint8Array; messageIdAt: number } {
  const uid = ascii(VERIFICATION.length % 2 ? `${VERIFICATION}\0` : VERIFICATION);
  const rest = [
    ...element(0x0002, uid), // Affected SOP Class UID
    ...element(0x0100, u16(0x0030)), // Command Field: C-ECHO-RQ
    ...element(0x0110, u16(0)), // Message ID
    ...element(0x0800, u16(0x0101)), // Command Data Set Type: none
  ];
  const n = rest.length;
  const command = [
    ...element(0x0000, [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]),
    ...rest,
  ];
  const pdv = [1, 0x03, ...command]; // presentation context 1; command, last fragment
  const length = pdv.length;
  const pdu = item(0x04, [
    length >>> 24,
    (length >>> 16) & 0xff,
    (length >>> 8) & 0xff,
    length & 0xff,
    ...pdv,
  ], true);
  // Message ID's value: after the P-DATA-TF header (6), the PDV header (6), group length (12),
  // the UID element (8 + its value), Command Field (10), Message ID's own tag and length (8).
  return { pdu: new Uint8Array(pdu), messageIdAt: 6 + 6 + 12 + 8 + uid.length + 10 + 8 };
}

const RELEASE_RQ = new Uint8Array(item(0x05, [0, 0, 0, 0], true));

async function main(args: string[]): Promise<number> {
  let repeat = 1;
  if (args[0] === "--repeat") {
    repeat = Number(args[1]);
    args = args.slice(2);
  }
  if (args.length !== 2 || !(repeat >= 1)) {
    console.error("usage: bench_echo_floor.ts [--repeat N] HOST PORT");
    return 2;
  }
  const conn = await Deno.connect({ hostname: args[0], port: Number(args[1]) });
  conn.setNoDelay(true);
  const buffer = new Uint8Array(65536);
  const view = new DataView(buffer.buffer);
  /** Bytes read and not yet returned, in `buffer` from `start` to `end`. */
  let start = 0;
  let end = 0;
  /**
   * Reads until one whole PDU is in `buffer` and returns its type. Each read
   * asks for all the room there is, as the library's reader does: one read
   * per answer, not one for the header and another for the body.
   */
  const readPdu = async (): Promise<number> => {
    const size = () => end - start < 6 ? Infinity : 6 + view.getUint32(start + 2);
    while (end - start < size()) {
      if (end - start >= 6 && size() > buffer.length) {
        throw new Error("a PDU larger than this client reads");
      }
      if (end === buffer.length) {
        buffer.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const r = await conn.read(buffer.subarray(end));
      if (r === null) throw new Error("the peer closed the connection");
      end += r;
    }
    const type = buffer[start];
    start += size();
    if (start === end) start = end = 0;
    return type;
  };
  try {
    await conn.write(associateRq("ANY-SCP", "ECHOSCU"));
    if (await readPdu() !== 0x02) return 1;
    const echo = echoRq();
    for (let id = 1; id <= repeat; id++) {
      echo.pdu.set(u16(id), echo.messageIdAt);
      await conn.write(echo.pdu);
      if (await readPdu() !== 0x04) return 1;
    }
    await conn.write(RELEASE_RQ);
    if (await readPdu() !== 0x06) return 1;
    return 0;
  } finally {
    conn.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
