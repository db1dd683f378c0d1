/**
 * Whose address a request comes from. Behind a reverse proxy every request arrives from the proxy, so
 * per-address limits (login throttling, tracker rates) would hold every client together: the
 * operator names the proxies whose X-Forwarded-For is believed (SIYU_TRUST_PROXY), nobody else's.
 */
import { InputError } from '../kernel/errors.ts';

/** Fastify's `trustProxy`: unset → false; `true`; a hop count (`1`); or addresses and CIDRs, comma-separated. */
export function trustProxySetting(env: NodeJS.ProcessEnv = process.env): boolean | number | string {
  const raw = env.SIYU_TRUST_PROXY?.trim();
  if (!raw || raw === '0' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p))) {
    throw new InputError(`SIYU_TRUST_PROXY: expected true, a hop count or proxy addresses/CIDRs separated by commas, got "${raw}"`);
  }
  return parts.join(',');
}
