@echo off
rem storescp with the Deno permissions it needs (README: "Install and run").
rem It reads a chunk of the bundle only when the run imports it, and V8 compiles all of a
rem file at once so that its code cache holds every function (README: "Bundled tools").
rem V8 without Turbofan: fewer compiles per run, no slower code for this I/O work (README: "Bundled tools").
call "%~dp0deno.cmd" || exit /b 127
"%DENO%" run --unstable-lazy-dynamic-imports --v8-flags=--no-lazy,--no-turbofan --no-prompt --allow-net --allow-read --allow-write "%~dp0..\bundle\storescp.js" %*
exit /b %ERRORLEVEL%
