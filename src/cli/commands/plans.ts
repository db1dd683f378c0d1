import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { deleteChannel, saveChannel, listChannels } from '../../channels/store.ts';
import { sendTestMessage } from '../../channels/test-send.ts';
import { testSendSchema } from '../../contract/channels.ts';
import { recordAudit } from '../../access/audit.ts';
import { addressTypeOf } from '../../channels/definition.ts';
import { getPolicy, savePolicy, setConsent } from '../../policy/policy.ts';
import { deletePlan, getPlan, listPlans, pausePlan, savePlan, startPlan } from '../../plans/plans.ts';
import { runDuePlans, testPlan } from '../../plans/run.ts';
import { planReport, reportOf } from '../../plans/report.ts';
import { previewPlan } from '../../plans/preview.ts';
import { planDispatcher } from '../../app/worker.ts';
import { getJourney, journeyPositions, listJourneys, pauseJourney, saveJourney, startJourney } from '../../journeys/journeys.ts';
import type { Stores } from '../../stores/stores.ts';
import { printTable } from '../output.ts';
import { printPlanList, printPlanReport } from '../formats.ts';
import { cliActor, withWorkspace } from '../workspace.ts';
import { eachDefinition, parseInteger, readJson } from '../args.ts';
import { setExitCode } from '../hosted.ts';

const ws = ['-w, --workspace <slug>', 'workspace slug or id'] as const;

/**
 * Runs the workspace's due plan runs and sends until none of its messages is due (or the time is
 * up), printing progress. Another workspace's waiting messages (on a shared state store) do not hold it.
 */
