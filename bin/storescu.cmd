@echo off
rem storescu with the Deno permissions it needs (README: "Install and run").
rem It reads a chunk of the bundle only when the run imports it (README: "Bundled tools").
call "%~dp0deno.cmd" || exit /b 127
"%DENO%" run --unstable-lazy-dynamic-imports --no-prompt --allow-net --allow-read --allow-write "%~dp0..\bundle\storescu.js" %*
exit /b %ERRORLEVEL%
