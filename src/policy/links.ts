/**
 * Signed links in messages, short enough for an SMS: unsubscribe (a person from a channel) and
 * tracked redirects (a link of a run, for a person). A token carries its facts and an HMAC with the
 * workspace's link key, so nobody can forge one for another person; a tracked link's URL is kept
 * once per run and variant, not per person.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';

export async function linkKey(stores: Stores, workspaceId: string): Promise<Buffer> {
  const fresh = crypto.randomBytes(32).toString('base64url');
  await stores.state.db
    .insertInto('link_keys')
    .values({ workspace_id: workspaceId, secret: fresh })
    .onConflict((c) => c.doNothing())
    .execute();
  const row = await stores.state.db.selectFrom('link_keys').select('secret').where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow();
  return Buffer.from(row.secret, 'base64url');
}

function mac(key: Buffer, payload: string): string {
  return crypto.createHmac('sha256', key).update(payload).digest('base64url').slice(0, 12);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export interface UnsubscribeLink {
  workspaceId: string;
  personId: number;
  channel: string;
}

/** `<workspace>.<person, base 36>.<channel>.<mac>` */
export function unsubscribeToken(key: Buffer, link: UnsubscribeLink): string {
  const payload = `${link.workspaceId}.${link.personId.toString(36)}.${link.channel}`;
  return `${payload}.${mac(key, payload)}`;
}

export async function readUnsubscribeToken(stores: Stores, token: string): Promise<UnsubscribeLink | undefined> {
  const parts = token.split('.');
  if (parts.length !== 4) return undefined;
  const [workspaceId, person, channel, given] = parts;
  const exists = await stores.state.db.selectFrom('link_keys').select('workspace_id').where('workspace_id', '=', workspaceId).executeTakeFirst();
  if (!exists) return undefined;
  if (!same(mac(await linkKey(stores, workspaceId), `${workspaceId}.${person}.${channel}`), given)) return undefined;
  return { workspaceId, personId: parseInt(person, 36), channel };
}

export interface TrackedLink {
  workspaceId: string;
  plan: string;
  runId: string;
  variant: string;
  channel: string;
  url: string;
}

/** The id of a run's link: the same for every person, so it is stored once. */
export function trackedLinkId(link: Pick<TrackedLink, 'runId' | 'variant' | 'url'>): string {
  return crypto.createHash('sha256').update(`${link.runId}\u0000${link.variant}\u0000${link.url}`).digest('base64url').slice(0, 12);
}

/** `<link id>.<person, base 36>.<mac>` */
export function clickToken(key: Buffer, linkId: string, personId: number): string {
  const payload = `${linkId}.${personId.toString(36)}`;
  return `${payload}.${mac(key, payload)}`;
}

export async function saveTrackedLinks(stores: Stores, links: ReadonlyArray<TrackedLink>): Promise<void> {
  if (links.length === 0) return;
  await stores.state.db
    .insertInto('tracked_links')
    .values(links.map((l) => ({ id: trackedLinkId(l), workspace_id: l.workspaceId, plan_key: l.plan, run_id: l.runId, variant: l.variant, channel: l.channel, url: l.url })))
    .onConflict((c) => c.column('id').doNothing())
    .execute();
}

/**
 * Where a tracked link may send a browser: an absolute http(s) URL with no user or password in it
 * (`https://brand.example@evil.example/` shows one host and opens another). Anything else — javascript:,
 * data:, a relative path — is not followed, whatever the template rendered.
 */
function redirectTarget(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const target = new URL(url);
  if ((target.protocol !== 'http:' && target.protocol !== 'https:') || target.username || target.password) return undefined;
  return target.href;
}

/** The link a click token names, if its MAC holds and its URL is one a browser may be sent to. */
export async function readClickToken(stores: Stores, token: string): Promise<(TrackedLink & { personId: number }) | undefined> {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [id, person, given] = parts;
  const link = await stores.state.db.selectFrom('tracked_links').selectAll().where('id', '=', id).executeTakeFirst();
  if (!link) return undefined;
  if (!same(mac(await linkKey(stores, link.workspace_id), `${id}.${person}`), given)) return undefined;
  const url = redirectTarget(link.url);
  if (!url) return undefined;
  return { workspaceId: link.workspace_id, plan: link.plan_key, runId: link.run_id, variant: link.variant, channel: link.channel, url, personId: parseInt(person, 36) };
}
