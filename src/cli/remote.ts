/**
 * Remote mode (SIYU_URL + SIYU_API_KEY): commands that have an API route call it and print what direct
 * mode prints. The others are refused naming what to do: they run only on the server's machine.
 */
import type { ServerTarget } from './client.ts';

export async function runOnRemoteServer(target: Extract<ServerTarget, { kind: 'remote' }>, argv: readonly string[]): Promise<number> {
  throw new Error(`siyu ${argv.slice(2).join(' ')}: not available against a remote server (SIYU_URL=${target.url}); run it on the server's machine`);
}