async function runAndDispatch(stores: Stores, config: SiyuConfig, workspaceId: string, timeoutSeconds: number): Promise<void> {
  const publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  await runDuePlans(stores, { publicUrl, log: (m) => console.log(m), workspaceId });
  const dispatcher = planDispatcher(stores, { log: (m) => process.stderr.write(`${m}\n`) });
  const until = Date.now() + timeoutSeconds * 1000;
  let total = 0;
  const started = performance.now();
  for (;;) {
    const sent = await dispatcher.drain();
    total += sent;
    if (sent > 0) process.stderr.write(`\rsent ${total.toLocaleString('en-US')} messages`);
    const waiting = await stores.state.db
      .selectFrom('deliveries')
      .select(({ fn }) => fn.min('next_attempt_at').as('next'))
      .where('status', '=', 'queued')
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    if (!waiting?.next) break;
    if (Date.now() > until || new Date(waiting.next).getTime() > until) {
      console.log(`messages still waiting (next try ${new Date(waiting.next).toISOString()}): \`siyu start\` sends them`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await dispatcher.stop();
  if (total > 0) process.stderr.write(`\rsent ${total.toLocaleString('en-US')} messages in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

export function registerPlanCommands(program: Command, config: () => SiyuConfig): void {
  const channels = program.command('channels').description('channels: the ways plans reach people (webhook, email, sms, wecom, miniprogram, official_account)');
  channels
    .command('add <file.json>')
    .description('add channels from a JSON file (one or a list); credentials name secrets set with "siyu secrets set"; --replace changes existing ones')
    .option('--replace', 'replace channels that exist')
    .option(...ws)
    .action(async (file: string, options: { replace?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, (stores, workspaceId) =>
        eachDefinition(file, async (definition) => {
          const channel = await saveChannel(stores, workspaceId, definition, { replace: options.replace });
          console.log(
            `channel ${channel.key}: ${channel.kind}, addressed by ${addressTypeOf(channel) ?? '(nothing)'}, ${channel.ratePerMinute}/min, ${channel.costPerMessage} per message`,
          );
        }),
      );
    });
  channels
    .command('list')
    .description('the workspace channels')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable(
          (await listChannels(stores, workspaceId)).map((c) => ({
            key: c.key,
            kind: c.kind,
            address: addressTypeOf(c) ?? '',
            consent: c.consent,
            per_min: c.ratePerMinute,
            cost: c.costPerMessage,
          })),
        ),
      );
    });

  channels
    .command('delete <key>')
    .description('delete a channel no plan uses')
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await deleteChannel(stores, workspaceId, key);
        await recordAudit(stores, workspaceId, cliActor(), 'channel.delete', key);
        console.log(`channel ${key} deleted`);
      });
    });
  channels
    .command('test <key>')
    .description('send one test message through a channel to an address or a person, and say what happened')
    .option('--to <address>', 'the address (email, phone, openid, external_userid …)')
    .option('--person <id>', "a person id: the channel's address type is looked up")
    .option('--text <text>', 'the message text', '这是一条来自 Siyu 的测试消息。This is a test message from Siyu.')
    .option(...ws)
    .action(async (key: string, options: { to?: string; person?: string; text: string; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const request = testSendSchema.parse({ address: options.to, personId: options.person === undefined ? undefined : Number(options.person), content: { text: options.text } });
        const result = await sendTestMessage(stores, workspaceId, key, request);
        await recordAudit(stores, workspaceId, cliActor(), 'channel.test', key, { outcome: result.outcome, personId: request.personId ?? null });
        console.log(`channel ${key} → ${result.address ?? '(no address)'}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`);
        if (result.outcome !== 'sent') setExitCode(1);
      });
    });

  const policy = program.command('policy').description('policy over every plan: frequency caps, quiet hours (勿扰), consent, test whitelist');
  policy
    .command('show')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => console.log(JSON.stringify(await getPolicy(stores, workspaceId), null, 2)));
    });
  policy
    .command('set <file.json>')
    .description('replace the policy with a JSON file ({caps, quietHours, testWhitelist})')
    .option(...ws)
    .action(async (file: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => console.log(JSON.stringify(await savePolicy(stores, workspaceId, readJson(file)), null, 2)));
    });
  policy
    .command('consent <personId> <channel> <status>')
    .description("set a person's consent for a channel ('*' for all): granted or revoked")
    .option(...ws)
    .action(async (personId: string, channel: string, status: string, options: { workspace?: string }) => {
      if (status !== 'granted' && status !== 'revoked') throw new Error(`status: expected granted or revoked, got "${status}"`);
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await setConsent(stores, workspaceId, parseInteger(personId), channel, status, 'cli');
        console.log(`person ${personId}: ${channel} ${status}`);
      });
    });

  const plans = program.command('plans').description('plans (运营计划): reach a segment through a channel, with variants, a control group and a goal');
  plans
    .command('create <file.json>')
    .description('create plans from a JSON file (one or a list); templates are checked now; --replace changes a plan that is not running')
    .option('--replace', 'replace plans that exist')
    .option(...ws)
    .action(async (file: string, options: { replace?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, (stores, workspaceId) =>
        eachDefinition(file, async (definition) => {
          const { plan, status } = await savePlan(stores, workspaceId, definition, { replace: options.replace });
          console.log(
            `plan ${plan.key} (${plan.name}): ${status}; segment ${plan.audience.segment} via ${plan.channel}, variants ${plan.variants.map((v) => v.key).join('/')}, control ${plan.controlPercent}%`,
          );
        }),
      );
    });
  plans
    .command('list')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => printPlanList(await listPlans(stores, workspaceId)));
    });
  plans
    .command('start <key>')
    .description('start (or resume) a plan; a plan due now runs here and sends until done, unless --no-wait leaves it to `siyu start`')
    .option('--no-wait', 'only schedule it')
    .option('--timeout <seconds>', 'stop waiting after this long (messages left are sent by `siyu start`)', parseInteger, 600)
    .option(...ws)
    .action(async (key: string, options: { wait: boolean; timeout: number; workspace?: string }) => {
      const cfg = config();
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const started = await startPlan(stores, workspaceId, key);
        console.log(`plan ${key}: ${started.status}${started.nextRunAt ? `, next run ${started.nextRunAt}` : ''}`);
        if (started.plan.schedule.kind === 'triggered') {
          console.log(`plan ${key}: triggered by ${started.plan.schedule.event} from now on; \`siyu start\` watches for it and sends`);
          return;
        }
        if (options.wait && started.nextRunAt && new Date(started.nextRunAt).getTime() <= Date.now()) await runAndDispatch(stores, cfg, workspaceId, options.timeout);
        else if (options.wait && started.status === 'running') await runAndDispatch(stores, cfg, workspaceId, options.timeout);
        const report = await planReport(stores, workspaceId, key);
        console.log(`plan ${key}: ${(await getPlan(stores, workspaceId, key)).status}; ledger ${JSON.stringify(report.ledger)}`);
      });
    });
  plans
    .command('test <key>')
    .description("send every variant now to the policy's test whitelist (no caps or quiet hours; reports leave it out)")
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      const cfg = config();
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const sent = await testPlan(stores, workspaceId, key, { publicUrl: cfg.publicUrl ?? `http://${cfg.host}:${cfg.port}`, log: (m) => console.log(m) });
        await runAndDispatch(stores, cfg, workspaceId, 60);
        const rows = await stores.state.db
          .selectFrom('deliveries')
          .select(['person_id', 'step', 'status', 'reason'])
          .where('run_id', '=', sent.runId)
          .orderBy('person_id')
          .execute();
        printTable(rows.map((r) => ({ person: Number(r.person_id), variant: r.step.replace(/^test:/, ''), status: r.status, reason: r.reason ?? '' })));
      });
    });
  plans
    .command('pause <key>')
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => console.log(`plan ${key}: ${(await pausePlan(stores, workspaceId, key)).status}`));
    });
  plans
    .command('delete <key>')
    .description('delete a plan that never sent anything')
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        await deletePlan(stores, workspaceId, key);
        console.log(`plan ${key} deleted`);
      });
    });
  plans
    .command('preview <key> <personId>')
    .description("each variant's message as this person would get it")
    .option(...ws)
    .action(async (key: string, personId: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        console.log(JSON.stringify(await previewPlan(stores, workspaceId, key, parseInteger(personId)), null, 2)),
      );
    });
  plans
    .command('report <key>')
    .description('per variant and control: audience, sent, delivered, failed, clicked, converted, revenue, lift (95% CI), cost per conversion')
    .option('--run <id>', 'one run only')
    .option('--json', 'print the report as JSON')
    .option(...ws)
    .action(async (key: string, options: { run?: string; json?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        printPlanReport(await planReport(stores, workspaceId, key, { runId: options.run }), options.json);
      });
    });

  const journeys = program.command('journeys').description('journeys (流程画布): people move through steps — send, wait, branch, split, tag, task, exit');
  journeys
    .command('create <file.json>')
    .description('create journeys from a JSON file (one or a list); --replace changes one that is not running')
    .option('--replace', 'replace journeys that exist')
    .option(...ws)
    .action(async (file: string, options: { replace?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, (stores, workspaceId) =>
        eachDefinition(file, async (definition) => {
          const { journey, status } = await saveJourney(stores, workspaceId, definition, { replace: options.replace });
          console.log(`journey ${journey.key} (${journey.name}): ${status}; ${Object.keys(journey.steps).length} steps from ${journey.first}`);
        }),
      );
    });
  journeys
    .command('list')
    .option(...ws)
    .action(async (options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) =>
        printTable(
          (await listJourneys(stores, workspaceId)).map((j) => ({
            key: j.journey.key,
            name: j.journey.name,
            status: j.status,
            entry: 'segment' in j.journey.entry ? `segment ${j.journey.entry.segment}` : `event ${j.journey.entry.event}`,
          })),
        ),
      );
    });
  journeys
    .command('start <key>')
    .description('start or resume a journey (`siyu start` moves people through it)')
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => console.log(`journey ${key}: ${(await startJourney(stores, workspaceId, key)).status}`));
    });
  journeys
    .command('pause <key>')
    .option(...ws)
    .action(async (key: string, options: { workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => console.log(`journey ${key}: ${(await pauseJourney(stores, workspaceId, key)).status}`));
    });
  journeys
    .command('report <key>')
    .description('where people are, and per step: reached, sent, delivered, clicked, converted, lift over control')
    .option('--json', 'print the report as JSON')
    .option(...ws)
    .action(async (key: string, options: { json?: boolean; workspace?: string }) => {
      await withWorkspace(config, options.workspace, async (stores, workspaceId) => {
        const { journey, status } = await getJourney(stores, workspaceId, key);
        if (!options.json) printTable(await journeyPositions(stores, workspaceId, key));
        printPlanReport(await reportOf(stores, workspaceId, key, status, journey.goal), options.json);
      });
    });
}
