@echo off
rem echoscp with the Deno permissions it needs (README: "Install and run").
rem It reads a chunk of the bundle only when the run imports it (README: "Bundled tools").
call "%~dp0deno.cmd" || exit /b 127
"%DENO%" run --unstable-lazy-dynamic-imports --no-prompt --allow-net --allow-read "%~dp0..\bundle\echoscp.js" %*
exit /b %ERRORLEVEL%
