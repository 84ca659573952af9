@echo off
rem storescp with the Deno permissions it needs (README: "Install and run").
call "%~dp0deno.cmd" || exit /b 127
"%DENO%" run --no-prompt --allow-net --allow-read --allow-write "%~dp0..\bundle\storescp.js" %*
exit /b %ERRORLEVEL%
