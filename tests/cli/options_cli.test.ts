import assert from "node:assert/strict";
import {
  checkIntParam,
  checkIntValue,
  type CommandLineSpec,
  configureLogging,
  formatError,
  formatUsage,
  logOptionDefs,
  OptionError,
  parseCommandLine,
  type ParsedOptions,
  scanSigned,
  scanUnsigned,
  splitCommandFile,
} from "../../lib/cli/common/options.ts";
import * as logConfig from "../../lib/cli/common/log_config.ts";
import { MemoryAppender } from "../../lib/log/logger.ts";

const FIXTURE = new URL("../fixtures/dcmtk367_echoscu_help.txt", import.meta.url);
const HEADER = "$dcmtk: echoscu v3.6.7 2022-04-22 $";

/** echoscu's command line, transcribed from DCMTK 3.6.7 (used as test data). */
const ECHOSCU: CommandLineSpec = {
  tool: "echoscu",
  description: "DICOM verification (C-ECHO) SCU",
  params: [
    { name: "peer", help: "hostname of DICOM peer" },
    { name: "port", help: "tcp/ip port number of peer" },
  ],
  groups: [
    {
      title: "general options:",
      columns: { long: 19, short: 6 },
      options: [
        { long: "--help", short: "-h", help: "print this help text and exit", exclusive: true },
        { long: "--version", help: "print version information and exit", exclusive: true },
        ...logOptionDefs(),
      ],
    },
    {
      title: "network options:",
      subgroups: [
        {
          title: "application entity titles:",
          options: [
            {
              long: "--aetitle",
              short: "-aet",
              valueHelp: "[a]etitle: string",
              help: "set my calling AE title (default: ECHOSCU)",
            },
            {
              long: "--call",
              short: "-aec",
              valueHelp: "[a]etitle: string",
              help: "set called AE title of peer (default: ANY-SCP)",
            },
          ],
        },
        {
          title: "association negotiation debugging:",
          options: [
            {
              long: "--propose-ts",
              short: "-pts",
              valueHelp: "[n]umber: integer (1..38)",
              help: "propose n transfer syntaxes",
            },
            {
              long: "--propose-pc",
              short: "-ppc",
              valueHelp: "[n]umber: integer (1..128)",
              help: "propose n presentation contexts",
            },
          ],
        },
        {
          title: "other network options:",
          options: [
            {
              long: "--timeout",
              short: "-to",
              valueHelp: "[s]econds: integer (default: unlimited)",
              help: "timeout for connection requests",
            },
            {
              long: "--socket-timeout",
              short: "-ts",
              valueHelp: "[s]econds: integer (default: 60)",
              help: "timeout for network socket (0 for none)",
            },
            {
              long: "--acse-timeout",
              short: "-ta",
              valueHelp: "[s]econds: integer (default: 30)",
              help: "timeout for ACSE messages",
            },
            {
              long: "--dimse-timeout",
              short: "-td",
              valueHelp: "[s]econds: integer (default: unlimited)",
              help: "timeout for DIMSE messages",
            },
            {
              long: "--max-pdu",
              short: "-pdu",
              valueHelp: "[n]umber of bytes: integer (4096..131072)",
              help: "set max receive pdu to n bytes (default: 16384)",
            },
            { long: "--repeat", valueHelp: "[n]umber: integer", help: "repeat n times" },
            { long: "--abort", help: "abort association instead of releasing it" },
          ],
        },
      ],
    },
    {
      title: "transport layer security (TLS) options:",
      subgroups: [
        {
          title: "transport protocol stack:",
          options: [
            {
              long: "--disable-tls",
              short: "-tls",
              help: "use normal TCP/IP connection (default)",
              block: "tls",
            },
            {
              long: "--enable-tls",
              short: "+tls",
              valueCount: 2,
              valueHelp: "[p]rivate key file, [c]ertificate file: string",
              help: "use authenticated secure TLS connection",
              block: "tls",
            },
            {
              long: "--anonymous-tls",
              short: "+tla",
              help: "use secure TLS connection without certificate",
              block: "tls",
            },
          ],
        },
        {
          title: "private key password (only with --enable-tls):",
          options: [
            {
              long: "--std-passwd",
              short: "+ps",
              help: "prompt user to type password on stdin (default)",
            },
            {
              long: "--use-passwd",
              short: "+pw",
              valueHelp: "[p]assword: string ",
              help: "use specified password",
            },
            { long: "--null-passwd", short: "-pw", help: "use empty string as password" },
          ],
        },
        {
          title: "key and certificate file format:",
          options: [
            {
              long: "--pem-keys",
              short: "-pem",
              help: "read keys and certificates as PEM file (default)",
            },
            { long: "--der-keys", short: "-der", help: "read keys and certificates as DER file" },
          ],
        },
        {
          title: "certification authority:",
          options: [
            {
              long: "--add-cert-file",
              short: "+cf",
              valueHelp: "[f]ilename: string",
              help: "add certificate file to list of certificates",
            },
            {
              long: "--add-cert-dir",
              short: "+cd",
              valueHelp: "[d]irectory: string",
              help: "add certificates in d to list of certificates",
            },
            {
              long: "--add-crl-file",
              short: "+crl",
              valueHelp: "[f]ilename: string",
              help: ["add certificate revocation list file", "(implies --enable-crl-vfy)"],
            },
            { long: "--enable-crl-vfy", short: "+crv", help: "enable leaf CRL verification" },
            {
              long: "--enable-crl-all",
              short: "+cra",
              help: "enable full chain CRL verification",
            },
          ],
        },
        {
          title: "security profile:",
          options: [
            {
              long: "--profile-bcp195-nd",
              short: "+py",
              help: "Non-downgrading BCP 195 TLS Profile (default)",
            },
            { long: "--profile-bcp195", short: "+px", help: "BCP 195 TLS Profile" },
            { long: "--profile-bcp195-ex", short: "+pz", help: "Extended BCP 195 TLS Profile" },
            {
              long: "--profile-aes",
              short: "+pa",
              help: "AES TLS Secure Transport Connection Profile\n(retired)",
            },
            {
              long: "--profile-null",
              short: "+pn",
              help: "Authenticated unencrypted communication\n(retired, was used in IHE ATNA)",
            },
          ],
        },
        {
          title: "ciphersuite:",
          options: [
            {
              long: "--list-ciphers",
              short: "+cc",
              help: "show list of supported TLS ciphersuites and exit",
              exclusive: true,
            },
            {
              long: "--cipher",
              short: "+cs",
              valueHelp: "[c]iphersuite name: string",
              help: [
                "add ciphersuite to list of negotiated suites",
                "(not with --profile-bcp195-ex)",
              ],
            },
          ],
        },
        {
          title: "pseudo random generator:",
          options: [
            {
              long: "--seed",
              short: "+rs",
              valueHelp: "[f]ilename: string",
              help: "seed random generator with contents of f",
            },
            {
              long: "--write-seed",
              short: "+ws",
              help: "write back modified seed (only with --seed)",
            },
            {
              long: "--write-seed-file",
              short: "+wf",
              valueHelp: "[f]ilename: string (only with --seed)",
              help: "write modified seed to file f",
            },
          ],
        },
        {
          title: "peer authentication:",
          options: [
            {
              long: "--require-peer-cert",
              short: "-rc",
              help: "verify peer certificate, fail if absent (default)",
            },
            { long: "--ignore-peer-cert", short: "-ic", help: "don't verify peer certificate" },
          ],
        },
        {
          title: "offline certificate verification:",
          options: [
            {
              long: "--verify-cert",
              short: "+vc",
              valueHelp: "[f]ilename: string",
              help: "verify certificate against CA settings",
            },
            {
              long: "--is-root-cert",
              short: "+rc",
              valueHelp: "[f]ilename: string",
              help: "check if certificate is self-signed root CA",
            },
            { long: "--internal-test", help: "hidden", internal: true },
          ],
        },
      ],
    },
  ],
};

