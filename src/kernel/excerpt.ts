/**
 * A short, safe excerpt of text someone else wrote (a platform's error reply, an SMTP response) for
 * places operators read it: the send ledger and the person view. Whatever a remote server answers is
 * never kept whole: control and invisible characters go, anything that looks like a credential or an
 * address is redacted, and the rest is cut to `max` characters.
 */

/** Characters read at most before redacting, so a 64 KiB reply costs no more than a short one. */
const READ_AT_MOST = 2_000;

const CONTROL_OR_INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]+/gu;
const AUTH_SCHEME = /\b(bearer|basic|token)\s+[^\s"',;]+/gi;
const CREDENTIAL_FIELD =
  /((?:access[_-]?token|refresh[_-]?token|token|secret|password|passwd|pwd|api[_-]?key|key|signature|sig|auth|authorization|credential|cookie|session)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi;
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:?)+/gi;
/** Long unbroken runs of letters and digits: keys, tokens, hashes (not ENV_NAMES or snake_case words). */
const OPAQUE = /[A-Za-z0-9+/_=.-]{24,}/g;
const looksOpaque = (run: string) => /\d/.test(run) || (/[a-z]/.test(run) && /[A-Z]/.test(run));

export function safeExcerpt(text: string, max = 200): string {
  const cleaned = text
    .slice(0, READ_AT_MOST)
    .replace(CONTROL_OR_INVISIBLE, ' ')
    .replace(AUTH_SCHEME, '$1 [redacted]')
    .replace(CREDENTIAL_FIELD, '$1[redacted]')
    .replace(IPV4, '[address]')
    .replace(IPV6, '[address]')
    .replace(OPAQUE, (run) => (looksOpaque(run) ? '[redacted]' : run))
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}
