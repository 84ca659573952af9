/**
 * DCMTK's dcmqrscp as a Query/Retrieve peer for tests: a temporary
 * configuration (its AE titles with their storage areas, and the hosts it
 * may move to), a free port on 127.0.0.1, files loaded with dcmqridx or
 * sent with C-STORE, and a stop by its own handle that also ends the
 * per-association processes it forked and removes everything it wrote.
 *
 * The configuration format is DCMTK's (dcmqrcnf.txt): global parameters,
 * a HostTable of move destinations `name = (AE, host, port)` and an
 * AETable of `AE  storage-area  access  (max studies, max bytes per study)
 * peers`.
 */

import { Background, freePort, runCommand, show, waitForPort } from "./procs.ts";

/** An AE title dcmqrscp serves, with its own storage area (AETable row). */
export interface QrAe {
  /** The AE title. */
  aeTitle: string;
  /** `R` (query and retrieve), `W` (store) or `RW` (default). */
  access?: "R" | "W" | "RW";
  /** Quota: most studies kept (default 200; dcmqrscp deletes the oldest beyond). */
  maxStudies?: number;
  /** Quota: most bytes per study, in DCMTK's notation (default `1024mb`). */
  maxBytesPerStudy?: string;
}

/** A move destination dcmqrscp knows (HostTable entry). */
export interface QrDestination {
  /** The AE title a C-MOVE names. */
  aeTitle: string;
  /** Where dcmqrscp connects to deliver (default 127.0.0.1). */
  host?: string;
  /** Its port. */
  port: number;
}

/** How to run dcmqrscp. */
export interface DcmqrscpOptions {
  /** The AE titles served (default one, COMMON). */
  aes?: QrAe[];
  /** The move destinations (default none: every C-MOVE is 0xA801). */
  destinations?: QrDestination[];
  /** dcmqrscp's maximum receive PDU (default 16384). */
  maxPdu?: number;
  /** More dcmqrscp options, e.g. `-d`, `--disable-get`, `-XF`. */
  args?: string[];
}

/** The configuration file text for `options` (storage areas under `dir`). */
export function dcmqrscpConfig(dir: string, port: number, options: DcmqrscpOptions): string {
  const aes = options.aes ?? [{ aeTitle: "COMMON" }];
  const hosts = (options.destinations ?? []).map((d, i) =>
    `dest${i} = (${d.aeTitle}, ${d.host ?? "127.0.0.1"}, ${d.port})`
  );
  const rows = aes.map((ae) =>
    `${ae.aeTitle} ${dir}/${ae.aeTitle} ${ae.access ?? "RW"} ` +
    `(${ae.maxStudies ?? 200}, ${ae.maxBytesPerStudy ?? "1024mb"}) ANY`
  );
  return [
    `NetworkTCPPort = ${port}`,
    `MaxPDUSize = ${options.maxPdu ?? 16384}`,
    "MaxAssociations = 16",
    "HostTable BEGIN",
    ...hosts,
    "HostTable END",
    "VendorTable BEGIN",
    "VendorTable END",
    "AETable BEGIN",
    ...rows,
    "AETable END",
    "",
  ].join("\n");
}

/** A running dcmqrscp. */
export class Dcmqrscp {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** The temporary directory holding its configuration and storage areas. */
  readonly dir: string;
  readonly #proc: Background;
  #stopped = false;

  private constructor(proc: Background, port: number, dir: string) {
    this.#proc = proc;
    this.port = port;
    this.dir = dir;
  }