/** A storescu-like spec: multi-mandatory parameter and one wide subgroup. */
const STORESCU: CommandLineSpec = {
  tool: "storescu",
  description: "DICOM storage (C-STORE) SCU",
  params: [
    { name: "peer", help: "hostname of DICOM peer" },
    { name: "port", help: "tcp/ip port number of peer" },
    {
      name: "dcmfile-in",
      help: "DICOM file or directory to be transmitted",
      mode: "multiMandatory",
    },
  ],
  groups: [
    {
      title: "general options:",
      columns: { long: 19, short: 6 },
      options: [{
        long: "--help",
        short: "-h",
        help: "print this help text and exit",
        exclusive: true,
      }],
    },
    {
      title: "network options:",
      subgroups: [
        {
          title: "application entity titles:",
          options: [{
            long: "--aetitle",
            short: "-aet",
            valueHelp: "[a]etitle: string",
            help: "set my calling AE title (default: STORESCU)",
          }],
        },
        {
          title: "proposed transmission transfer syntaxes (not with --config-file):",
          options: [
            {
              long: "--propose-uncompr",
              short: "-x=",
              help:
                "propose all uncompressed TS, explicit VR\nwith local byte ordering first (default)",
              block: "ts",
            },
            {
              long: "--propose-little",
              short: "-xe",
              help: "propose all uncompressed TS, explicit VR\nlittle endian first",
              block: "ts",
            },
            {
              long: "--propose-implicit",
              short: "-xi",
              help: "propose implicit VR little endian TS only",
              block: "ts",
            },
            {
              long: "--propose-j2k-lossless",
              short: "-xv",
              help: "propose JPEG 2000 lossless TS",
              block: "ts",
            },
          ],
        },
      ],
    },
  ],
};

