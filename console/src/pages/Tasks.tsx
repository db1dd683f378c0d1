/** Staff tasks (made by journeys) for the people the caller sees: open ones first; mark them done. */
import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { Task } from '../../../src/contract/tasks.ts';
import { Badge, Card, PageHeader, Tabs } from '../components/Page.tsx';
import { Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';

export function Tasks() {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const [status, setStatus] = useState<'open' | 'done'>('open');
  const tasks = useApi<{ tasks: Task[] }>(`/api/v1/tasks?status=${status}&limit=200`);
  return (
    <>
      <PageHeader title={t('nav.tasks')} subtitle={t('tasks.subtitle')} />
      <Tabs
        label={t('nav.tasks')}
        active={status}
        onChange={setStatus}
        tabs={[
          { key: 'open', label: t('tasks.open') },
          { key: 'done', label: t('tasks.done') },
        ]}
      />
      <Card>
        {tasks.error ? (
          <ErrorBox error={tasks.error} onRetry={tasks.reload} />
        ) : !tasks.data ? (
          <Loading />
        ) : (
          <TaskTable
            tasks={tasks.data.tasks}
            canClose={can('tasks.close')}
            onChanged={tasks.reload}
            showPerson
            empty={<Empty title={status === 'open' ? t('tasks.noneOpen') : t('tasks.noneDone')} hint={status === 'open' ? t('tasks.noneOpenHint') : undefined} />}
          />
        )}
      </Card>
    </>
  );
}

/** Tasks with a done / open again button (for the roles that close tasks). */
/** A task as a table shows it: the person view's tasks are that person's, so they carry no personId. */
type TaskRow = Omit<Task, 'personId'> & { personId?: number };

export function TaskTable({
  tasks,
  canClose,
  onChanged,
  showPerson,
  empty,
}: {
  tasks: TaskRow[];
  canClose: boolean;
  onChanged: () => void;
  showPerson?: boolean;
  empty: ReactNode;
}) {
  const i18n = useT();
  const { t } = i18n;
  const [busy, setBusy] = useState<number | null>(null);
  const change = useAction(async (task: TaskRow) => {
    setBusy(task.id);
    try {
      await api(`/api/v1/tasks/${task.id}`, { json: { status: task.status === 'open' ? 'done' : 'open' } });
      onChanged();
    } finally {
      setBusy(null);
    }
  });
  return (
    <>
      <ErrorBox error={change.error} />
      <Table
        rows={tasks}
        rowKey={(task) => task.id}
        empty={empty}
        columns={[
          { key: 'title', header: t('person.taskTitle'), render: (task) => task.title },
          ...(showPerson
            ? [{ key: 'person', header: t('people.id'), render: (task: TaskRow) => (task.personId ? <Link to={`/people/${task.personId}`}>#{task.personId}</Link> : '—') }]
            : []),
          { key: 'source', header: t('tasks.source'), render: (task) => <code>{task.source}</code> },
          { key: 'status', header: t('common.status'), render: (task) => <Badge>{task.status}</Badge> },
          { key: 'created', header: t('tasks.created'), render: (task) => i18n.dateTime(task.createdAt) },
          { key: 'closed', header: t('tasks.closed'), render: (task) => i18n.dateTime(task.closedAt) },
          {
            key: 'action',
            header: '',
            align: 'right',
            render: (task) =>
              canClose && (
                <button
                  type="button"
                  className={task.status === 'open' ? 'btn btn-small btn-primary' : 'btn btn-small'}
                  disabled={busy !== null}
                  onClick={() => void change.run(task)}
                >
                  {task.status === 'open' ? t('tasks.markDone') : t('tasks.reopen')}
                </button>
              ),
          },
        ]}
      />
    </>
  );
}
