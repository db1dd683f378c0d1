import os from 'node:os';
import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { valueTypeOf } from '../../tags/definition.ts';
import { runTags, setManualTag } from '../../tags/engine.ts';
import { getTag, listTags, personTagsWithAuthors, saveTag, tagCoverage, tagRuns } from '../../tags/store.ts';
import { explainModelTag } from '../../tags/model-tags.ts';
import { importTagFile } from '../../tags/imported-tags.ts';
import { installPack, PACKS } from '../../tags/packs/packs.ts';
import { getSchedule, removeSchedule, setSchedule } from '../../tags/schedule.ts';
import { formatInZone } from '../../kernel/time.ts';
import { printTable, Progress } from '../output.ts';
import { cliActor, withWorkspace } from '../workspace.ts';
import { personView, searchPeople } from '../../people/people.ts';
import { overview } from '../../people/overview.ts';
import { registerPeopleRightsCommands } from './people.ts';
import { eachDefinition, parseInteger } from '../args.ts';
import { setExitCode } from '../hosted.ts';

export function registerTagCommands(program: Command, config: () => SiyuConfig): void {
  const tags = program.command('tags').description('tags: typed values per person, computed by rules, statistics and models');
  tags
    .command('define <file.json>')
    .description('create tags from a JSON file (one definition or a list); --replace changes existing ones')
    .option('--replace', 'replace tags that exist')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (file: string, options: { replace?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, (stores, workspaceId) =>
        eachDefinition(file, async (definition) => {
          const tag = await saveTag(stores, workspaceId, definition, { replace: options.replace });
          console.log(`tag ${tag.key} (${tag.name.zh} / ${tag.name.en}): ${tag.kind}, ${valueTypeOf(tag)}`);
        }),
      );
    });
  tags
    .command('install-pack <name>')
    .description(`install a ready tag pack (${Object.keys(PACKS).join(', ')}); tags you have already are kept unless --replace`)
    .option('--replace', "replace the workspace's own definitions of the pack's tags")
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (name: string, options: { replace?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const result = await installPack(stores, workspaceId, name, options);
        console.log(`pack ${name}: ${result.installed.length} tags installed, ${result.replaced.length} replaced, ${result.kept.length} kept as they were`);
        if (result.installed.length + result.replaced.length > 0) console.log('compute them with: siyu tags run');
      });
    });
  tags
    .command('import <key> <file>')
    .description("an imported tag's file: a header row, then identifier,value per row (CSV in UTF-8 or GB18030, or XLSX); replaces the previous file and runs the tag")
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (key: string, file: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const report = await importTagFile(stores, workspaceId, key, file);
        console.log(`${file}: ${report.rowsRead} rows, ${report.accepted} accepted, ${report.rejected} rejected`);
        for (const r of report.rejections.slice(0, 20)) console.log(`  row ${r.row}, ${r.field} "${r.value}": expected ${r.expected}`);
        if (report.rejected > 20) console.log(`  … and ${report.rejected - 20} more`);
        const [run] = await runTags(stores, { workspaceId, keys: [key], trigger: 'import' });
        console.log(`tag ${key}: ${run.status}, ${run.people} people${run.error ? ` (${run.error})` : ''}`);
        if (run.status === 'failed') setExitCode(1);
      });
    });
  tags
    .command('list')
    .description('the workspace tags with their last run')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const rows = [];
        for (const tag of await listTags(stores, workspaceId)) {
          const [last] = await tagRuns(stores, workspaceId, tag.key, 1);
          rows.push({
            key: tag.key,
            name: tag.name.zh,
            kind: tag.kind,
            type: valueTypeOf(tag),
            'last run': last ? `${last.baseDate} ${last.status}` : '',
            people: last?.people ?? '',
          });
        }
        printTable(rows);
      });
    });
  tags
    .command('run [keys...]')
    .description('compute tags (all, or the ones named) for a base date; tags run after those they depend on')
    .option('--date <YYYY-MM-DD>', 'base date (default: today in the workspace time zone)')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (keys: string[], options: { date?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        // Each tag as it finishes (through the server too, in client mode).
        const progress = new Progress('computing tags');
        let finished = 0;
        const results = await runTags(stores, { workspaceId, keys, baseDate: options.date, trigger: 'manual', onTag: () => progress.update(++finished, 'tags') });
        progress.done();
        printTable(results.map((r) => ({ tag: r.key, status: r.status, people: r.people, s: Math.round(r.seconds * 100) / 100, error: r.error ?? '' })));
        const failed = results.filter((r) => r.status === 'failed');
        if (failed.length > 0) throw new Error(`${failed.length} tag${failed.length === 1 ? '' : 's'} failed: ${failed.map((f) => f.key).join(', ')}`);
      });
    });
  tags
    .command('show <key>')
    .description('a tag: its definition, coverage (people per value) and recent runs')
    .option('--as-of <YYYY-MM-DD>', 'values as they were on a date')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (key: string, options: { asOf?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const tag = await getTag(stores, workspaceId, key);
        const coverage = await tagCoverage(stores, workspaceId, key, { asOf: options.asOf });
        console.log(`${tag.key}  ${tag.name.zh} / ${tag.name.en}  (${tag.kind}, ${valueTypeOf(tag)})`);
        if (tag.description) console.log(tag.description);
        if (!coverage.run) console.log('no values yet: run `siyu tags run` first');
        else {
          console.log(`values of the run for ${coverage.run.baseDate}: ${coverage.people.toLocaleString('en-US')} people`);
          printTable(coverage.values.map((v) => ({ value: v.value, people: v.people, share: coverage.people ? `${((100 * v.people) / coverage.people).toFixed(1)}%` : '' })));
        }
        console.log('');
        printTable(
          (await tagRuns(stores, workspaceId, key)).map((r) => ({
            run: r.id,
            'base date': r.baseDate,
            trigger: r.trigger,
            status: r.status,
            people: r.people,
            s: r.seconds ?? '',
            error: r.error ?? '',
          })),
        );
      });
    });

  tags
    .command('explain <key> <person_id>')
    .description('why a person has their value of a model tag: their x, t_x, T (and m) and the fitted parameters')
    .option('--as-of <YYYY-MM-DD>', 'the run in force on a date')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (key: string, personId: string, options: { asOf?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const tag = await getTag(stores, workspaceId, key);
        if (tag.kind !== 'model') throw new Error(`tag "${key}" is a ${tag.kind} tag; explain is for model tags`);
        console.log(JSON.stringify(await explainModelTag(stores, workspaceId, tag, parseInteger(personId), options.asOf), null, 2));
      });
    });

  tags
    .command('set <key> <person_id> <value>')
    .description('set a manual tag on a person (a list: comma-separated); it is published at once')
    .option('--by <name>', 'who sets it (default: the operating-system user)')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (key: string, personId: string, value: string, options: { by?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const actor = options.by ?? `cli:${os.userInfo().username}`;
        const set = await setManualTag(stores, workspaceId, key, parseInteger(personId), value, actor);
        console.log(`${key} = ${JSON.stringify(set)} for person ${personId} (by ${actor})`);
      });
    });
  tags
    .command('unset <key> <person_id>')
    .description('remove a manual tag from a person')
    .option('--by <name>', 'who removes it')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (key: string, personId: string, options: { by?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await setManualTag(stores, workspaceId, key, parseInteger(personId), undefined, options.by ?? `cli:${os.userInfo().username}`);
        console.log(`${key} removed from person ${personId}`);
      });
    });

  // Scheduled runs: one cron per workspace, read in its time zone.
  tags
    .command('schedule [cron...]')
    .description('show the tag schedule; set it with a cron (5 fields, in the workspace time zone) or `daily` (03:00); `off` removes it')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (words: string[], options: { workspace?: string }) => {
      const cron = words.join(' ').trim();
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        if (cron.toLowerCase() === 'off') {
          console.log((await removeSchedule(stores, workspaceId)) ? 'schedule removed: tags run manually and after imports' : 'no schedule to remove');
          return;
        }
        const schedule = cron ? await setSchedule(stores, workspaceId, cron) : await getSchedule(stores, workspaceId);
        if (!schedule) {
          console.log('no schedule: tags run manually and after imports (set one with `siyu tags schedule daily` or a cron)');
          return;
        }
        console.log(`${cron ? 'schedule set' : 'schedule'}: ${schedule.cron} (${schedule.timeZone})${schedule.enabled ? '' : ', disabled'}; all tags, base date yesterday`);
        console.log(`next run: ${formatInZone(schedule.nextAt, schedule.timeZone)} ${schedule.timeZone} (${schedule.nextAt.slice(0, 16).replace('T', ' ')} UTC)`);
        if (schedule.lastStartedAt) {
          console.log(
            `last run: ${formatInZone(schedule.lastStartedAt, schedule.timeZone)} ${schedule.timeZone}${schedule.lastBaseDate ? ` (last finished run: base date ${schedule.lastBaseDate})` : ''}`,
          );
        } else console.log('last run: never');
      });
    });

  const people = program.command('people').description('people (OneID) and what is known of them');
  people
    .command('show <person_id>')
    .description("a person's tags with their values and the date of the run that computed them")
    .option('--as-of <YYYY-MM-DD>', 'tags as they were on a date')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { asOf?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const id = parseInteger(personId);
        const rows = await personTagsWithAuthors(stores, workspaceId, id, options.asOf);
        console.log(`person ${id}: ${rows.length} tag${rows.length === 1 ? '' : 's'}`);
        printTable(
          rows.map((t) => ({
            tag: t.key,
            name: t.name.zh,
            value: Array.isArray(t.value) ? t.value.join(', ') : String(t.value),
            'as of': t.baseDate,
            'set by': 'setBy' in t ? `${t.setBy} ${t.setAt.slice(0, 16).replace('T', ' ')}` : '',
          })),
        );
      });
    });
  registerPeopleRightsCommands(people, config);
  // The CLI acts as the workspace's owner: everyone, unmasked.
  const owner = (workspaceId: string) => ({ keyId: cliActor(), workspaceId, role: 'admin' as const });
  people
    .command('search <text>')
    .description('find people by any identifier (normalised as its type says), a part of a name, or an id')
    .option('--limit <n>', 'people', parseInteger, 20)
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (text: string, options: { limit: number; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const hits = await searchPeople(stores, owner(workspaceId), text, { limit: options.limit });
        console.log(`${hits.length} ${hits.length === 1 ? 'person' : 'people'}`);
        printTable(hits.map((h) => ({ person: h.personId, name: h.name, sources: h.sources.join(','), identifiers: h.identifiers.map((i) => `${i.type}:${i.value}`).join(' ') })));
      });
    });
  people
    .command('view <person_id>')
    .description('the 360 view as JSON: identities and sources, profile, tags, orders with lines and shipments, events, messages, tasks, consents')
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (personId: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        console.log(JSON.stringify(await personView(stores, owner(workspaceId), parseInteger(personId)), null, 2));
      });
    });
  program
    .command('overview')
    .description('people, buyers, orders, GMV and repurchase rate over the last N days; lifecycle, RFM matrix, daily trend (JSON)')
    .option('--days <n>', 'window in days, ending today in the workspace zone', parseInteger, 90)
    .option('-w, --workspace <slug>', 'workspace slug or id')
    .action(async (options: { days: number; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        console.log(JSON.stringify(await overview(stores, owner(workspaceId), options.days), null, 2));
      });
    });
}