function parseOk(spec: CommandLineSpec, argv: string[]): ParsedOptions {
  const r = parseCommandLine(spec, argv);
  if (!r.ok) throw new Error(`unexpected error: ${r.error}`);
  assert.equal(r.usage, false);
  return r.options;
}

function parseErr(spec: CommandLineSpec, argv: string[]): string {
  const r = parseCommandLine(spec, argv);
  assert.equal(r.ok, false, `expected an error for ${argv.join(" ")}`);
  return (r as { error: string }).error;
}

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof OptionError);
    return e.message;
  }
  throw new Error("expected an OptionError");
}

// ---------------------------------------------------------------------------
// help layout

Deno.test("options: usage text of echoscu equals DCMTK 3.6.7's byte for byte", () => {
  const expected = Deno.readTextFileSync(FIXTURE);
  assert.equal(formatUsage(ECHOSCU, HEADER), expected);
});

Deno.test("options: usage text uses our own header line", () => {
  const text = formatUsage(ECHOSCU, "$dimse-deno: echoscu v0.1.0 $");
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "$dimse-deno: echoscu v0.1.0 $",
    "",
    "echoscu: DICOM verification (C-ECHO) SCU",
    "usage: echoscu [options] peer port",
  ]);
  assert.ok(!text.includes("--internal-test"), "internal options are hidden");
});

Deno.test("options: usage widens the columns of a subgroup with long names (storescu)", () => {
  const text = formatUsage(STORESCU, "$dcmtk: storescu v3.6.7 2022-04-22 $");
  const expected = [
    "$dcmtk: storescu v3.6.7 2022-04-22 $",
    "",
    "storescu: DICOM storage (C-STORE) SCU",
    "usage: storescu [options] peer port dcmfile-in...",
    "",
    "parameters:",
    "  peer                         hostname of DICOM peer",
    "  port                         tcp/ip port number of peer",
    "  dcmfile-in                   DICOM file or directory to be transmitted",
    "",
    "general options:",
    "  -h      --help               print this help text and exit",
    "network options:",
    "  application entity titles:",
    "    -aet  --aetitle            [a]etitle: string",
    "                               set my calling AE title (default: STORESCU)",
    "  proposed transmission transfer syntaxes (not with --config-file):",
    "    -x=   --propose-uncompr       propose all uncompressed TS, explicit VR",
    "                                  with local byte ordering first (default)",
    "    -xe   --propose-little        propose all uncompressed TS, explicit VR",
    "                                  little endian first",
    "    -xi   --propose-implicit      propose implicit VR little endian TS only",
    "    -xv   --propose-j2k-lossless  propose JPEG 2000 lossless TS",
    "",
    "",
  ].join("\n");
  assert.equal(text, expected);
});

