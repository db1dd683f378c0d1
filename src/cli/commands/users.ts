import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { createUser, listUsers, updateUser, USER_ROLES } from '../../access/users.ts';
import { listAudit, recordAudit } from '../../access/audit.ts';
import type { Role } from '../../access/keys.ts';
import { NotFoundError } from '../../kernel/errors.ts';
import type { Stores } from '../../stores/stores.ts';
import { createTeam, deleteTeam, listTeams, updateTeam } from '../../access/teams.ts';
import { listTasks, setTaskStatus } from '../../tasks/tasks.ts';
import { printTable } from '../output.ts';
import { printUsers } from '../formats.ts';
import { withWorkspace, cliActor } from '../workspace.ts';
import { parseInteger } from '../args.ts';
import { commandEnv, readStdinText } from '../hosted.ts';

const ws = ['-w, --workspace <slug>', 'workspace slug or id'] as const;

const splitList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

async function teamNamed(stores: Stores, workspaceId: string, name: string) {
  const team = (await listTeams(stores, workspaceId)).find((t) => t.name === name || t.id === name);
  if (!team) throw new NotFoundError(`no team "${name}" (see \`siyu teams list\`)`);
  return team;
}

async function readStdin(): Promise<string> {
  return (await readStdinText()).replace(/\r?\n$/, '');
}

export function registerUserCommands(program: Command, config: () => SiyuConfig): void {
  const users = program.command('users').description('people who log in to the console (API keys are for machines)');
  users
    .command('create')
    .description('create a user; the password is read from standard input (SIYU_NEW_PASSWORD also works)')
    .requiredOption('--email <email>')
    .requiredOption('--name <name>')
    .requiredOption('--role <role>', USER_ROLES.join(', '))
    .option('--team <name>', 'the team whose data scope the user works in (see `siyu teams`)')
    .option('--staff-userid <userid>', 'staff: their WeCom userid (they see the customers whose contact they own)')
    .option(...ws)
    .action(async (options: { email: string; name: string; role: string; team?: string; staffUserid?: string; workspace?: string }) => {
      const password = commandEnv('SIYU_NEW_PASSWORD') || (await readStdin());
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const teamId = options.team ? (await teamNamed(stores, workspaceId, options.team)).id : undefined;
        const user = await createUser(stores, workspaceId, { email: options.email, name: options.name, role: options.role, password, teamId, staffUserId: options.staffUserid });
        await recordAudit(stores, workspaceId, cliActor(), 'user.create', user.id, { email: user.email, role: user.role, teamId: user.teamId, staffUserId: user.staffUserId });
        console.log(`user ${user.email} (${user.name}): ${user.role}${options.team ? `, team ${options.team}` : ''}, id ${user.id}`);
      });
    });
  users
    .command('list')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const teams = new Map((await listTeams(stores, workspaceId)).map((t) => [t.id, t.name]));
        printUsers(await listUsers(stores, workspaceId), teams);
      });
    });
  users
    .command('set <email>')
    .description("change a user's role, team or WeCom userid, or disable/enable them (their sessions end)")
    .option('--role <role>', USER_ROLES.join(', '))
    .option('--team <name>', 'move the user to this team ("none": the whole workspace)')
    .option('--staff-userid <userid>', 'staff: their WeCom userid ("none" to clear)')
    .option('--disable', 'disable the user')
    .option('--enable', 'enable the user again')
    .option(...ws)
    .action(async (email: string, options: { role?: string; team?: string; staffUserid?: string; disable?: boolean; enable?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const teamId = options.team === undefined ? undefined : options.team === 'none' ? null : (await teamNamed(stores, workspaceId, options.team)).id;
        const staffUserId = options.staffUserid === undefined ? undefined : options.staffUserid === 'none' ? null : options.staffUserid;
        const user = await updateUser(stores, workspaceId, email, {
          role: options.role as Role | undefined,
          disabled: options.disable ? true : options.enable ? false : undefined,
          teamId,
          staffUserId,
        });
        await recordAudit(stores, workspaceId, cliActor(), 'user.update', user.id, {
          role: user.role,
          disabled: user.disabled,
          teamId: user.teamId,
          staffUserId: user.staffUserId,
        });
        console.log(`user ${user.email}: ${user.role}${user.disabled ? ', disabled' : ''}`);
      });
    });
  const teams = program.command('teams').description('teams and the sources whose data their members see (tmall, jd, wecom, …)');
  teams
    .command('list')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable((await listTeams(stores, workspaceId)).map((t) => ({ id: t.id, name: t.name, sources: t.sources.join(','), members: t.members }))),
      );
    });
  teams
    .command('create <name>')
    .description('create a team bound to sources')
    .requiredOption('--sources <list>', 'comma-separated source names, e.g. tmall,tmall_global')
    .option(...ws)
    .action(async (name: string, options: { sources: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const team = await createTeam(stores, workspaceId, { name, sources: splitList(options.sources) });
        await recordAudit(stores, workspaceId, cliActor(), 'team.create', team.id, { name: team.name, sources: team.sources });
        console.log(`team ${team.name} (${team.id}): sees ${team.sources.join(', ')}`);
      });
    });
  teams
    .command('set <name>')
    .description("change a team's sources (its members' scope changes at once)")
    .requiredOption('--sources <list>', 'comma-separated source names')
    .option('--rename <new>', 'a new name')
    .option(...ws)
    .action(async (name: string, options: { sources: string; rename?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const before = await teamNamed(stores, workspaceId, name);
        const team = await updateTeam(stores, workspaceId, before.id, { name: options.rename ?? before.name, sources: splitList(options.sources) });
        await recordAudit(stores, workspaceId, cliActor(), 'team.update', team.id, {
          from: { name: before.name, sources: before.sources },
          to: { name: team.name, sources: team.sources },
        });
        console.log(`team ${team.name}: sees ${team.sources.join(', ')}`);
      });
    });
  teams
    .command('delete <name>')
    .description('delete a team without members')
    .option(...ws)
    .action(async (name: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const team = await teamNamed(stores, workspaceId, name);
        await deleteTeam(stores, workspaceId, team.id);
        await recordAudit(stores, workspaceId, cliActor(), 'team.delete', team.id, { name: team.name });
        console.log(`team ${team.name} deleted`);
      });
    });
  const tasks = program.command('tasks').description('staff tasks made by journeys');
  tasks
    .command('list')
    .option('--status <status>', 'open or done')
    .option('--limit <n>', 'tasks', parseInteger, 100)
    .option(...ws)
    .action(async (options: { status?: string; limit: number; workspace?: string }) => {
      if (options.status && !['open', 'done'].includes(options.status)) throw new Error('--status must be open or done');
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable(
          (await listTasks(stores, { keyId: cliActor(), workspaceId, role: 'admin' }, { status: options.status as 'open' | undefined, limit: options.limit })).map((t) => ({
            id: t.id,
            person: t.personId,
            title: t.title,
            status: t.status,
            from: t.source,
            created: t.createdAt.slice(0, 16).replace('T', ' '),
          })),
        ),
      );
    });
  tasks
    .command('done <id>')
    .description('mark a task done')
    .option(...ws)
    .action(async (id: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const task = await setTaskStatus(stores, { keyId: cliActor(), workspaceId, role: 'admin' }, parseInteger(id), 'done');
        console.log(`task ${task.id} (${task.title}): done`);
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
        printTable(
          (await listAudit(stores, workspaceId, options)).map((e) => ({ at: e.at, actor: e.actor, action: e.action, target: e.target, details: JSON.stringify(e.details) })),
        ),
      );
    });
}
