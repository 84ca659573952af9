@echo off
rem movescu with the Deno permissions it needs (README: "Install and run").
call "%~dp0deno.cmd" || exit /b 127
"%DENO%" run --no-prompt --allow-net --allow-read --allow-write "%~dp0..\bundle\movescu.js" %*
exit /b %ERRORLEVEL%