  /**
   * Writes the configuration, creates the storage areas and starts
   * dcmqrscp on a free port (another one if that was taken meanwhile);
   * resolves once it accepts connections.
   */
  static async start(options: DcmqrscpOptions = {}): Promise<Dcmqrscp> {
    const dir = await Deno.makeTempDir({ prefix: "dcmqrscp" });
    try {
      for (const ae of options.aes ?? [{ aeTitle: "COMMON" }]) {
        await Deno.mkdir(`${dir}/${ae.aeTitle}`);
      }
      let last = "";
      for (let attempt = 0; attempt < 3; attempt++) {
        const port = freePort();
        await Deno.writeTextFile(`${dir}/dcmqrscp.cfg`, dcmqrscpConfig(dir, port, options));
        const proc = new Background("dcmqrscp", [
          "-c",
          `${dir}/dcmqrscp.cfg`,
          ...(options.args ?? []),
          String(port),
        ]);
        try {
          await waitForPort(port, 10_000, () => proc.status !== undefined);
          return new Dcmqrscp(proc, port, dir);
        } catch (err) {
          await proc.stop("SIGKILL");
          last = `${
            err instanceof Error ? err.message : err
          }; output: ${proc.stdout}${proc.stderr}`;
        }
      }
      throw new Error(`dcmqrscp did not start: ${last}`);
    } catch (err) {
      await Deno.remove(dir, { recursive: true });
      throw err;
    }
  }

  /** The storage area of an AE title. */
  storageArea(aeTitle: string): string {
    return `${this.dir}/${aeTitle}`;
  }

  /** What dcmqrscp logged so far. */
  get output(): string {
    return this.#proc.stdout + this.#proc.stderr;
  }

  /**
   * Puts files into the archive of `aeTitle` without the network: copies
   * them into its storage area and records them in its index with
   * dcmqridx.
   */
  async index(aeTitle: string, files: string[]): Promise<void> {
    const area = this.storageArea(aeTitle);
    const copies: string[] = [];
    for (const [i, file] of files.entries()) {
      const copy = `${area}/indexed${String(i).padStart(5, "0")}_${file.split("/").pop()}`;
      await Deno.copyFile(file, copy);
      copies.push(copy);
    }
    const run = await runCommand("dcmqridx", [area, ...copies]);
    if (run.code !== 0) throw new Error(`dcmqridx failed: ${show(run)}`);
  }

  /** Sends files to `aeTitle` with DCMTK's storescu (C-STORE). */
  async store(aeTitle: string, files: string[], callingAeTitle = "STORESCU"): Promise<void> {
    const run = await runCommand("storescu", [
      "-aet",
      callingAeTitle,
      "-aec",
      aeTitle,
      "127.0.0.1",
      String(this.port),
      ...files,
    ], 60_000);
    if (run.code !== 0) throw new Error(`storescu to dcmqrscp failed: ${show(run)}`);
  }

  /** Its process id. */
  get pid(): number {
    return this.#proc.pid;
  }

  /** The processes it forked to serve associations, still running. */
  async children(): Promise<number[]> {
    const text = await procFile(`/proc/${this.pid}/task/${this.pid}/children`);
    return (text ?? "").split(/\s+/).filter((s) => s !== "").map(Number);
  }

  /**
   * Stops dcmqrscp: SIGTERM to the processes it forked for associations
   * still open (they hold its output pipes, and would serve on until their
   * own timeouts), then to its own process; removes its directory.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const pid of await this.children()) {
      try {
        Deno.kill(pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    await this.#proc.stop();
    await Deno.remove(this.dir, { recursive: true });
  }

  /** Stops it when the `await using` scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * A /proc file of another process, or undefined when it is gone. Read with
 * cat: Deno lets a process read other processes' /proc entries only with
 * --allow-all, which the test task does not grant.
 */
export async function procFile(path: string): Promise<string | undefined> {
  const run = await runCommand("cat", [path], 10_000);
  return run.code === 0 ? run.stdout : undefined;
}

/** Runs `fn` against a dcmqrscp started with `options`, always stopping it. */
export async function withDcmqrscp(
  options: DcmqrscpOptions,
  fn: (scp: Dcmqrscp) => Promise<void>,
): Promise<void> {
  const scp = await Dcmqrscp.start(options);
  try {
    await fn(scp);
  } finally {
    await scp.stop();
  }
}
