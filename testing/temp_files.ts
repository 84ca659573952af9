/**
 * Test helpers for files: a temporary directory for the length of a test,
 * what a directory holds.
 *
 * @module
 */

/** Runs `fn` with a new temporary directory (`prefix` in its name), removed afterwards. */
export async function withTempDir(prefix: string, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The names in `dir`, sorted; with `recurse`, the files below it instead,
 * each as its path relative to `dir`.
 */
export async function listDir(dir: string, recurse = false): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (recurse && e.isDirectory) {
      out.push(...(await listDir(`${dir}/${e.name}`, true)).map((n) => `${e.name}/${n}`));
    } else out.push(e.name);
  }
  return out.sort();
}
