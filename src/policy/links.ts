/**
 * Signed links in messages: unsubscribe (one channel, or every channel) and tracked redirects for
 * clicks. A link carries its facts in the clear and an HMAC with the workspace's link key, so no
 * table lookup is needed and nobody can forge one for another person.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';

export async function linkKey(stores: Stores, workspaceId: string): Promise<Buffer> {
  const fresh = crypto.randomBytes(32).toString('base64url');
  await stores.state.db.insertInto('link_keys').values({ workspace_id: workspaceId, secret: fresh }).onConflict((c) => c.doNothing()).execute();
  const row = await stores.state.db.selectFrom('link_keys').select('secret').where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow();
  return Buffer.from(row.secret, 'base64url');
}

export interface UnsubscribeLink {
  workspaceId: string;
  personId: number;
  channel: string;
}

export interface ClickLink {
  workspaceId: string;
  plan: string;
  runId: string;
  personId: number;
  variant: string;
  channel: string;
  url: string;
}

function mac(key: Buffer, payload: string): string {
  return crypto.createHmac('sha256', key).update(payload).digest('base64url').slice(0, 22);
}

export function signLink(key: Buffer, data: UnsubscribeLink | ClickLink): string {
  const payload = Buffer.from(JSON.stringify(data)).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

/** The link's data, without checking it (to find the workspace whose key checks it). */
export function peekLink<T extends UnsubscribeLink | ClickLink>(token: string): T | undefined {
  try {
    return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

export function verifyLink(key: Buffer, token: string): boolean {
  const [payload, given] = token.split('.');
  if (!payload || !given) return false;
  const expected = Buffer.from(mac(key, payload));
  const actual = Buffer.from(given);
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}
