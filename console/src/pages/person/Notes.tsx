/**
 * Notes on a person (备注): the list, newest first, and a text area to add one
 * (POST /api/v1/people/:id/notes, 1–2000 characters; admins, operators and staff).
 */
import { useState } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { Note } from '../../../../src/contract/people.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const MAX = 2000;

/** `notes`: from the person view; a server that does not send them there is asked on its own. */
export function NotesCard({ personId, notes, canWrite, onAdded }: { personId: number; notes: Note[] | undefined; canWrite: boolean; onAdded: () => void }) {
  const i18n = useT();
  const { t } = i18n;
  const fetched = useApi<{ notes: Note[] }>(notes === undefined ? `/api/v1/people/${personId}/notes` : null);
  // Shown at once, until the reloaded list has them.
  const [added, setAdded] = useState<Note[]>([]);
  const [text, setText] = useState('');
  const [saved, setSaved] = useState(false);
  const add = useAction(async () => {
    setSaved(false);
    const { note } = await api<{ note: Note }>(`/api/v1/people/${personId}/notes`, { json: { text: text.trim() } });
    setAdded((list) => [note, ...list]);
    setText('');
    setSaved(true);
    if (notes === undefined) fetched.reload();
    else onAdded();
  });
  const submit = (e: { preventDefault: () => void }) => {
    e.preventDefault();
    if (text.trim()) void add.run();
  };
  const base = notes ?? fetched.data?.notes;
  const list = base ? [...added.filter((n) => !base.some((b) => b.id === n.id)), ...base] : undefined;

  return (
    <Card title={t('person.notes')} id="person-notes">
      {canWrite ? (
        <form className="note-form" onSubmit={submit}>
          <Field label={t('person.noteNew')} hint={t('person.noteCount', { n: text.trim().length })}>
            <textarea
              rows={3}
              maxLength={MAX}
              value={text}
              onChange={(e) => {
                setText(e.target.value);
                setSaved(false);
              }}
              onKeyDown={(e) => {
                // Ctrl/⌘ + Enter adds the note.
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e);
              }}
            />
          </Field>
          <div className="form-actions">
            <SubmitButton busy={add.busy} disabled={!text.trim()}>
              {t('person.noteAdd')}
            </SubmitButton>
            {saved && (
              <span className="success-text small" role="status">
                {t('person.noteAdded')}
              </span>
            )}
          </div>
          <ErrorBox error={add.error} />
        </form>
      ) : (
        <p className="muted small">{t('person.notesReadOnly')}</p>
      )}
      {fetched.error ? (
        <ErrorBox error={fetched.error} onRetry={fetched.reload} />
      ) : !list ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty title={t('person.noNotes')} hint={t('person.noNotesHint')} />
      ) : (
        <ol className="notes" aria-label={t('person.notes')}>
          {list.map((note) => (
            <li key={note.id} className="note">
              <p className="note-text">{note.text}</p>
              <small className="muted">{t('person.noteBy', { who: note.authorName || note.author, at: i18n.dateTime(note.createdAt) })}</small>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
