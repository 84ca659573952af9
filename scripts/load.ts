/**
 * `deno task load`: load, leak and churn runs against our own SCPs; the
 * phases and their report are in testing/load.ts (the tests run them too).
 *
 * @module
 */
import { formatReport, parseArgs, runLoad, sampleProcess } from "../testing/load.ts";

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs(Deno.args);
  } catch (err) {
    console.error(`load: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
  const self = await sampleProcess(Deno.pid);
  const limit = Number(
    new TextDecoder().decode(
      (await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" }).output())
        .stdout,
    ),
  );
  const needed = Math.max(parsed.o.associations, parsed.o.echo, parsed.o.parallel) + 256;
  if (limit < needed) {
    console.error(`load: open file limit ${limit} < ${needed}: run 'ulimit -n ${needed}' first`);
    Deno.exit(1);
  }
  const reports = await runLoad(parsed.o);
  const selfAfter = await sampleProcess(Deno.pid);
  if (parsed.json) console.log(JSON.stringify({ reports, loadProcess: { self, selfAfter } }));
  else {
    console.log(formatReport(reports));
    console.log(`load process (SCU side): fds ${self.fds} before, ${selfAfter.fds} after`);
  }
  Deno.exit(reports.every((r) => r.problems.length === 0) ? 0 : 1);
}
