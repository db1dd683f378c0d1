import fs from 'node:fs';
import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { openCliStores } from '../workspace.ts';
import { WorkspaceService } from '../../access/workspaces.ts';
import { runImport } from '../../ingest/importer.ts';
import { type MappingFile, mappingFileSchema } from '../../ingest/layouts.ts';
import { IMPORT_KINDS, type ImportKind } from '../../contract/imports.ts';
import { listImportRuns, listQuarantine } from '../../ingest/runs.ts';
import { printTable, Progress } from '../output.ts';
import { importRunRow, importSummaryText } from '../formats.ts';
import { runTagsAfterImport } from '../../tags/engine.ts';
import { parseInteger } from '../args.ts';

export function registerImportCommands(program: Command, config: () => SiyuConfig): void {
  program
    .command('import')
    .description(`import files: kinds ${IMPORT_KINDS.join(', ')}; also "import runs" and "import quarantine [--run ID]"`)
    .argument('<kind>', `${IMPORT_KINDS.join(' | ')} | runs | quarantine`)
    .argument('[files...]', 'CSV, TSV, XLSX or JSON-lines files, optionally .gz')
    .option('--source <name>', 'where the records come from (tmall, jd, erp…); presets set it')
    .option('--preset <name>', 'a platform export: tmall, jd, douyin, miniprogram, pos, wecom')
    .option('--mapping <file.json>', 'a mapping file for any other layout')
    .option('--run <id>', 'with quarantine: one run only')
    .option('--limit <n>', 'with quarantine: rows to show', parseInteger, 50)
    .option('-w, --workspace <slug>', 'workspace slug or id (default: the only one)')
    .action(async (kind: string, files: string[], options: { source?: string; preset?: string; mapping?: string; run?: string; limit: number; workspace?: string }) => {
      const stores = await openCliStores(config);
      try {
        const workspace = await new WorkspaceService(stores.state).resolve(options.workspace);
        if (kind === 'runs') {
          const runs = await listImportRuns(stores, workspace.id, options.limit);
          // The same row as remote mode's (UTC ISO time, as the API answers it).
          printTable(runs.map((r) => importRunRow({ ...r, rowsRead: r.rows_read, startedAt: new Date(r.started_at).toISOString() })));
          return;
        }
        if (kind === 'quarantine') {
          const rows = await listQuarantine(stores, workspace.id, { runId: options.run, limit: options.limit });
          printTable(rows.map((q) => ({ run: q.run_id, file: q.file, row: Number(q.row_number), field: q.field, value: q.value, reason: q.reason, action: q.action })));
          return;
        }
        if (!(IMPORT_KINDS as readonly string[]).includes(kind)) {
          throw new Error(`unknown import kind "${kind}"; expected one of ${IMPORT_KINDS.join(', ')}, runs, quarantine`);
        }
        if (files.length === 0) throw new Error(`give the file(s) to import: siyu import ${kind} FILE...`);
        let mapping: MappingFile | undefined;
        if (options.mapping) {
          let raw: unknown;
          try {
            raw = JSON.parse(fs.readFileSync(options.mapping, 'utf8'));
          } catch (error) {
            throw new Error(`${options.mapping}: not a readable JSON mapping file (${(error as Error).message})`);
          }
          const parsed = mappingFileSchema.safeParse(raw);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new Error(`${options.mapping}: ${issue.path.join('.') || 'mapping'}: ${issue.message}`);
          }
          mapping = parsed.data;
        }
        const progress = new Progress('importing');
        const summary = await runImport(stores, {
          workspace,
          kind: kind as ImportKind,
          files,
          source: options.source,
          preset: options.preset,
          mapping,
          onProgress: ({ rows }) => progress.update(rows, 'rows'),
        });
        progress.done();
        printTable(
          summary.files.map((f) => ({
            file: f.file,
            detected: f.detected,
            layout: f.layout,
            read: f.rowsRead,
            landed: f.landed,
            updated: f.updated,
            unchanged: f.unchanged,
            quarantined: f.quarantined,
            'values dropped': f.valuesDropped,
          })),
        );
        console.log(importSummaryText(summary.runId, summary.resumed, summary, summary.seconds));
        if (summary.resolution) {
          const r = summary.resolution;
          console.log(`OneID: ${r.people.toLocaleString('en-US')} people (${r.newPeople} new, ${r.merges} merges, ${r.hubs} hub values, ${r.conflicts} conflicts)`);
        }
        const tags = await runTagsAfterImport(stores, workspace.id);
        if (tags.length > 0) {
          const failed = tags.filter((t) => t.status === 'failed');
          console.log(`tags: ${tags.length} computed for today${failed.length ? `; failed: ${failed.map((f) => `${f.key} (${f.error})`).join(', ')}` : ''}`);
        }
      } finally {
        await stores.close();
      }
    });
}