Deno.test("options: optional and multi-optional parameters in the usage line", () => {
  const spec: CommandLineSpec = {
    tool: "t",
    description: "",
    params: [{ name: "a", mode: "optional" }, { name: "b", mode: "multiOptional" }],
    groups: [],
  };
  assert.equal(formatUsage(spec, ""), "t\nusage: t [a] [b...]\n\n");
});

Deno.test("options: DCMTK error block format", () => {
  assert.equal(
    formatError(ECHOSCU, HEADER, "Unknown option --bogus"),
    "$dcmtk: echoscu v3.6.7 2022-04-22 $\n\necho" +
      "scu: DICOM verification (C-ECHO) SCU\nerror: Unknown option --bogus\n",
  );
});

// ---------------------------------------------------------------------------
// parse errors

Deno.test("options: parse errors carry DCMTK's messages", () => {
  assert.equal(parseErr(ECHOSCU, ["--bogus"]), "Unknown option --bogus");
  assert.equal(parseErr(ECHOSCU, ["-xyz", "l", "1"]), "Unknown option -xyz");
  assert.equal(parseErr(ECHOSCU, ["--"]), "Unknown option --");
  assert.equal(parseErr(ECHOSCU, ["--aetitle"]), "Missing value for option --aetitle");
  assert.equal(parseErr(ECHOSCU, ["-aet"]), "Missing value for option --aetitle");
  assert.equal(
    parseErr(ECHOSCU, ["l", "1", "+tls", "key"]),
    "Missing value for option --enable-tls",
  );
  assert.equal(parseErr(ECHOSCU, ["localhost"]), "Missing parameter port");
  assert.equal(parseErr(ECHOSCU, ["--max-pdu", "1"]), "Missing parameter peer");
  assert.equal(parseErr(ECHOSCU, ["localhost", "1", "extra"]), "Too many parameters");
  assert.equal(parseErr(ECHOSCU, ["--bogus", "--aetitle"]), "Unknown option --bogus");
  // a value is taken verbatim, even when it looks like an option
  assert.equal(parseErr(ECHOSCU, ["--aetitle", "--bogus"]), "Missing parameter peer");
  assert.equal(parseErr(STORESCU, ["h", "1"]), "Missing parameter dcmfile-in");
});

Deno.test("options: signed numbers and lone dashes are parameters", () => {
  assert.deepEqual(parseOk(ECHOSCU, ["l", "-1"]).params, ["l", "-1"]);
  assert.deepEqual(parseOk(ECHOSCU, ["-", "+5"]).params, ["-", "+5"]);
  assert.equal(parseErr(ECHOSCU, ["-", "l", "1"]), "Too many parameters");
  assert.deepEqual(parseOk(ECHOSCU, ["", "1"]).params, ["", "1"]);
  assert.deepEqual(parseOk(STORESCU, ["h", "1", "a", "b", "c"]).params, ["h", "1", "a", "b", "c"]);
});

Deno.test("options: short names expand to long names; + and - prefixes", () => {
  const o = parseOk(ECHOSCU, ["-aet", "ME", "+tls", "k.pem", "c.pem", "-pw", "l", "104"]);
  assert.equal(o.value("--aetitle"), "ME");
  assert.deepEqual(o.values("--enable-tls"), ["k.pem", "c.pem"]);
  assert.ok(o.has("--null-passwd"));
  assert.ok(!o.has("--use-passwd"));
  assert.deepEqual(o.args, [
    "--aetitle",
    "ME",
    "--enable-tls",
    "k.pem",
    "c.pem",
    "--null-passwd",
    "l",
    "104",
  ]);
  assert.throws(() => o.has("--no-such"), /not defined/);
});

