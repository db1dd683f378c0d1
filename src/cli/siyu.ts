#!/usr/bin/env node
/**
 * The light entry of `siyu`: beside a running server (or with SIYU_URL) a command is sent there without
 * loading the stores, fastify or the domains (client.ts); only a direct command loads main.ts.
 */
import { runSiyu } from './client.ts';

process.umask(0o077);
process.exitCode = await runSiyu(process.argv, async () => {
  const { main } = await import('./main.ts');
  return main(process.argv);
});
