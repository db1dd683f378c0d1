import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { createUser, listUsers, updateUser, USER_ROLES } from '../../access/users.ts';
import { listAudit, recordAudit } from '../../access/audit.ts';
import type { Role } from '../../workspaces/workspaces.ts';
import { printTable } from '../output.ts';
import { withWorkspace, cliActor } from '../workspace.ts';
import { parseInteger } from '../args.ts';

const ws = ['-w, --workspace <slug>', 'workspace slug or id'] as const;

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.replace(/\r?\n$/, '');
}

export function registerUserCommands(program: Command, config: () => SiyuConfig): void {
  const users = program.command('users').description('people who log in to the console (API keys are for machines)');
  users
    .command('create')
    .description('create a user; the password is read from standard input (SIYU_NEW_PASSWORD also works)')
    .requiredOption('--email <email>')
    .requiredOption('--name <name>')
    .requiredOption('--role <role>', USER_ROLES.join(', '))
    .option(...ws)
    .action(async (options: { email: string; name: string; role: string; workspace?: string }) => {
      const password = process.env.SIYU_NEW_PASSWORD || (await readStdin());
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const user = await createUser(stores, workspaceId, { email: options.email, name: options.name, role: options.role, password });
        await recordAudit(stores, workspaceId, cliActor(), 'user.create', user.id, { email: user.email, role: user.role });
        console.log(`user ${user.email} (${user.name}): ${user.role}, id ${user.id}`);
      });
    });
  users
    .command('list')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable((await listUsers(stores, workspaceId)).map((u) => ({ id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled ? 'yes' : '' }))),
      );
    });
  users
    .command('set <email>')
    .description("change a user's role or disable/enable them (their sessions end)")
    .option('--role <role>', USER_ROLES.join(', '))
    .option('--disable', 'disable the user')
    .option('--enable', 'enable the user again')
    .option(...ws)
    .action(async (email: string, options: { role?: string; disable?: boolean; enable?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const user = await updateUser(stores, workspaceId, email, { role: options.role as Role | undefined, disabled: options.disable ? true : options.enable ? false : undefined });
        await recordAudit(stores, workspaceId, cliActor(), 'user.update', user.id, { role: user.role, disabled: user.disabled });
        console.log(`user ${user.email}: ${user.role}${user.disabled ? ', disabled' : ''}`);
      });
    });
  program
    .command('audit')
    .description('the audit log: exports, keys, users and role changes, newest first')
    .option('--limit <n>', 'entries', parseInteger, 50)
    .option('--action <action>', 'only this action, e.g. export.segment')
    .option(...ws)
    .action(async (options: { limit: number; action?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable((await listAudit(stores, workspaceId, options)).map((e) => ({ at: e.at, actor: e.actor, action: e.action, target: e.target, details: JSON.stringify(e.details) }))),
      );
    });
}
