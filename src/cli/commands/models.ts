import { Argument, type Command, Option } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { fitModel, type ModelName, type Summary } from '../../models/clv.ts';
import { parseColumns, readSummary, summariseTransactions, SummaryError } from '../../models/summary.ts';

export function registerModelCommands(program: Command, _config: () => SiyuConfig): void {
  const models = program.command('models').description('repeat-purchase and spend models (BG/NBD, Pareto/NBD, Gamma-Gamma)');
  models
    .command('fit')
    .description('fit a model by maximum likelihood and print one JSON object {model, params, logLikelihood, n}')
    .addArgument(new Argument('<model>', 'bgnbd, paretonbd or gammagamma').choices(['bgnbd', 'paretonbd', 'gammagamma']))
    .option('--summary <file>', 'one row per customer (CSV/TSV/XLSX)')
    .option('--columns <spec>', 'with --summary: x=COL,t_x=COL,T=COL[,m=COL]')
    .option('--transactions <file>', 'one row per purchase (CSV/TSV/XLSX, or columns separated by spaces)')
    .option('--customer <column>', 'with --transactions: the customer column')
    .option('--date <column>', 'with --transactions: the purchase date column')
    .option('--amount <column>', 'with --transactions: the amount column (needed for gammagamma)')
    .addOption(new Option('--unit <unit>', 'with --transactions: time unit of t_x and T').choices(['day', 'week']).default('week'))
    .option('--calibration-end <date>', 'with --transactions: the last day of the calibration period')
    .action(
      async (
        model: ModelName,
        options: { summary?: string; columns?: string; transactions?: string; customer?: string; date?: string; amount?: string; unit: 'day' | 'week'; calibrationEnd?: string },
      ) => {
        let data: Summary;
        if (options.summary && options.transactions) throw new SummaryError('give either --summary or --transactions, not both');
        if (options.summary) {
          if (!options.columns) throw new SummaryError('--summary needs --columns x=COL,t_x=COL,T=COL[,m=COL]');
          const columns = parseColumns(options.columns);
          if (model === 'gammagamma' && !columns.m) throw new SummaryError('gammagamma needs m=COL in --columns (average value of repeat purchases)');
          data = await readSummary(options.summary, columns);
        } else if (options.transactions) {
          const missing = (['customer', 'date', 'calibrationEnd'] as const).filter((o) => !options[o]).map((o) => (o === 'calibrationEnd' ? '--calibration-end' : `--${o}`));
          if (missing.length > 0) throw new SummaryError(`--transactions needs ${missing.join(', ')}`);
          if (model === 'gammagamma' && !options.amount) throw new SummaryError('gammagamma needs --amount');
          data = await summariseTransactions(options.transactions, {
            customer: options.customer!,
            date: options.date!,
            amount: options.amount,
            unit: options.unit,
            calibrationEnd: options.calibrationEnd!,
          });
        } else throw new SummaryError('give --summary FILE --columns … or --transactions FILE --customer … --date … --calibration-end …');
        const fitted = fitModel(model, data);
        console.log(JSON.stringify({ model: fitted.model, params: fitted.params, logLikelihood: fitted.logLikelihood, n: fitted.n }));
      },
    );
}
