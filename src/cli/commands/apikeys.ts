import type { Command } from 'commander';
import { cliActor, openCliStores } from '../workspace.ts';
import { recordAudit } from '../../access/audit.ts';
import type { SiyuConfig } from '../../config/config.ts';
import type { Stores } from '../../stores/stores.ts';
import { WorkspaceService } from '../../access/workspaces.ts';
import { ApiKeyService, ROLES, type Role } from '../../access/keys.ts';
import { printTable } from '../output.ts';

/** "a, b,c" → ["a", "b", "c"] */
const originList = (text: string) => text.split(/[\s,]+/).filter(Boolean);

export function registerApiKeyCommands(program: Command, config: () => SiyuConfig): void {
  const workspaceOption = ['-w, --workspace <slug>', 'workspace slug or id (default: the only one)'] as const;

  const withServices = async <T>(fn: (s: { workspaces: WorkspaceService; apiKeys: ApiKeyService; stores: Stores }) => Promise<T>): Promise<T> => {
    const stores = await openCliStores(config);
    try {
      return await fn({ workspaces: new WorkspaceService(stores.state), apiKeys: new ApiKeyService(stores.state), stores });
    } finally {
      await stores.close();
    }
  };

  const workspace = program.command('workspace').description('workspaces (one per brand)');
  workspace
    .command('create')
    .description('create a workspace and its first admin API key')
    .requiredOption('--slug <slug>', 'short name, e.g. yanyu')
    .requiredOption('--name <name>', 'display name')
    .option('--time-zone <tz>', 'IANA time zone for days, schedules and quiet hours', 'Asia/Shanghai')
    .action(async (options: { slug: string; name: string; timeZone: string }) => {
      await withServices(async ({ workspaces, apiKeys }) => {
        const created = await workspaces.create({ slug: options.slug, name: options.name, timeZone: options.timeZone });
        const { token } = await apiKeys.create(created.id, 'admin', 'admin');
        console.log(`workspace ${created.slug} (${created.id}) created, time zone ${created.timeZone}`);
        console.log(`admin API key (shown once, store it now): ${token}`);
      });
    });
  workspace
    .command('list')
    .description('list workspaces')
    .action(async () => {
      await withServices(async ({ workspaces }) => printTable(await workspaces.list()));
    });

  const apikey = program.command('apikey').description('API keys for machines (sent as "Authorization: Bearer <key>")');
  apikey
    .command('create')
    .description('create an API key; the token is printed once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "ERP sync"')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'operator')
    .option('--origins <list>', 'a tracker key only: the page origins it may send from, comma-separated (https://shop.example.com,https://*.example.com)')
    .option(...workspaceOption)
    .action(async (options: { name: string; role: string; origins?: string; workspace?: string }) => {
      if (!ROLES.includes(options.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}, got "${options.role}"`);
      await withServices(async ({ workspaces, apiKeys, stores }) => {
        const ws = await workspaces.resolve(options.workspace);
        const { key, token } = await apiKeys.create(ws.id, options.name, options.role as Role, options.origins === undefined ? undefined : originList(options.origins));
        await recordAudit(stores, ws.id, cliActor(), 'apikey.create', key.id, { name: key.name, role: key.role, allowedOrigins: key.allowedOrigins });
        console.log(`API key ${key.prefix} (${key.role}) created for workspace ${ws.slug}`);
        console.log(`token (shown once, store it now): ${token}`);
      });
    });
  apikey
    .command('list')
    .description('list API keys (never their secrets)')
    .option(...workspaceOption)
    .action(async (options: { workspace?: string }) => {
      await withServices(async ({ workspaces, apiKeys }) => {
        const ws = await workspaces.resolve(options.workspace);
        const keys = await apiKeys.list(ws.id);
        printTable(
          keys.map((k) => ({
            id: k.id,
            prefix: k.prefix,
            name: k.name,
            role: k.role,
            created: k.createdAt,
            last_used: k.lastUsedAt ?? '',
            revoked: k.revokedAt ?? '',
            origins: k.allowedOrigins?.join(',') ?? '',
          })),
        );
      });
    });
  apikey
    .command('origins <key> [origins...]')
    .description('hold a tracker key (id or prefix) to page origins; none given: any origin')
    .option(...workspaceOption)
    .action(async (idOrPrefix: string, origins: string[], options: { workspace?: string }) => {
      await withServices(async ({ workspaces, apiKeys, stores }) => {
        const ws = await workspaces.resolve(options.workspace);
        const list = origins.flatMap(originList);
        const key = await apiKeys.setAllowedOrigins(ws.id, idOrPrefix, list.length > 0 ? list : null);
        await recordAudit(stores, ws.id, cliActor(), 'apikey.origins', key.id, { name: key.name, allowedOrigins: key.allowedOrigins });
        console.log(`API key ${key.prefix} (${key.name}) takes requests from ${key.allowedOrigins?.join(', ') ?? 'any origin'}`);
      });
    });
  apikey
    .command('revoke <key>')
    .description('revoke an API key by id or prefix; requests with it fail from now on')
    .option(...workspaceOption)
    .action(async (idOrPrefix: string, options: { workspace?: string }) => {
      await withServices(async ({ workspaces, apiKeys, stores }) => {
        const ws = await workspaces.resolve(options.workspace);
        const key = await apiKeys.revoke(ws.id, idOrPrefix);
        await recordAudit(stores, ws.id, cliActor(), 'apikey.revoke', key.id, { name: key.name, role: key.role });
        console.log(`API key ${key.prefix} (${key.name}) revoked at ${key.revokedAt}`);
      });
    });
}
