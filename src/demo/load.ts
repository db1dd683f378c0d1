import path from 'node:path';
import type { Stores } from '../stores/stores.ts';
import type { Workspace } from '../access/workspaces.ts';
import { runImport, type ImportSummary } from '../ingest/importer.ts';
import type { ResolveSummary } from '../identity/resolve.ts';
import { resolveSerially } from '../identity/resolve-queue.ts';
import type { ImportKind } from '../contract/imports.ts';
import { DEMO_FILES } from './formats.ts';

/** Each platform's files with the preset that reads them: how an operator would import the demo brand. */
export const DEMO_IMPORTS: Array<{ kind: ImportKind; preset?: string; files: string[] }> = [
  { kind: 'products', preset: 'pos', files: [DEMO_FILES.products.name] },
  { kind: 'members', preset: 'miniprogram', files: [DEMO_FILES.members.name] },
  { kind: 'orders', preset: 'miniprogram', files: [DEMO_FILES.miniOrders.name, DEMO_FILES.miniShipments.name] },
  { kind: 'orders', preset: 'tmall', files: [DEMO_FILES.tmallOrders.name, DEMO_FILES.tmallItems.name, DEMO_FILES.tmallShipments.name, DEMO_FILES.tmallRefunds.name] },
  { kind: 'orders', preset: 'jd', files: [DEMO_FILES.jdOrders.name] },
  { kind: 'orders', preset: 'douyin', files: [DEMO_FILES.douyinOrders.name] },
  { kind: 'orders', preset: 'pos', files: [DEMO_FILES.pos.name] },
  { kind: 'contacts', preset: 'wecom', files: [DEMO_FILES.contacts.name] },
  { kind: 'events', files: [DEMO_FILES.events.name] },
];

/** Loads a generated demo brand through the importers, then resolves everyone once. */
export async function loadDemoBrand(
  stores: Stores,
  workspace: Workspace,
  directory: string,
  onImport?: (summary: ImportSummary, files: string[]) => void,
): Promise<{ imports: ImportSummary[]; resolution: ResolveSummary }> {
  const imports: ImportSummary[] = [];
  for (const step of DEMO_IMPORTS) {
    const files = step.files.map((f) => path.join(directory, f));
    const summary = await runImport(stores, { workspace, kind: step.kind, preset: step.preset, files, resolve: false });
    imports.push(summary);
    onImport?.(summary, step.files);
  }
  const resolution = await resolveSerially(stores, { workspaceId: workspace.id });
  return { imports, resolution };
}
