import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { withWorkspace, cliActor, openCliStores } from '../workspace.ts';
import { hostedRun, readStdinText } from '../hosted.ts';
import { printTable } from '../output.ts';
import { listSecrets, removeSecret, rotateSecretKey, setSecret } from '../../secrets/secrets.ts';
import { channelUsingSecret } from '../../channels/store.ts';

/** The value comes on stdin (never as an argument: it would land in shell history and `ps`); one trailing newline is dropped. */
async function readValue(): Promise<string> {
  if (!hostedRun() && process.stdin.isTTY) process.stderr.write('type the value, then Enter and Ctrl-D:\n');
  return (await readStdinText()).replace(/\r?\n$/, '');
}

export function registerSecretCommands(program: Command, config: () => SiyuConfig): void {
  const ws = ['-w, --workspace <slug>', 'workspace slug or id (default: the only one)'] as const;
  const secrets = program.command('secrets').description('channel credentials, stored encrypted per workspace; write-only (listings show ••••1234)');
  secrets
    .command('list')
    .description('the workspace secrets: names, hints and when each was set (never values)')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable((await listSecrets(stores, workspaceId)).map((s) => ({ name: s.name, value: s.hint, updated: s.updatedAt }))),
      );
    });
  secrets
    .command('set <name>')
    .description('set or replace a secret; the value is read from stdin, e.g. printf %s "$TOKEN" | siyu secrets set sms_token')
    .option(...ws)
    .action(async (name: string, options: { workspace?: string }) => {
      const value = await readValue();
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const saved = await setSecret(stores, workspaceId, cliActor(), name, value);
        console.log(`secret ${saved.name} set (${saved.hint})`);
      });
    });
  secrets
    .command('delete <name>')
    .description('delete a secret no channel uses')
    .option(...ws)
    .action(async (name: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const user = await channelUsingSecret(stores, workspaceId, name);
        if (user) throw new Error(`secret "${name}" is used by ${user}; change it first`);
        if (!(await removeSecret(stores, workspaceId, cliActor(), name))) throw new Error(`no secret "${name}" in this workspace`);
        console.log(`secret ${name} deleted`);
      });
    });
  secrets
    .command('rotate-key')
    .description(
      're-encrypt every secret of every workspace under a new master key: with the generated key file, a new key is made and the old one dropped; ' +
        'with SIYU_SECRET_KEY, set the new key there and the old one in SIYU_SECRET_KEY_PREVIOUS first',
    )
    .action(async () => {
      const stores = await openCliStores(config);
      try {
        const result = await rotateSecretKey(stores, cliActor());
        const total = Object.values(result.resealed).reduce((a, b) => a + b, 0);
        console.log(
          `${result.generated ? 'new master key' : 'master key (SIYU_SECRET_KEY)'} ${result.keyId}: ${total} secret(s) re-encrypted in ${Object.keys(result.resealed).length} workspace(s)`,
        );
        if (result.retired.length > 0) console.log(`retired key(s): ${result.retired.join(', ')}`);
        if (!result.generated && total === 0)
          console.log('nothing to re-encrypt: every secret is already under SIYU_SECRET_KEY (to rotate, set a new one and move the old one to SIYU_SECRET_KEY_PREVIOUS)');
      } finally {
        await stores.close();
      }
    });
}
