/** `siyu people export|erase`: one person's data rights (PIPL art. 45, 47) on the command line, as the workspace's owner. */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { cliActor, withWorkspace } from '../workspace.ts';
import { parseInteger } from '../args.ts';
import { erasePerson } from '../../people/erase.ts';
import { exportPerson } from '../../people/export.ts';

export function registerPeopleRightsCommands(people: Command, config: () => SiyuConfig): void {
  const owner = (workspaceId: string) => ({ keyId: cliActor(), workspaceId, role: 'admin' as const });
  people
    .command('export <person_id>')
    .description("one person's data as JSON (identifiers, records, orders, events, tags, consents, contacts, deliveries, notes, tasks); recorded in the audit log")
    .option('--out <file>', 'write to this file (mode 0600) instead of standard output')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { out?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const text = JSON.stringify(await exportPerson(stores, owner(workspaceId), parseInteger(personId)), null, 2);
        if (options.out) {
          // Personal data: readable by its owner only.
          fs.writeFileSync(options.out, `${text}\n`, { mode: 0o600 });
          console.log(`person ${personId} exported to ${options.out}`);
        } else console.log(text);
      });
    });
  people
    .command('erase <person_id>')
    .description(
      "erase a person's personal data from both stores (orders and event counts kept, de-identified); their identifiers are never linked again; recorded in the audit log",
    )
    .requiredOption('--reason <text>', 'why (the request it answers); recorded')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { reason: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const summary = await erasePerson(stores, owner(workspaceId), parseInteger(personId), options.reason);
        console.log(
          `erased person ${summary.personId}: ${summary.identifiers} identifiers suppressed, ${summary.recordsDeleted} records deleted, ${summary.recordsBlanked} order records blanked, ${summary.events} events stripped (${summary.seconds.toFixed(1)} s)`,
        );
      });
    });
}