Deno.test("options: repeated options: last occurrence, count, all occurrences", () => {
  const o = parseOk(ECHOSCU, ["-aet", "A", "+cf", "x", "--aetitle", "B", "+cf", "y", "l", "1"]);
  assert.equal(o.value("--aetitle"), "B");
  assert.equal(o.count("--aetitle"), 2);
  assert.deepEqual(o.occurrences("--add-cert-file"), [["x"], ["y"]]);
  assert.equal(o.value("--call"), undefined);
  assert.deepEqual(o.values("--call"), []);
  assert.deepEqual(o.given(), ["--aetitle", "--add-cert-file", "--aetitle", "--add-cert-file"]);
});

Deno.test("options: rightmost option of a block wins", () => {
  assert.equal(parseOk(ECHOSCU, ["-q", "-v", "-d", "l", "1"]).winner("log-verbosity"), "--debug");
  assert.equal(parseOk(ECHOSCU, ["-d", "-v", "l", "1"]).winner("log-verbosity"), "--verbose");
  assert.equal(parseOk(ECHOSCU, ["-v", "l", "-q", "1"]).winner("log-verbosity"), "--quiet");
  assert.equal(parseOk(ECHOSCU, ["l", "1"]).winner("log-verbosity"), undefined);
  assert.equal(
    parseOk(ECHOSCU, ["+tla", "+tls", "k", "c", "-tls", "l", "1"]).winner("tls"),
    "--disable-tls",
  );
  assert.equal(parseOk(STORESCU, ["-xv", "-x=", "h", "1", "f"]).winner("ts"), "--propose-uncompr");
  assert.equal(parseOk(STORESCU, ["-x=", "-xi", "h", "1", "f"]).winner("ts"), "--propose-implicit");
});

Deno.test("options: exclusive options work without mandatory parameters", () => {
  for (
    const argv of [["--help"], ["-h", "extra"], ["--help", "localhost"], ["--version", "--help"]]
  ) {
    const r = parseCommandLine(ECHOSCU, argv);
    assert.ok(r.ok);
    assert.equal(r.usage, true, argv.join(" "));
    assert.equal(r.exclusive, true);
  }
  const v = parseCommandLine(ECHOSCU, ["--version"]);
  assert.ok(v.ok);
  assert.equal(v.usage, false);
  assert.equal(v.exclusive, true);
  assert.ok(v.options.has("--version"));
  const c = parseCommandLine(ECHOSCU, ["+cc", "a", "b", "c"]);
  assert.ok(c.ok && c.exclusive && !c.usage);
  // syntax errors are still reported first
  assert.equal(parseErr(ECHOSCU, ["--help", "--bogus"]), "Unknown option --bogus");
});

Deno.test("options: no arguments prints usage only with mandatory parameters", () => {
  const r = parseCommandLine(ECHOSCU, []);
  assert.ok(r.ok && r.usage && !r.exclusive);
  const spec: CommandLineSpec = {
    tool: "t",
    description: "d",
    params: [{ name: "x", mode: "optional" }],
    groups: [],
  };
  const r2 = parseCommandLine(spec, []);
  assert.ok(r2.ok && !r2.usage);
});

// ---------------------------------------------------------------------------
// integer values

