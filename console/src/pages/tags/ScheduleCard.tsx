/**
 * The workspace's tag schedule (GET/PUT/DELETE /api/v1/tags/schedule): all tags on a 5-field cron in
 * the workspace zone (or daily, 03:00), each run for the day before. Operators and admins change it.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import { useSession } from '../../session.tsx';
import type { TagSchedule } from '../../../../src/contract/tags.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { Pairs } from '../../components/Table.tsx';
import { ErrorBox, Loading } from '../../components/States.tsx';

const PRESETS = ['daily', '0 3 * * *', '30 1 * * *', '0 */6 * * *', '0 4 * * 1'];

export function ScheduleCard({ canEdit }: { canEdit: boolean }) {
  const { t } = useT();
  const { me } = useSession();
  const schedule = useApi<{ schedule: TagSchedule | null }>('/api/v1/tags/schedule');
  const [cron, setCron] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const current = schedule.data?.schedule;
  // The input starts from the schedule as it is.
  useEffect(() => {
    if (schedule.data) setCron(schedule.data.schedule?.cron ?? 'daily');
  }, [schedule.data]);

  const save = useAction(async () => {
    setNotice(null);
    const answer = await api<{ schedule: TagSchedule }>('/api/v1/tags/schedule', { method: 'PUT', json: { cron: cron.trim() } });
    schedule.setData(answer);
    setNotice(t('schedule.saved', { next: t('schedule.zone', { at: answer.schedule.nextAtLocal, tz: answer.schedule.timeZone }) }));
  });
  const remove = useAction(async () => {
    if (!window.confirm(t('schedule.removeConfirm'))) return;
    setNotice(null);
    await api('/api/v1/tags/schedule', { method: 'DELETE' });
    schedule.setData({ schedule: null });
    setNotice(t('schedule.removed'));
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  const zone = current?.timeZone ?? me?.workspace.timeZone ?? 'Asia/Shanghai';

  return (
    <Card title={t('schedule.title')} id="tag-schedule">
      {schedule.error ? (
        <ErrorBox error={schedule.error} onRetry={schedule.reload} />
      ) : !schedule.data ? (
        <Loading />
      ) : (
        <>
          {current ? (
            <Pairs
              items={[
                [
                  t('schedule.current'),
                  <code key="cron" data-testid="tag-schedule-cron">
                    {current.cron}
                  </code>,
                ],
                [
                  t('schedule.next'),
                  <span key="next" data-testid="tag-schedule-next">
                    {t('schedule.zone', { at: current.nextAtLocal, tz: current.timeZone })}
                  </span>,
                ],
                [t('schedule.last'), current.lastStartedAtLocal ? t('schedule.zone', { at: current.lastStartedAtLocal, tz: current.timeZone }) : t('schedule.never')],
                [t('schedule.lastBaseDate'), current.lastBaseDate ?? '—'],
              ]}
            />
          ) : (
            <p className="muted">{t('schedule.none')}</p>
          )}
          {notice && (
            <div className="notice success" role="status">
              {notice}
            </div>
          )}
          {canEdit ? (
            <form className="inline-form schedule-form" onSubmit={submit}>
              <Field label={t('schedule.cron')} hint={t('schedule.cronHint', { tz: zone })}>
                <input className="code" required list="tag-schedule-presets" value={cron} placeholder="0 3 * * *" spellCheck={false} onChange={(e) => setCron(e.target.value)} />
              </Field>
              <datalist id="tag-schedule-presets">
                {PRESETS.map((p) => (
                  <option key={p} value={p} />
                ))}
              </datalist>
              <SubmitButton busy={save.busy} disabled={remove.busy || !cron.trim()}>
                {t('schedule.save')}
              </SubmitButton>
              {current && (
                <button type="button" className="btn btn-danger" disabled={save.busy || remove.busy} onClick={() => void remove.run()}>
                  {remove.busy ? t('common.working') : t('schedule.remove')}
                </button>
              )}
            </form>
          ) : (
            <p className="muted small">{t('schedule.readOnly')}</p>
          )}
          <ErrorBox error={save.error ?? remove.error} />
        </>
      )}
    </Card>
  );
}
