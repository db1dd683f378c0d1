/**
 * Siyu browser SDK: queues events, sends them in batches to /api/v1/batch, retries with backoff,
 * keeps an anonymous id. No dependencies; an ES module that also runs in Node 18+ (tests).
 *
 *   import { createSiyu } from '/sdk/siyu.js';
 *   const siyu = createSiyu({ endpoint: 'https://siyu.example.com', writeKey: 'siyu_…' });
 *   siyu.track('Product Viewed', { sku: 'YY-JS-70X6' }, { identities: { unionid: 'oU…' } });
 *
 * Use an API key with the `tracker` role: it can only send events, so it may sit in a web page. What
 * its events say about who the visitor is (phone, email, userId…) is kept as a claim and links
 * nobody, unless your server signs it: pass the token your back end mints (see README, "Signed
 * identities") as `signedIdentity` or through `setSignedIdentity(token)`, and it rides on every event.
 * On `pagehide` what is still queued goes by `navigator.sendBeacon` where the browser has it.
 */

const STORAGE_ANON = 'siyu.anonymousId';
const STORAGE_QUEUE = 'siyu.queue';

function randomId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (ch) => {
    const r = (Math.random() * 16) | 0;
    return (ch === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

function memoryStorage() {
  const data = new Map();
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k) };
}

export function createSiyu(options) {
  const endpoint = String(options.endpoint || '').replace(/\/$/, '');
  if (!options.writeKey) throw new Error('siyu: writeKey is required');
  const storage = options.storage || (typeof localStorage !== 'undefined' ? localStorage : memoryStorage());
  const fetchImpl = options.fetch || globalThis.fetch.bind(globalThis);
  const batchSize = options.batchSize || 20;
  const flushInterval = options.flushIntervalMs ?? 2000;
  const maxRetries = options.maxRetries ?? 8;
  const baseBackoff = options.backoffMs ?? 500;
  const maxQueue = options.maxQueue || 1000;
  let signedIdentity = options.signedIdentity || null;

  let anonymousId = storage.getItem(STORAGE_ANON);
  if (!anonymousId) {
    anonymousId = randomId();
    storage.setItem(STORAGE_ANON, anonymousId);
  }
  let userId = options.userId || null;
  let queue = [];
  try {
    queue = JSON.parse(storage.getItem(STORAGE_QUEUE) || '[]');
  } catch {
    queue = [];
  }
  let sending = null;
  let attempts = 0;
  let timer = null;
  let stopped = false;

  const persist = () => storage.setItem(STORAGE_QUEUE, JSON.stringify(queue));

  function schedule(delay) {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      flush();
    }, delay);
    if (timer && typeof timer.unref === 'function') timer.unref();
  }

  function enqueue(event) {
    // Every event gets its id and time now, so a retried batch is recognised and dropped by the server.
    const stamped = { messageId: randomId(), timestamp: new Date().toISOString(), anonymousId, ...(userId ? { userId } : {}), ...event };
    if (signedIdentity) stamped.context = { ...(event.context || {}), signedIdentity };
    queue.push(stamped);
    if (queue.length > maxQueue) queue.splice(0, queue.length - maxQueue);
    persist();
    if (queue.length >= batchSize) flush();
    else schedule(flushInterval);
  }

  async function send(batch) {
    const response = await fetchImpl(`${endpoint}/api/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.writeKey}` },
      body: JSON.stringify({ batch }),
      keepalive: true,
    });
    return response.status;
  }

  /** Sends what is queued; resolves when the queue is empty or a retry is scheduled. */
  function flush() {
    if (sending) return sending;
    if (queue.length === 0) return Promise.resolve();
    const batch = queue.slice(0, Math.min(queue.length, 100));
    sending = (async () => {
      let status = 0;
      try {
        status = await send(batch);
      } catch {
        status = 0; // network error
      }
      if (status >= 200 && status < 300) {
        queue.splice(0, batch.length);
        attempts = 0;
      } else if (status === 400 || status === 401 || status === 403 || status === 413) {
        // The server will never take these: drop them rather than retry forever.
        queue.splice(0, batch.length);
        if (options.onError) options.onError({ status, batch });
      } else {
        attempts++;
        if (attempts > maxRetries) {
          queue.splice(0, batch.length);
          attempts = 0;
          if (options.onError) options.onError({ status, batch });
        } else {
          persist();
          sending = null;
          schedule(Math.min(60_000, baseBackoff * 2 ** (attempts - 1)));
          return;
        }
      }
      persist();
      sending = null;
      if (queue.length > 0) await flush();
    })();
    const current = sending;
    return current.finally(() => {
      if (sending === current) sending = null;
    });
  }

  /**
   * Sends what is queued as beacons, which outlive the page (a fetch may be cut off as it unloads).
   * A beacon cannot set headers: the tracker key goes in the URL and the body as text/plain (no
   * preflight). Batches stay under the 64 KB browsers allow a beacon; what is left waits in storage.
   */
  function beacon() {
    const nav = typeof navigator !== 'undefined' ? navigator : null;
    if (sending || !nav || typeof nav.sendBeacon !== 'function' || typeof Blob === 'undefined') return false;
    const url = `${endpoint}/api/v1/batch?writeKey=${encodeURIComponent(options.writeKey)}`;
    while (queue.length > 0) {
      let n = Math.min(queue.length, 100);
      let body = JSON.stringify({ batch: queue.slice(0, n) });
      while (body.length > 60_000 && n > 1) {
        n = Math.ceil(n / 2);
        body = JSON.stringify({ batch: queue.slice(0, n) });
      }
      if (!nav.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) break;
      queue.splice(0, n);
    }
    persist();
    return queue.length === 0;
  }

  if (typeof addEventListener === 'function') {
    addEventListener('pagehide', () => {
      if (!beacon()) flush();
    });
  }

  return {
    get anonymousId() {
      return anonymousId;
    },
    get queued() {
      return queue.length;
    },
    track(event, properties = {}, extra = {}) {
      enqueue({ type: 'track', event, properties, ...extra });
    },
    page(name, properties = {}, extra = {}) {
      enqueue({ type: 'page', name, properties, ...extra });
    },
    identify(id, traits = {}, extra = {}) {
      userId = id;
      enqueue({ type: 'identify', userId: id, traits, ...extra });
    },
    alias(id, extra = {}) {
      const previousId = userId || anonymousId;
      userId = id;
      enqueue({ type: 'alias', userId: id, previousId, ...extra });
    },
    flush,
    /** Sends the queue by sendBeacon now (what `pagehide` does); true when nothing is left. */
    beacon,
    /** The brand server's signed identity for this visitor (a JWT), or null to stop sending one. */
    setSignedIdentity(token) {
      signedIdentity = token || null;
    },
    reset() {
      signedIdentity = null;
      userId = null;
      anonymousId = randomId();
      storage.setItem(STORAGE_ANON, anonymousId);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