Deno.test("options: integer option values with DCMTK's messages", () => {
  const o = (argv: string[]) => parseOk(ECHOSCU, [...argv, "l", "1"]);
  const pdu = { min: 4096, max: 131072 };
  assert.equal(o(["--max-pdu", "8192"]).uint("--max-pdu", pdu), 8192);
  assert.equal(o([]).uint("--max-pdu", pdu), undefined);
  assert.equal(
    thrown(() => o(["--max-pdu", "1"]).uint("--max-pdu", pdu)),
    "Invalid value for option --max-pdu (underflow: 1)",
  );
  assert.equal(
    thrown(() => o(["-pdu", "999999999"]).uint("--max-pdu", pdu)),
    "Invalid value for option --max-pdu (overflow: 999999999)",
  );
  assert.equal(
    thrown(() => o(["-pdu", "0x1000"]).uint("--max-pdu", pdu)),
    "Invalid value for option --max-pdu (underflow: 0x1000)",
  );
  assert.equal(
    thrown(() => o(["-pdu", "-8192"]).uint("--max-pdu", pdu)),
    "Invalid value for option --max-pdu (-8192)",
  );
  assert.equal(
    thrown(() => o(["-pdu", "18446744073709551616"]).uint("--max-pdu", pdu)),
    "Invalid value for option --max-pdu (overflow: 18446744073709551616)",
  );
  assert.equal(o(["-pdu", "010000"]).uint("--max-pdu", pdu), 10000);
  assert.equal(o(["-pdu", " +8192"]).uint("--max-pdu", pdu), 8192);
  assert.equal(
    thrown(() => o(["--repeat", "abc"]).uint("--repeat", { min: 1 })),
    "Invalid value for option --repeat (abc)",
  );
  assert.equal(
    thrown(() => o(["--repeat", "0"]).uint("--repeat", { min: 1 })),
    "Invalid value for option --repeat (underflow: 0)",
  );
  assert.equal(
    thrown(() => o(["--repeat", ""]).uint("--repeat", { min: 1 })),
    "Invalid value for option --repeat",
  );
  assert.equal(
    thrown(() => o(["--repeat", " -1"]).uint("--repeat", { min: 1 })),
    "Invalid value for option --repeat ( -1)",
  );
  assert.equal(o(["--repeat", "1.5"]).uint("--repeat", { min: 1 }), 1);
  assert.equal(o(["--repeat", "5x"]).uint("--repeat", { min: 1 }), 5);
  assert.equal(o(["--repeat", "4294967296"]).uint("--repeat", { min: 1 }), 4294967296);
  // signed values: hex and octal like %li, negative numbers underflow
  assert.equal(o(["-to", "0x10"]).int("--timeout", { min: 1 }), 16);
  assert.equal(o(["-to", "010"]).int("--timeout", { min: 1 }), 8);
  assert.equal(
    thrown(() => o(["-to", "08"]).int("--timeout", { min: 1 })),
    "Invalid value for option --timeout (underflow: 08)",
  );
  assert.equal(
    thrown(() => o(["-to", "-1"]).int("--timeout", { min: 1 })),
    "Invalid value for option --timeout (underflow: -1)",
  );
  assert.equal(
    thrown(() => o(["-to", "abc"]).int("--timeout", { min: 1 })),
    "Invalid value for option --timeout (abc)",
  );
  // value index of a multi-value option
  const t = parseOk(ECHOSCU, ["+tls", "7", "x", "l", "1"]);
  assert.equal(t.int("--enable-tls", { index: 0 }), 7);
  assert.equal(
    thrown(() => t.int("--enable-tls", { index: 1 })),
    "Invalid value for option --enable-tls (x)",
  );
});

Deno.test("options: integer parameters with DCMTK's messages", () => {
  const port = (p: string) => parseOk(ECHOSCU, ["l", p]).paramUint(1, { min: 1, max: 65535 });
  assert.equal(port("104"), 104);
  assert.equal(port(" 5"), 5);
  assert.equal(port("+5"), 5);
  assert.equal(port("1.5"), 1);
  assert.equal(port("-18446744073709551615"), 1);
  assert.equal(thrown(() => port("70000")), "Invalid parameter value 70000 (overflow)");
  assert.equal(thrown(() => port("0")), "Invalid parameter value 0 (underflow)");
  assert.equal(thrown(() => port("-1")), "Invalid parameter value -1 (overflow)");
  assert.equal(thrown(() => port("0x10")), "Invalid parameter value 0x10 (underflow)");
  assert.equal(thrown(() => port("abc")), "Invalid parameter value abc");
  assert.equal(thrown(() => port("")), "Invalid parameter value ");
  assert.equal(parseOk(ECHOSCU, ["l", "-7"]).paramInt(1), -7);
  assert.equal(parseOk(ECHOSCU, ["l", "1"]).paramInt(5), undefined);
});

