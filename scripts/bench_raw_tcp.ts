/**
 * The floor for one big transfer: raw TCP (or TLS) in Deno, no DICOM,
 * 256 KiB reads and writes, each side its own process as our tools are.
 * The sink writes its file as storescp does (lib/ae/file_store.ts: aligned
 * 32 KiB writes, which the page cache of a virtual machine makes far
 * cheaper than what each read brings), so that the floor is one.
 *
 *   bench_raw_tcp.ts sink PORT [--out FILE] [--cert C --key K]
 *     listens on 127.0.0.1:PORT; for each connection reads to EOF, into
 *     FILE (or nowhere), closes the file, then answers one byte (as a
 *     C-STORE-RSP comes only once the data set is stored)
 *   bench_raw_tcp.ts source HOST PORT (--file F | --bytes N) [--ca CA]
 *     sends the file (or N bytes from memory), half-closes, waits for the
 *     byte and exits
 *
 * Run by scripts/bench_store.ts.
 *
 * @module
 */

import { DENO_FILE_SINK, type SinkFile } from "../lib/ae/file_store.ts";

const BUF = 256 << 10;

async function writeAll(w: { write(b: Uint8Array): Promise<number> }, b: Uint8Array) {
  for (let off = 0; off < b.length;) off += await w.write(b.subarray(off));
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function sink(args: string[]): Promise<void> {
  const port = Number(args[0]);
  const out = flag(args, "--out");
  const cert = flag(args, "--cert");
  const key = flag(args, "--key");
  const listener = cert && key
    ? Deno.listenTls({
      hostname: "127.0.0.1",
      port,
      cert: Deno.readTextFileSync(cert),
      key: Deno.readTextFileSync(key),
    })
    : Deno.listen({ hostname: "127.0.0.1", port });
  Deno.addSignalListener("SIGTERM", () => listener.close());
  const buf = new Uint8Array(BUF);
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch {
      return;
    }
    let file: SinkFile | undefined;
    try {
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        // Created on the first bytes: the bench's probes of the port send none.
        if (out) (file ??= DENO_FILE_SINK.create(out)).write(buf.subarray(0, n));
      }
      file?.close();
      file = undefined;
      await writeAll(conn, Uint8Array.of(1));
    } catch {
      // A probe that connected and left (the bench waits for the port this way).
    } finally {
      file?.close();
      conn.close();
    }
  }
}

async function source(args: string[]): Promise<void> {
  const [hostname, port] = [args[0], Number(args[1])];
  const ca = flag(args, "--ca");
  const conn = ca
    ? await Deno.connectTls({ hostname, port, caCerts: [Deno.readTextFileSync(ca)] })
    : await Deno.connect({ hostname, port });
  if (!ca) (conn as Deno.TcpConn).setNoDelay(true);
  const buf = new Uint8Array(BUF);
  const path = flag(args, "--file");
  if (path) {
    using file = await Deno.open(path);
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      await writeAll(conn, buf.subarray(0, n));
    }
  } else {
    for (let left = Number(flag(args, "--bytes")); left > 0; left -= BUF) {
      await writeAll(conn, buf.subarray(0, Math.min(BUF, left)));
    }
  }
  await conn.closeWrite();
  if ((await conn.read(new Uint8Array(1))) !== 1) throw new Error("the sink did not answer");
  conn.close();
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "sink") await sink(rest);
  else if (mode === "source") await source(rest);
  else {
    console.error("usage: bench_raw_tcp.ts sink PORT [--out FILE] | source HOST PORT --file F");
    Deno.exit(1);
  }
}
