@echo off
rem echoscu with the Deno permissions it needs (README: "Install and run").
call "%~dp0deno.cmd" || exit /b 127
"%DENO%" run --no-prompt --allow-net --allow-read "%~dp0..\bundle\echoscu.js" %*
exit /b %ERRORLEVEL%