Deno.test("options: sscanf-compatible scanners", () => {
  assert.equal(scanSigned("  -0x1F"), -31n);
  assert.equal(scanSigned("0"), 0n);
  assert.equal(scanSigned("0x"), 0n);
  assert.equal(scanSigned("99999999999999999999"), (1n << 63n) - 1n);
  assert.equal(scanSigned("-99999999999999999999"), -(1n << 63n));
  assert.equal(scanSigned("x1"), undefined);
  assert.equal(scanSigned("-"), undefined);
  assert.equal(scanUnsigned("-5"), (1n << 64n) - 5n);
  assert.equal(scanUnsigned("18446744073709551621"), (1n << 64n) - 1n);
  assert.equal(scanUnsigned("\t42abc"), 42n);
  assert.equal(scanUnsigned("abc"), undefined);
  assert.equal(checkIntValue("--x", "12", { min: 12, max: 12 }, false), 12);
  assert.equal(checkIntParam("7", { min: 1n, max: 8n }, true), 7);
});

// ---------------------------------------------------------------------------
// command files and --arguments

Deno.test("options: @file expansion with quotes like DCMTK", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const f = `${dir}/args`;
    Deno.writeTextFileSync(f, '-v\n-aet "MY AE"\n');
    const o = parseOk(ECHOSCU, ["--arguments", `@${f}`, "127.0.0.1", "1"]);
    assert.equal(o.value("--aetitle"), "MY AE");
    assert.equal(
      o.argumentsMessage("echoscu"),
      "calling 'echoscu' with 6 arguments: '--arguments' '--verbose' '--aetitle' 'MY AE' '127.0.0.1' '1' \n",
    );
    // a directory reads as an empty file: no arguments at all -> usage
    const r = parseCommandLine(ECHOSCU, [`@${dir}`]);
    assert.ok(r.ok && r.usage);
    // command files are not expanded recursively
    Deno.writeTextFileSync(`${dir}/outer`, `@${f} l 1`);
    assert.equal(parseErr(ECHOSCU, [`@${dir}/outer`]), "Too many parameters");
    // a lone @ is a parameter
    assert.deepEqual(parseOk(ECHOSCU, ["@", "1"]).params, ["@", "1"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.equal(parseErr(ECHOSCU, ["@/nonexistent/x"]), "Cannot open command file '/nonexistent/x'");
});

Deno.test("options: command file word splitting", () => {
  assert.deepEqual(splitCommandFile(`-aet 'single q' x`), ["-aet", "single q", "x"]);
  assert.deepEqual(splitCommandFile(`"dq 'inner'"`), ["dq 'inner'"]);
  assert.deepEqual(splitCommandFile(`x"y z"w`), ["xy z", "w"]);
  assert.deepEqual(splitCommandFile(`a '' b ""`), ["a", "", "b", ""]);
  assert.deepEqual(splitCommandFile(`'x\n y'\r\n\tz`), ["x\n y", "z"]);
  assert.deepEqual(splitCommandFile(`"unterminated l 1`), ["unterminated l 1"]);
  assert.deepEqual(splitCommandFile(`a#b #c`), ["a#b", "#c"]);
});

Deno.test("options: --arguments line is DCMTK's, empty arguments counted not listed", () => {
  const o = parseOk(ECHOSCU, ["--arguments", "-v", "localhost", "104", "-to", "1"]);
  assert.equal(
    o.argumentsMessage("echoscu"),
    "calling 'echoscu' with 6 arguments: '--arguments' '--verbose' 'localhost' '104' '--timeout' '1' \n",
  );
  const e = parseOk(ECHOSCU, ["--arguments", "-v", "-aet", "", "l", "1"]);
  assert.equal(
    e.argumentsMessage("/usr/bin/echoscu"),
    "calling '/usr/bin/echoscu' with 6 arguments: '--arguments' '--verbose' '--aetitle' 'l' '1' \n",
  );
});

// ---------------------------------------------------------------------------
// logging options

function setup(argv: string[]) {
  const r = parseCommandLine(ECHOSCU, [...argv, "l", "1"]);
  if (!r.ok) throw new Error(r.error);
  const sink = new MemoryAppender();
  return {
    sink,
    result: configureLogging(r.options, { programName: "echoscu", appenders: [sink], logConfig }),
  };
}

Deno.test("options: -q/-v/-d/-ll select the level (rightmost of -q/-v/-d)", () => {
  const level = (argv: string[]) => {
    const { result } = setup(argv);
    if (!result.ok) throw new Error(result.error);
    const l = result.logger;
    return ["trace", "debug", "info", "warn", "error", "fatal"].find((x) =>
      l.isEnabled(x as "trace")
    );
  };
  assert.equal(level([]), "warn");
  assert.equal(level(["-q"]), "fatal");
  assert.equal(level(["-v"]), "info");
  assert.equal(level(["-d"]), "debug");
  assert.equal(level(["-d", "-v"]), "info");
  assert.equal(level(["-v", "-q"]), "fatal");
  assert.equal(level(["-ll", "trace"]), "trace");
  assert.equal(level(["-ll", "Info"]), "info");
  assert.equal(level(["-ll", "all"]), "trace");
  assert.equal(level(["-ll", "off"]), undefined);
  assert.equal(level(["-ll", "info", "-ll", "error"]), "error");
  const { result } = setup(["-v"]);
  assert.ok(result.ok && result.logger.name === "dcmtk.apps.echoscu" && !result.quiet);
  const q = setup(["-q"]).result;
  assert.ok(q.ok && q.quiet);
});

Deno.test("options: logging option conflicts and errors", () => {
  const err = (argv: string[]) => {
    const { result } = setup(argv);
    assert.equal(result.ok, false);
    return (result as { error: string }).error;
  };
  assert.equal(
    err(["-ll", "debug", "-v"]),
    "--log-level not allowed with --verbose, --debug or --quiet",
  );
  assert.equal(
    err(["-v", "-ll", "warn"]),
    "--log-level not allowed with --verbose, --debug or --quiet",
  );
  assert.equal(err(["-ll", "bogus"]), "Invalid log level for --log-level option");
  assert.equal(err(["-ll", "warning"]), "Invalid log level for --log-level option");
  assert.equal(err(["-ll", ""]), "Invalid log level for --log-level option");
  assert.equal(err(["-ll", "info", "-lc", "x.cfg"]), "--log-config not allowed with --log-level");
  assert.equal(
    err(["-lc", "x.cfg", "-d"]),
    "--log-config not allowed with --verbose, --debug or --quiet",
  );
  assert.equal(err(["-lc", "/nonexistent.cfg"]), "Specified --log-config file does not exist");
  assert.equal(err(["-lc", "/tmp"]), "Specified --log-config file does not exist");
});

Deno.test("options: --arguments is logged at info level even with -q", () => {
  const { sink, result } = setup(["--arguments", "-q"]);
  assert.ok(result.ok);
  assert.equal(
    sink.text,
    "I: calling 'echoscu' with 4 arguments: '--arguments' '--quiet' 'l' '1' \nI: \n",
  );
  result.logger.error("hidden");
  result.logger.fatal("shown");
  assert.equal(sink.lines.at(-1), "F: shown");
});

Deno.test("options: -lc with a file appender and pattern", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const cfg = `${dir}/log.cfg`;
    Deno.writeTextFileSync(
      cfg,
      [
        "log4cplus.rootLogger = INFO, file",
        "log4cplus.appender.file = log4cplus::FileAppender",
        "log4cplus.appender.file.File = ${LOGDIR}/${appname}.log",
        "log4cplus.appender.file.layout = log4cplus::PatternLayout",
        "log4cplus.appender.file.layout.ConversionPattern = [%-5p|%c{1}] %m%n",
      ].join("\n"),
    );
    const r = parseCommandLine(ECHOSCU, ["--arguments", "-lc", cfg, "l", "1"]);
    assert.ok(r.ok);
    const s = configureLogging(r.options, {
      programName: "/usr/bin/echoscu",
      logConfig,
      env: (n) => (n === "LOGDIR" ? dir : undefined),
    });
    assert.ok(s.ok);
    s.logger.info("Requesting Association");
    s.logger.debug("not shown");
    s.hierarchy.close();
    assert.equal(
      Deno.readTextFileSync(`${dir}/echoscu.log`),
      `[INFO |root] calling '/usr/bin/echoscu' with 5 arguments: '--arguments' '--log-config' '${cfg}' 'l' '1' \n` +
        "[INFO |root] \n" +
        "[INFO |echoscu] Requesting Association\n",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
