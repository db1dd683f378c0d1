import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { createSignKey, listSignKeys, revokeSignKey } from '../../tracking/signed-identity.ts';
import { printTable } from '../output.ts';
import { cliActor, withWorkspace } from '../workspace.ts';

/** `siyu identities sign-key …`: the keys a brand's server signs customers' identities with. */
export function registerSignKeyCommands(identities: Command, config: () => SiyuConfig): void {
  const signKey = identities.command('sign-key').description("keys for signed identities: the brand's server signs who a customer is, tracked events carry it");
  signKey
    .command('create')
    .description('create a sign key; its secret (HS256) is printed once')
    .requiredOption('--name <name>', 'what signs with it, e.g. "mini-program backend"')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { name: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const { key, secret } = await createSignKey(stores, workspaceId, options.name, cliActor());
        console.log(`sign key ${key.id} (${key.name}) created: sign HS256 tokens with iss "${key.id}"`);
        console.log(`secret (shown once, store it in your server's secrets now): ${secret}`);
      });
    });
  signKey
    .command('list')
    .description('list sign keys (never their secrets)')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        printTable((await listSignKeys(stores, workspaceId)).map((k) => ({ id: k.id, name: k.name, created: k.createdAt, by: k.createdBy, revoked: k.revokedAt ?? '' })));
      });
    });
  signKey
    .command('revoke <id>')
    .description('revoke a sign key: identities it signed are claims from now on')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (id: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const key = await revokeSignKey(stores, workspaceId, id, cliActor());
        console.log(`sign key ${key.id} (${key.name}) revoked at ${key.revokedAt}`);
      });
    });
}
