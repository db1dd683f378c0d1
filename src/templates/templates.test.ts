import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate, renderTemplate, TemplateError, type RenderScope } from './templates.ts';

const scope = (person: Record<string, unknown>): RenderScope => ({
  person,
  tags: {},
  plan: { key: 'spring', name: 'Spring <sale>', variant: 'a', run: 'r1' },
  unsubscribe_url: 'https://brand.example/u/t?a=1&b=2',
});

test("an email's HTML body escapes what customers wrote; text fields (SMS, WeCom, subject) are sent as written", () => {
  const hostile = { id: 'p1', name: '<script>alert(1)</script>&"' };
  const out = renderTemplate(
    { subject: 'Hi {{ person.name }}', text: 'Hi {{ person.name }}', html: '<p>Hi {{ person.name }}</p><a href="{{ unsubscribe_url }}">x</a>' },
    scope(hostile),
  );
  assert.equal(out.html, '<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;&amp;&#34;</p><a href="https://brand.example/u/t?a=1&amp;b=2">x</a>');
  assert.equal(out.text, 'Hi <script>alert(1)</script>&"');
  assert.equal(out.subject, 'Hi <script>alert(1)</script>&"');
  // The same text renders escaped in one field and not in the other (each is parsed for its field).
  const again = renderTemplate({ text: '{{ person.name }}', html: '{{ person.name }}' }, scope(hostile));
  assert.notEqual(again.text, again.html);
});

test('the template author may still write markup into HTML on purpose with | raw', () => {
  const out = renderTemplate({ html: '{{ "<b>bold</b>" | raw }} {{ person.name }}' }, scope({ name: '<i>' }));
  assert.equal(out.html, '<b>bold</b> &lt;i&gt;');
});

test('a template whose loop cannot finish is refused when saved, in bounded time, naming the field', () => {
  for (const text of [
    '{% for i in (1..100000000) %}x{% endfor %}',
    '{% for i in (1..3000) %}{% for j in (1..3000) %}{% for k in (1..3000) %}x{% endfor %}{% endfor %}{% endfor %}',
    '{% assign s = "x" %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s }}',
  ]) {
    const started = Date.now();
    assert.throws(
      () => checkTemplate({ text }, new Set()),
      (error: Error) => error instanceof TemplateError && /^template\.text: the template (takes longer than 200 ms|allocates more than)/.test(error.message),
      text,
    );
    assert.ok(Date.now() - started < 3000, `refused in ${Date.now() - started} ms: ${text}`);
  }
  assert.throws(() => checkTemplate({ text: 'x'.repeat(1_000_001) }, new Set()), /template\.text: the template is longer than 1,000,000 characters/);
});

test('a loop driven by data is stopped at render time with a clear error, and the event loop keeps turning', async () => {
  const fields = { text: '{% for i in (1..person.city) %}{% for j in (1..person.city) %}{% for k in (1..person.city) %}.{% endfor %}{% endfor %}{% endfor %}' };
  checkTemplate({ text: '{{ person.city }}' }, new Set()); // the fields it reads are known
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 30));
  const before = ticks;
  assert.throws(
    () => renderTemplate(fields, scope({ city: 2000 })),
    (error: Error) => error instanceof TemplateError && /template\.text: the template takes longer than 200 ms/.test(error.message),
  );
  const took = Date.now() - started;
  await new Promise((r) => setTimeout(r, 30));
  clearInterval(timer);
  assert.ok(took < 2000, `stopped after ${took} ms`);
  assert.ok(ticks > before, 'timers ran again after the refused render');
  // An honest template renders as before.
  assert.deepEqual(renderTemplate({ text: '{% for i in (1..3) %}{{ i }}{% endfor %} {{ person.name | default: "friend" }}' }, scope({})), { text: '123 friend' });
});
