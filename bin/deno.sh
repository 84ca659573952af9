# Sourced by the launchers beside it (POSIX sh, $here = their directory):
# sets ROOT (the checkout) and DENO (the Deno binary that `npm ci` installed,
# pinned in package.json; else the one on PATH). No node process runs: the
# binary is started directly.
ROOT=$here/..
DENO=
for candidate in "$ROOT/node_modules/deno/deno" "$ROOT"/node_modules/@deno/*/deno; do
  if [ -x "$candidate" ]; then
    DENO=$candidate
    break
  fi
done
if [ -z "$DENO" ]; then
  DENO=$(command -v deno) || {
    echo "${0##*/}: no Deno found: run 'npm ci' in $ROOT (README: Quick start)" >&2
    exit 127
  }
fi
