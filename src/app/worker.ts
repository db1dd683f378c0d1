/**
 * What the server runs in the background for plans: a tick that starts due runs (and resumes runs an
 * earlier process left half-written), looks for triggers and moves people through journeys, and the
 * dispatcher that drains the delivery ledger.
 */
import type { Stores } from '../stores/stores.ts';
import { Dispatcher, type DispatcherOptions } from '../delivery/dispatcher.ts';
import { runDuePlans, settleRuns, type RunOptions } from '../plans/run.ts';
import { runTriggeredPlans } from '../plans/triggers.ts';
import { advanceJourneys } from '../journeys/journeys.ts';
import { pollWeComConfirmations } from '../delivery/wecom-confirmations.ts';

/**
 * The dispatcher as the app runs it: once nothing is due it settles the runs whose messages are all
 * settled (and completes one-off plans with them).
 */
export function planDispatcher(stores: Stores, options: DispatcherOptions = {}): Dispatcher {
  return new Dispatcher(stores, { onQueueEmpty: () => settleRuns(stores), ...options });
}

export interface PlanWorkerOptions extends RunOptions {
  tickMs?: number;
  dispatcher?: DispatcherOptions;
}

export class PlanWorker {
  readonly dispatcher: Dispatcher;
  private readonly stores: Stores;
  private readonly options: PlanWorkerOptions;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastConfirmationPoll = 0;

  constructor(stores: Stores, options: PlanWorkerOptions = {}) {
    this.stores = stores;
    this.options = options;
    this.dispatcher = planDispatcher(stores, { log: options.log, ...options.dispatcher });
  }

  start(): void {
    this.dispatcher.start();
    // On the embedded store this is the only process: a run another process was writing when it
    // died is taken up at once rather than after its lease.
    if (this.stores.state.engine === 'pglite')
      this.ticking = this.stores.state.db
        .updateTable('plan_runs')
        .set({ enqueue_lease_until: null })
        .where('status', '=', 'enqueuing')
        .execute()
        .then(() => undefined);
    const tick = () => {
      this.ticking = this.ticking
        .catch(() => undefined)
        .then(() => runDuePlans(this.stores, this.options))
        .then(() => runTriggeredPlans(this.stores, this.options))
        .then(() => advanceJourneys(this.stores, this.options))
        .then(async () => {
          // Staff confirm WeCom mass sends in WeCom: ask for the results once a minute.
          if (Date.now() - this.lastConfirmationPoll < 60_000) return;
          this.lastConfirmationPoll = Date.now();
          await pollWeComConfirmations(this.stores, { env: this.options.dispatcher?.env, log: this.options.log });
        })
        .then(() => undefined)
        .catch((error: Error) => this.options.log?.(`plans: ${error.message}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.tickMs ?? 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.dispatcher.stop();
  }
}
