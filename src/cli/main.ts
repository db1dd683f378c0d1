#!/usr/bin/env node
/**
 * The `siyu` command. Thin: parses arguments, opens the stores, calls the domain, prints.
 * Errors print one line (`siyu: …`) and exit non-zero.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ZodError } from 'zod';
import { describeZodError } from '../kernel/errors.ts';
import { loadConfig, type SiyuConfig } from '../config/config.ts';
import { registerStartCommand } from './commands/start.ts';
import { hostedRun, prepareHostedAction } from './hosted.ts';
import { runSiyu } from './client.ts';
import { registerStoreCommands } from './commands/stores.ts';
import { registerDemoCommands } from './commands/demo.ts';
import { registerApiKeyCommands } from './commands/apikeys.ts';
import { registerImportCommands } from './commands/import.ts';
import { registerIdentityCommands } from './commands/identity.ts';
import { registerModelCommands } from './commands/models.ts';
import { registerTagCommands } from './commands/tags.ts';
import { registerSegmentCommands } from './commands/segments.ts';
import { registerPlanCommands } from './commands/plans.ts';
import { registerUserCommands } from './commands/users.ts';
import { registerSecretCommands } from './commands/secrets.ts';
import { registerBackupCommands } from './commands/backup.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('siyu')
    .description('Siyu (私域): customer operations platform — CDP, marketing automation and staff workbench')
    .version('0.1.0')
    .addOption(new Option('--data <dir>', 'data directory of the embedded stores').env('SIYU_DATA_DIR'))
    .showHelpAfterError('(run siyu --help for usage)')
    .exitOverride();
  // Inside the server (client mode, see client.ts) a command works on the server's configuration.
  const config = (): SiyuConfig => hostedRun()?.config ?? loadConfig({ dataDir: program.opts<{ data?: string }>().data });
  program.hook('preAction', prepareHostedAction);
  registerStartCommand(program, config);
  registerStoreCommands(program, config);
  registerDemoCommands(program, config);
  registerApiKeyCommands(program, config);
  registerImportCommands(program, config);
  registerIdentityCommands(program, config);
  registerModelCommands(program, config);
  registerTagCommands(program, config);
  registerSegmentCommands(program, config);
  registerPlanCommands(program, config);
  registerUserCommands(program, config);
  registerSecretCommands(program, config);
  registerBackupCommands(program, config);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its own message (help, version, usage errors).
      return error.exitCode;
    }
    const message = error instanceof ZodError ? describeZodError(error) : error instanceof Error ? error.message : String(error);
    process.stderr.write(`siyu: ${message}\n`);
    if (process.env.SIYU_DEBUG) console.error(error);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return fs.realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // Everything siyu writes (data, uploads, demo files, exports) is this user's only.
  process.umask(0o077);
  // Beside a running server (or with SIYU_URL) the command runs there; else here on the stores.
  const code = await runSiyu(process.argv, () => main(process.argv));
  // Long-running commands (start) never resolve here; the others exit with their code.
  process.exitCode = code;
}
