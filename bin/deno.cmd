@echo off
rem Called by the launchers beside it: sets DENO to the Deno binary that
rem `npm ci` installed (pinned in package.json), else the one on PATH.
set "DENO=%~dp0..\node_modules\deno\deno.exe"
if exist "%DENO%" exit /b 0
for /d %%D in ("%~dp0..\node_modules\@deno\win32-*") do (
  if exist "%%D\deno.exe" (
    set "DENO=%%D\deno.exe"
    exit /b 0
  )
)
where deno >nul 2>nul && (
  set "DENO=deno"
  exit /b 0
)
echo no Deno found: run "npm ci" (README: Quick start) 1>&2
exit /b 127
