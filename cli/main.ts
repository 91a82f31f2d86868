// Entry point: parses the command line and dispatches. The server is loaded only for `serve`.
const [command, ...rest] = process.argv.slice(2);

if (command === 'serve') {
  const serverModule = new URL('./server.js', import.meta.url).href;
  const { serve } = (await import(serverModule)) as { serve(argv: string[]): Promise<void> };
  await serve(rest);
} else {
  const { runCli } = await import('./run-cli.ts');
  process.exitCode = await runCli(process.argv.slice(2));
}
