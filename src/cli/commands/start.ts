import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { demoDir, loadConfig, type SiyuConfig } from '../../config/config.ts';
import { generateDemoBrand } from '../../demo/demo-brand.ts';
import { loadDemoBrand } from '../../demo/load.ts';
import { resumeInterruptedUploads } from '../../ingest/http.ts';
import { tagsAfterImport } from '../../app/flows.ts';
import { buildServer } from '../../app/server.ts';
import { openStores } from '../../stores/stores.ts';
import { startScheduler, type Scheduler } from '../../tags/schedule.ts';
import { refreshBehaviourIndex, startBehaviourIndexer } from '../../segments/behaviour.ts';
import { PlanWorker } from '../../app/worker.ts';
import { ensureFirstWorkspace } from '../../app/bootstrap.ts';
import { ensureSecretKey } from '../../secrets/secrets.ts';
import { installPack } from '../../tags/packs/packs.ts';
import { runTags } from '../../tags/engine.ts';
import { parseInteger } from '../args.ts';
import { installLocalCli, localUrlOf, writeLocalCredential } from '../host.ts';

/** Yesterday in the workspace's time zone: the demo brand's history ends there. */
function yesterdayIn(timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() - 86_400_000));
}

export function registerStartCommand(program: Command, config: () => SiyuConfig): void {
  program
    .command('start')
    .description('start the server (API, console, workers) on the configured stores')
    .option('--port <port>', 'HTTP port (SIYU_PORT, default 8080)', parseInteger)
    .option('--host <host>', 'listen address (SIYU_HOST, default 127.0.0.1)')
    .action(async (options: { port?: number; host?: string }) => {
      const base = config();
      const cfg = loadConfig({ dataDir: base.dataDir, port: options.port, host: options.host });
      const started = Date.now();
      const stores = await openStores(cfg);
      let app: Awaited<ReturnType<typeof buildServer>> | undefined;
      let scheduler: Scheduler | undefined;
      let plans: PlanWorker | undefined;
      let indexer: { stop(): Promise<void> } | undefined;
      let stopping = false;
      let credential: { remove(): void } | undefined;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`\n${signal}: stopping…\n`);
        // New CLI commands run directly from now on (they wait for the lock while the stores close).
        credential?.remove();
        // A scheduled tag run in progress finishes its workspace; the stores close after both.
        await Promise.all([app?.close().catch(() => undefined), scheduler?.stop(), plans?.stop(), indexer?.stop()]);
        await stores.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      try {
        const boot = await ensureFirstWorkspace(stores);
        const secretKey = ensureSecretKey(stores);
        if (secretKey.created) console.log(`Generated the master key for channel secrets in ${secretKey.source} (mode 0600): back it up, or set SIYU_SECRET_KEY instead.`);
        if (boot.adminToken) {
          console.log(`First start: created workspace "${boot.workspace.slug}" (${boot.workspace.timeZone}).`);
          console.log(`Admin API key (shown once, store it now):\n  ${boot.adminToken}`);
          if (boot.adminLogin) {
            const { email, password, fromEnvironment } = boot.adminLogin;
            console.log(
              `Console login: ${email} / ${fromEnvironment ? '(the password in SIYU_ADMIN_PASSWORD)' : `${password}   (shown once; the console asks for a new password at the first login)`}`,
            );
          }
          if (cfg.demoPeople > 0) {
            const manifest = await generateDemoBrand({
              people: cfg.demoPeople,
              seed: 1,
              endDate: yesterdayIn(boot.workspace.timeZone),
              out: demoDir(cfg),
            });
            const rows = manifest.files.reduce((s, f) => s + f.rows, 0);
            console.log(`Demo brand 燕语: ${manifest.people.toLocaleString('en-US')} people, ${rows.toLocaleString('en-US')} rows of platform exports in ${demoDir(cfg)}`);
            const loaded = await loadDemoBrand(stores, boot.workspace, demoDir(cfg));
            const read = loaded.imports.reduce((sum, i) => sum + i.rowsRead, 0);
            const landed = loaded.imports.reduce((sum, i) => sum + i.landed, 0);
            console.log(
              `Imported ${read.toLocaleString('en-US')} rows (${landed.toLocaleString('en-US')} landed) through the importers; ` +
                `OneID resolved ${loaded.resolution.records.toLocaleString('en-US')} records into ${loaded.resolution.people.toLocaleString('en-US')} people.`,
            );
            // The ready tag pack, computed, so the console's overview and segments have something to show.
            const pack = await installPack(stores, boot.workspace.id, 'retail');
            const runs = await runTags(stores, { workspaceId: boot.workspace.id });
            await refreshBehaviourIndex(stores, boot.workspace.id);
            console.log(`Installed the retail tag pack (${pack.installed.length} tags) and computed ${runs.filter((r) => r.status === 'completed').length} of them.`);
          }
        }
        const uploadsDir = path.join(cfg.dataDir, 'uploads');
        app = await buildServer({ config: cfg, stores, uploadsDir });
        // `siyu` commands in other terminals run inside this server (client mode, src/cli/client.ts).
        const localCli = installLocalCli(app, { config: cfg, stores });
        const address = await app.listen({ port: cfg.port, host: cfg.host });
        scheduler = startScheduler(stores, { log: (message) => console.log(message) });
        indexer = startBehaviourIndexer(stores, { log: (message) => console.log(message) });
        const url = cfg.publicUrl ?? address.replace('[::1]', 'localhost');
        // Plan runs and message dispatch: links in messages point at the public URL.
        plans = new PlanWorker(stores, { publicUrl: url, log: (message) => console.log(message), dispatcher: { leaseSeconds: cfg.dispatchLeaseSeconds } });
        plans.start();
        await resumeInterruptedUploads(stores, uploadsDir, (message) => console.log(message), tagsAfterImport(stores));
        credential = writeLocalCredential(cfg.dataDir, localUrlOf(app.server.address() as AddressInfo), localCli.token);
        console.log(`Siyu is running (facts: ${stores.facts.engine}, state: ${stores.state.engine}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
        console.log(`  console  ${url}/`);
        console.log(`  API      ${url}/api/v1  (OpenAPI: ${url}/api/openapi.json)`);
        console.log(`  health   ${url}/healthz`);
        console.log('Press Ctrl+C to stop.');
      } catch (error) {
        await Promise.all([app?.close().catch(() => undefined), scheduler?.stop(), plans?.stop(), indexer?.stop()]);
        await stores.close();
        throw error;
      }
      // Keep running until a signal arrives.
      await new Promise<never>(() => undefined);
    });
}
