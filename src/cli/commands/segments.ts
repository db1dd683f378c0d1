import type { Command } from 'commander';
import { recordAudit } from '../../access/audit.ts';
import type { SiyuConfig } from '../../config/config.ts';
import { countSegment, deleteSegment, estimateSegment, getSegment, listSegments, sampleSegment, saveSegment } from '../../segments/segments.ts';
import { treeSchema } from '../../contract/segments.ts';
import { diffSnapshots, listSnapshots, takeSnapshot } from '../../segments/snapshots.ts';
import { crossMatrix, segmentInsights } from '../../segments/insights.ts';
import { exportSegment, exportToFile, importSegmentList } from '../../segments/lists.ts';
import { printTable } from '../output.ts';
import { estimateLine, exactLine, segmentListRow } from '../formats.ts';
import { behaviourIndexStatus, refreshBehaviourIndex } from '../../segments/behaviour.ts';
import { withWorkspace, cliActor } from '../workspace.ts';
import { eachDefinition, parseInteger, readJson } from '../args.ts';

const ws = ['-w, --workspace <slug>', 'workspace slug or id'] as const;
const percent = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : '');

export function registerSegmentCommands(program: Command, config: () => SiyuConfig): void {
  const segments = program.command('segments').description('segments (人群圈选): audiences from tags, profile fields and behaviour');

  segments
    .command('create <file.json>')
    .description('create segments from a JSON file (one definition or a list); --replace changes existing ones')
    .option('--replace', 'replace segments that exist')
    .option(...ws)
    .action(async (file: string, options: { replace?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, (stores, workspaceId) =>
        eachDefinition(file, async (definition) => {
          const segment = await saveSegment(stores, workspaceId, definition, { replace: options.replace });
          const { people } = await countSegment(stores, workspaceId, segment);
          console.log(`segment ${segment.key} (${segment.name.zh} / ${segment.name.en}): ${people.toLocaleString('en-US')} people`);
        }),
      );
    });

  segments
    .command('index')
    .description('bring the behaviour index up to date now (events by event and person, people per event and day), or show it with --status')
    .option('--status', 'show the last build and how many people changed since, without building')
    .option(...ws)
    .action(async (options: { status?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        if (!options.status) {
          const build = await refreshBehaviourIndex(stores, workspaceId);
          console.log(
            `behaviour index: ${build.weeks.length} week${build.weeks.length === 1 ? '' : 's'} rebuilt in ${build.seconds.toFixed(1)} s (${build.weeks.join(', ') || 'no changes'})`,
          );
        }
        const status = await behaviourIndexStatus(stores, workspaceId);
        if (!status.build) console.log('behaviour index: not built yet (behaviour conditions read the events)');
        else
          console.log(
            `built ${status.build.builtAt} UTC (zone ${status.build.timeZone}); people changed since: ${status.changedPeople} (read from the events until the next build)`,
          );
      });
    });

  segments
    .command('list')
    .description('the workspace segments with their last snapshot')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const rows = [];
        for (const s of await listSegments(stores, workspaceId)) {
          const [last] = await listSnapshots(stores, workspaceId, s.key);
          rows.push(segmentListRow(s, last));
        }
        printTable(rows);
      });
    });

  segments
    .command('count <key>')
    .description('the number of people in a segment (or in the tree of a JSON file with --file): the estimate, then the exact count')
    .option('--file', 'the argument is a JSON file holding { match, conditions } instead of a segment key')
    .option('--today <YYYY-MM-DD>', 'evaluate relative windows as of this day')
    .option(...ws)
    .action(async (keyOrFile: string, options: { file?: boolean; today?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const tree = options.file
          ? treeSchema.parse({ ...(readJson(keyOrFile) as object), ...(options.today ? { today: options.today } : {}) })
          : { ...(await getSegment(stores, workspaceId, keyOrFile)), today: options.today };
        const estimate = await estimateSegment(stores, workspaceId, tree);
        console.log(estimateLine(estimate));
        const exact = await countSegment(stores, workspaceId, tree);
        console.log(exactLine(exact));
      });
    });

  segments
    .command('sample <key>')
    .description('some members with their identifiers')
    .option('--limit <n>', 'how many', parseInteger, 20)
    .option(...ws)
    .action(async (key: string, options: { limit: number; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const people = await sampleSegment(stores, workspaceId, await getSegment(stores, workspaceId, key), { limit: options.limit });
        printTable(people.map((p) => ({ person: p.personId, identifiers: p.identifiers.map((i) => `${i.type}:${i.value}`).join(' ') })));
      });
    });

  segments
    .command('insights <key>')
    .description('tags inside the segment against the whole base')
    .requiredOption('--tags <keys>', 'comma-separated tag keys')
    .option('--top <n>', 'values per tag', parseInteger, 10)
    .option(...ws)
    .action(async (key: string, options: { tags: string; top: number; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const result = await segmentInsights(
          stores,
          workspaceId,
          await getSegment(stores, workspaceId, key),
          options.tags
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          options.top,
        );
        console.log(`${key}: ${result.people.toLocaleString('en-US')} of ${result.base.toLocaleString('en-US')} people (${percent(result.people, result.base)})`);
        for (const tag of result.tags) {
          console.log(`\n${tag.key} ${tag.name.zh} (values of ${tag.baseDate})`);
          if ('summary' in tag && tag.summary)
            printTable([
              { '': 'inside', people: tag.summary.people_inside, average: tag.summary.avg_inside, median: tag.summary.median_inside },
              { '': 'base', people: tag.summary.people_base, average: tag.summary.avg_base, median: tag.summary.median_base },
            ]);
          else if ('values' in tag && tag.values)
            printTable(
              tag.values.map((v) => ({
                value: v.value,
                inside: v.inside,
                'share inside': percent(v.inside, result.people),
                base: v.base,
                'share base': percent(v.base, result.base),
                lift: v.lift === null ? '' : v.lift.toFixed(2),
              })),
            );
        }
      });
    });

  segments
    .command('cross')
    .description('people per pair of values of two tags, inside a segment or the whole base')
    .requiredOption('--rows <tag>', 'the tag down the side')
    .requiredOption('--columns <tag>', 'the tag across the top')
    .option('--segment <key>', 'only the members of this segment')
    .option(...ws)
    .action(async (options: { rows: string; columns: string; segment?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const matrix = await crossMatrix(stores, workspaceId, options.segment ? await getSegment(stores, workspaceId, options.segment) : undefined, options.rows, options.columns);
        printTable(matrix.rows.map((r) => ({ [`${options.rows} \\ ${options.columns}`]: r.value, ...Object.fromEntries(matrix.columns.map((c, i) => [c, r.cells[i]])) })));
      });
    });

  segments
    .command('snapshot <key>')
    .description("take a snapshot of a segment's members now; with --list, the kept snapshots; with --diff, who joined and left between the last two (or --from/--to)")
    .option('--list', 'list the kept snapshots')
    .option('--diff', 'compare two snapshots')
    .option('--from <id>', 'the earlier snapshot')
    .option('--to <id>', 'the later snapshot')
    .option(...ws)
    .action(async (key: string, options: { list?: boolean; diff?: boolean; from?: string; to?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        if (options.list) {
          printTable(
            (await listSnapshots(stores, workspaceId, key)).map((s) => ({
              snapshot: s.id,
              taken: s.takenAt.slice(0, 19).replace('T', ' '),
              for: s.evaluatedFor,
              trigger: s.trigger,
              people: s.people,
            })),
          );
        } else if (options.diff) {
          const diff = await diffSnapshots(stores, workspaceId, key, { from: options.from, to: options.to });
          console.log(`${diff.from} → ${diff.to}: ${diff.joined.people} joined, ${diff.left.people} left`);
          if (diff.joined.sample.length) console.log(`  joined, e.g.: ${diff.joined.sample.join(', ')}`);
          if (diff.left.sample.length) console.log(`  left, e.g.: ${diff.left.sample.join(', ')}`);
        } else {
          const snapshot = await takeSnapshot(stores, workspaceId, key, 'manual');
          console.log(`snapshot ${snapshot.id} of ${key}: ${snapshot.people.toLocaleString('en-US')} people`);
        }
      });
    });

  segments
    .command('import <key> <file>')
    .description('a segment from a file of identifiers (a header row, then one per row); re-importing replaces the list')
    .requiredOption('--type <identifier_type>', 'what the identifiers are: phone, email, unionid, member_no …')
    .option('--name <zh/en>', 'the names, as 中文/English')
    .option(...ws)
    .action(async (key: string, file: string, options: { type: string; name?: string; workspace?: string }) => {
      const [zh, en] = (options.name ?? `${key}/${key}`).split('/');
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const report = await importSegmentList(stores, workspaceId, { key, name: { zh, en: en ?? zh }, identifierType: options.type, file });
        console.log(
          `${file}: ${report.rowsRead} rows, ${report.accepted} accepted, ${report.rejectedCount} rejected, ${report.unmatched} match no one yet; segment ${key}: ${report.people} people`,
        );
        for (const r of report.rejected.slice(0, 20)) console.log(`  row ${r.row} "${r.value}": expected ${r.expected}`);
      });
    });

  segments
    .command('export <key>')
    .description("a segment's members as identifiers of one type (CSV: person_id, identifier)")
    .requiredOption('--type <identifier_type>', 'phone, email, unionid, openid, wecom_external_userid …')
    .option('--out <file.csv>', 'write here (default: standard output)')
    .option(...ws)
    .action(async (key: string, options: { type: string; out?: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await recordAudit(stores, workspaceId, cliActor(), 'export.segment', key, { identifierType: options.type, out: options.out ?? 'stdout' });
        if (options.out) {
          const result = await exportToFile(stores, workspaceId, key, options.type, options.out);
          console.log(`${options.out}: ${result.rows} ${options.type} of ${result.people} people`);
        } else await exportSegment(stores, workspaceId, key, options.type, process.stdout);
      });
    });

  segments
    .command('delete <key>')
    .description('delete a segment (not while another segment reads it), with its snapshots')
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await deleteSegment(stores, workspaceId, key);
        console.log(`segment ${key} deleted`);
      });
    });
}
