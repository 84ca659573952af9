/**
 * demo: the main job on an embedded default. Writes three synthetic MR
 * images, starts our storescp on an ephemeral 127.0.0.1 port, echoes it,
 * sends the images with our storescu, and checks that what was stored
 * equals what was sent, element by element.
 *
 * @module
 */
import { toolServerOptions } from "../lib/cli/common/server_lines.ts";
import {
  datasetDifferences,
  decodeDataset,
  type Element,
  encodeDataset,
} from "../lib/dicom/dataset.ts";
import { encodeFileMeta, inspectDicomFile } from "../lib/dicom/part10.ts";
import { newUid } from "../lib/util/uid.ts";
import { encodeText } from "../lib/dicom/vr.ts";
import { createLogger } from "../lib/log/logger.ts";
import { echoHandler } from "../lib/cli/echoscp/echo_handler.ts";
import { runEchoScu } from "../lib/cli/echoscu/engine.ts";
import { DicomServer } from "../lib/ae/server.ts";
import {
  storagePolicy,
  storeHandler,
  storeScpTransferSyntaxes,
} from "../lib/cli/storescp/store_handler.ts";
import { runStoreScu, storeScuDefaults } from "../lib/cli/storescu/engine.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN } from "../lib/dicom/uids.ts";
import { uidName } from "../lib/dicom/uid_names.ts";

const MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4";
const SIDE = 512;

/** A little endian US value. */
function us(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >> 8]);
}

/** A 512x512x16 MR image (PS3.3 A.4) with a gradient, as a Part 10 file. */
function mrImage(study: string, series: string, index: number): Uint8Array {
  const pixels = new Uint16Array(SIDE * SIDE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((i % SIDE) + (i >> 9) + index * 64) & 0xfff;
  const instance = newUid();
  const text = (tag: number, vr: string, value: string): Element => ({
    tag,
    vr,
    value: encodeText(value, vr),
  });
  const dataset: Element[] = [
    text(0x00080016, "UI", MR_IMAGE_STORAGE),
    text(0x00080018, "UI", instance),
    text(0x00080060, "CS", "MR"),
    text(0x00100010, "PN", "DEMO^PATIENT"),
    text(0x00100020, "LO", "DEMO-1"),
    text(0x0020000d, "UI", study),
    text(0x0020000e, "UI", series),
    text(0x00200013, "IS", String(index + 1)),
    { tag: 0x00280002, vr: "US", value: us(1) },
    text(0x00280004, "CS", "MONOCHROME2"),
    { tag: 0x00280010, vr: "US", value: us(SIDE) },
    { tag: 0x00280011, vr: "US", value: us(SIDE) },
    { tag: 0x00280100, vr: "US", value: us(16) },
    { tag: 0x00280101, vr: "US", value: us(12) },
    { tag: 0x00280102, vr: "US", value: us(11) },
    { tag: 0x00280103, vr: "US", value: us(0) },
    { tag: 0x7fe00010, vr: "OW", value: new Uint8Array(pixels.buffer) },
  ];
  const meta = encodeFileMeta({
    mediaStorageSopClassUid: MR_IMAGE_STORAGE,
    mediaStorageSopInstanceUid: instance,
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
  });
  const body = encodeDataset(dataset, EXPLICIT_VR_LITTLE_ENDIAN);
  const file = new Uint8Array(meta.length + body.length);
  file.set(meta);
  file.set(body, meta.length);
  return file;
}

/** The data set of a Part 10 file, decoded. */
async function datasetOf(path: string) {
  const info = await inspectDicomFile(path, "file-only");
  const bytes = (await Deno.readFile(path)).subarray(info.datasetOffset);
  return { ts: info.transferSyntaxUid, ds: decodeDataset(bytes, info.transferSyntaxUid) };
}

/** Runs the demo; resolves with 0 when every image arrived intact. */
export async function main(): Promise<number> {
  const input = await Deno.makeTempDir({ prefix: "dimse-demo-in-" });
  const output = await Deno.makeTempDir({ prefix: "dimse-demo-out-" });
  const study = newUid();
  const series = newUid();
  const files: string[] = [];
  for (let i = 0; i < 3; i++) {
    files.push(`${input}/img${i + 1}.dcm`);
    await Deno.writeFile(files[i], mrImage(study, series, i));
  }
  const scpLogger = createLogger({ level: "warn", name: "storescp" });
  const server = DicomServer.start({
    hostname: "127.0.0.1",
    port: 0,
    logger: scpLogger,
    ...toolServerOptions("pynetdicom", scpLogger),
    policy: storagePolicy({
      aeTitle: "STORESCP",
      maxPdu: 16384,
      transferSyntaxes: storeScpTransferSyntaxes({ prefer: EXPLICIT_VR_LITTLE_ENDIAN }),
    }),
    handlers: {
      "C-ECHO-RQ": echoHandler,
      "C-STORE-RQ": storeHandler({ outputDirectory: output }),
    },
    acseTimeoutMs: 30_000,
  });
  const { host, port } = server.local;
  console.log(
    `storescp listening on ${host}:${port} (AE title STORESCP), storing into ${output}`,
  );
  console.log(`storescu -v -aec STORESCP ${host} ${port} ${input}`);
  const common = {
    host,
    port,
    family: "ipv4" as const,
    calledAeTitle: "STORESCP",
    maxPdu: 16384,
    acseTimeoutMs: 30_000,
    socketTimeoutMs: 60_000,
    abort: false,
  };
  try {
    const echo = await runEchoScu({
      ...common,
      callingAeTitle: "ECHOSCU",
      proposeTs: 3,
      proposePc: 1,
      repeat: 1,
      logger: createLogger({ level: "warn", name: "echoscu" }),
    });
    if (echo.outcome !== "success") {
      console.log(`C-ECHO failed (${echo.outcome}): ${echo.diagnosis}`);
      return 1;
    }
    console.log(
      `C-ECHO ${echo.echoes[0].statusText} over ${uidName(echo.transferSyntax!)}: ` +
        `round trip ${echo.echoes[0].roundTripMs.toFixed(2)} ms`,
    );
    const store = await runStoreScu({
      ...common,
      ...storeScuDefaults(),
      callingAeTitle: "STORESCU",
      files,
      logger: createLogger({ level: "info", name: "storescu" }),
    });
    const s = store.summary;
    if (store.outcome !== "success") {
      console.log(`C-STORE failed (${store.outcome}): ${store.diagnosis}`);
      return 1;
    }
    // Every stored file must hold the data set that was sent.
    const problems: string[] = [];
    for (const r of store.records) {
      const sent = await datasetOf(r.path);
      const stored = await datasetOf(`${output}/MR.${r.sopInstanceUid}`);
      problems.push(...datasetDifferences(sent.ds, stored.ds, sent.ts, stored.ts));
    }
    const mb = s.bytes / 1e6;
    console.log(
      `C-STORE ${s.success} of ${s.files} files Success (${mb.toFixed(1)} MB, ` +
        `${(mb / (s.ms / 1000)).toFixed(1)} MB/s); ` +
        (problems.length === 0
          ? "stored files equal the sent ones"
          : `stored files differ: ${problems.join("; ")}`),
    );
    return problems.length === 0 ? 0 : 1;
  } finally {
    await server.stop();
    await Deno.remove(input, { recursive: true });
    await Deno.remove(output, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
