import type { Command } from 'commander';
import { recordAudit } from '../../access/audit.ts';
import type { SiyuConfig } from '../../config/config.ts';
import { resolveIdentities } from '../../identity/resolve.ts';
import { exportIdentities, exportRecords } from '../../identity/exports.ts';
import { explainPerson } from '../../identity/explain.ts';
import { unbindIdentifier, unmergePerson } from '../../identity/overrides.ts';
import { decideReview, listReviews } from '../../identity/reviews.ts';
import { getOneIdSettings, saveOneIdSettings } from '../../identity/settings.ts';
import { declareIdentifierType, loadIdentifierTypes } from '../../identity/identifier-store.ts';
import { printTable } from '../output.ts';
import { printExplanation, printResolveSummary } from '../formats.ts';
import { withWorkspace, cliActor } from '../workspace.ts';
import { registerSignKeyCommands } from './sign-keys.ts';
import { parseInteger } from '../args.ts';

export function registerIdentityCommands(program: Command, config: () => SiyuConfig): void {
  program
    .command('resolve')
    .description('OneID: link records into people (new records only, or everything with --full)')
    .option('--full', 'recompute every record')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { full?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        // Each step as it ends, on stderr (stdout keeps the summary alone).
        const onStep = (step: string, seconds: number) => process.stderr.write(`resolving: ${step} done in ${seconds.toFixed(1)} s\n`);
        const s = await resolveIdentities(stores, { workspaceId, full: options.full, onStep });
        printResolveSummary(s);
      });
    });

  const identities = program.command('identities').description('OneID: people and their identifiers');
  registerSignKeyCommands(identities, config);
  identities
    .command('export')
    .description('write person_id,type,value for every identifier of every person')
    .requiredOption('--out <file.csv>', 'output file')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { out: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await recordAudit(stores, workspaceId, cliActor(), 'export.identities', options.out);
        const n = await exportIdentities(stores, workspaceId, options.out);
        console.log(`${n.toLocaleString('en-US')} identifiers → ${options.out}`);
      });
    });
  identities
    .command('explain <person_id>')
    .description('the records of a person and the shared identifiers that joined them')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const id = parseInteger(personId);
        const e = await explainPerson(stores, workspaceId, id);
        printExplanation(id, e);
      });
    });

  identities
    .command('unbind <person_id>')
    .description('remove one identifier from a person: the value links nobody from now on (the person may split)')
    .requiredOption('--type <type>', 'identifier type, e.g. phone')
    .requiredOption('--value <value>', 'the value, as written anywhere (it is normalised)')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { type: string; value: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const s = await unbindIdentifier(stores, workspaceId, parseInteger(personId), options.type, options.value, 'cli');
        console.log(`unbound ${options.type} from person ${personId}: ${s.reassigned} records moved, ${s.newPeople} new people`);
      });
    });
  identities
    .command('unmerge <person_id>')
    .description("undo the person's latest merge: the people it joined are apart again and stay apart")
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const { summary, groups } = await unmergePerson(stores, workspaceId, parseInteger(personId), 'cli');
        console.log(`person ${personId} unmerged into ${groups} people (${summary.newPeople} new ids, ${summary.reassigned} records moved)`);
      });
    });

  identities
    .command('types')
    .description("the workspace's identifier types and their rules")
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const types = [...(await loadIdentifierTypes(stores.state, workspaceId)).values()].sort((a, b) => b.priority - a.priority);
        printTable(
          types.map((t) => ({
            type: t.name,
            label: t.label,
            priority: t.priority,
            'single-valued': t.singleValued ? 'yes' : '',
            'max people per value': t.maxPeoplePerValue,
            parent: t.parent ?? '',
            normaliser: t.normaliser,
            strong: t.strong ? 'yes' : 'evidence only',
          })),
        );
      });
    });
  identities
    .command('declare <type>')
    .description('declare or change an identifier type (e.g. a loyalty card id)')
    .requiredOption('--label <text>', 'what it is')
    .option('--priority <n>', 'higher wins a conflict', parseInteger, 50)
    .option('--single', 'one value per person')
    .option('--max-people <n>', 'a value shared by more people than this links nobody', parseInteger, 1)
    .option('--parent <type>', 'the type this one belongs to (an OpenID to a UnionID)')
    .option('--normaliser <name>', 'phone_cn, email, lower or trim', 'trim')
    .option('--weak', 'evidence for probabilistic matching only, never a link by itself')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(
      async (
        name: string,
        options: { label: string; priority: number; single?: boolean; maxPeople: number; parent?: string; normaliser: string; weak?: boolean; workspace?: string },
      ) => {
        await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
          const type = await declareIdentifierType(stores.state, workspaceId, {
            name,
            label: options.label,
            priority: options.priority,
            singleValued: options.single === true,
            maxPeoplePerValue: options.maxPeople,
            parent: options.parent,
            normaliser: options.normaliser,
            strong: options.weak !== true,
          });
          console.log(`identifier type ${type.name} declared; import files may now carry a "${type.name}" column, events an identities.${type.name}`);
        });
      },
    );
  identities
    .command('review')
    .description('borderline probabilistic matches: list them, or --accept / --reject one')
    .option('--accept <id>', 'the two records are one person', parseInteger)
    .option('--reject <id>', 'the two records are different people', parseInteger)
    .option('--status <status>', 'list pending, accepted or rejected', 'pending')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { accept?: number; reject?: number; status: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        if (options.accept !== undefined || options.reject !== undefined) {
          const decision = options.accept !== undefined ? 'accepted' : 'rejected';
          const { person } = await decideReview(stores, workspaceId, (options.accept ?? options.reject)!, decision, 'cli');
          console.log(`review ${options.accept ?? options.reject} ${decision}; the first record is now person ${person}`);
          return;
        }
        if (!['pending', 'accepted', 'rejected'].includes(options.status)) throw new Error('--status must be pending, accepted or rejected');
        const rows = await listReviews(stores, workspaceId, options.status as 'pending');
        printTable(
          rows.map((r) => ({
            id: Number(r.id),
            probability: Number(r.probability),
            a: r.record_a,
            b: r.record_b,
            'pattern (name phone address birthday id)': JSON.stringify(r.pattern),
          })),
        );
      });
    });
  identities
    .command('settings')
    .description('OneID settings: probabilistic matching on or off and its thresholds (shown; or changed with the options)')
    .option('--fuzzy <on|off>', 'probabilistic matching after the deterministic links')
    .option('--auto-merge <on|off>', 'off: every match waits in the review queue')
    .option('--merge-at <p>', 'merge two records at or above this match probability', parseFloat)
    .option('--review-at <p>', 'queue a pair for review at or above this (and below --merge-at)', parseFloat)
    .option('--max-block <n>', 'skip blocks larger than this', parseInteger)
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { fuzzy?: string; autoMerge?: string; mergeAt?: number; reviewAt?: number; maxBlock?: number; workspace?: string }) => {
      for (const [flag, value] of [
        ['--fuzzy', options.fuzzy],
        ['--auto-merge', options.autoMerge],
      ])
        if (value !== undefined && !['on', 'off'].includes(value)) throw new Error(`${flag} must be on or off`);
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const change = {
          ...(options.fuzzy !== undefined ? { fuzzy: options.fuzzy === 'on' } : {}),
          ...(options.autoMerge !== undefined ? { autoMerge: options.autoMerge === 'on' } : {}),
          ...(options.mergeAt !== undefined ? { mergeAt: options.mergeAt } : {}),
          ...(options.reviewAt !== undefined ? { reviewAt: options.reviewAt } : {}),
          ...(options.maxBlock !== undefined ? { maxBlock: options.maxBlock } : {}),
        };
        const settings = Object.keys(change).length > 0 ? await saveOneIdSettings(stores, workspaceId, change) : await getOneIdSettings(stores, workspaceId);
        if (Object.keys(change).length > 0) await recordAudit(stores, workspaceId, cliActor(), 'oneid.settings', workspaceId, settings);
        console.log(
          `probabilistic matching ${settings.fuzzy ? 'on' : 'off'}: ${settings.autoMerge ? `merge at ≥ ${settings.mergeAt}` : 'no automatic merges'}, review at ≥ ${settings.reviewAt}, blocks up to ${settings.maxBlock} records`,
        );
      });
    });

  program
    .command('records')
    .description('imported source records')
    .command('export')
    .description('write source,record_id,person_id for every imported source record')
    .requiredOption('--out <file.csv>', 'output file')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { out: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await recordAudit(stores, workspaceId, cliActor(), 'export.records', options.out);
        const n = await exportRecords(stores, workspaceId, options.out);
        console.log(`${n.toLocaleString('en-US')} records → ${options.out}`);
      });
    });
}
