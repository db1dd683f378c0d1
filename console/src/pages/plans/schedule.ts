import type { I18n } from '../../i18n.ts';
import type { Plan } from '../../../../src/contract/plans.ts';

/** A plan's schedule in words: once (now or at a time), a cron, or the event that triggers it. */
export function scheduleText(schedule: Plan['schedule'], { t, dateTime }: I18n): string {
  switch (schedule.kind) {
    case 'once':
      return schedule.at ? t('schedule.onceAt', { at: dateTime(schedule.at) }) : t('schedule.onceNow');
    case 'recurring':
      return t('schedule.recurring', { cron: schedule.cron });
    case 'triggered':
      return t('schedule.triggered', { event: schedule.event });
  }
}
