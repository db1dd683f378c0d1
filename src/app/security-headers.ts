/**
 * Security headers on every response (@fastify/helmet): nosniff, no referrer, and a Content Security
 * Policy the built console satisfies (its scripts and styles are files of its own; React and ECharts
 * set styles through the DOM, which a policy does not govern, so 'unsafe-inline' for styles covers
 * only the server's own small HTML pages such as the unsubscribe page).
 */
import type { FastifyInstance } from 'fastify';
import fastifyHelmet from '@fastify/helmet';

/** WeCom shows a sidebar page inside its client: it may frame the console, no one else may. */
const FRAME_ANCESTORS = ["'self'", 'https://*.work.weixin.qq.com', 'https://work.weixin.qq.com'];

const CONSOLE_CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: FRAME_ANCESTORS,
};

export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, {
    // No upgrade-insecure-requests: a server on a LAN address over plain http must keep working.
    contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP_DIRECTIVES },
    // frame-ancestors decides framing; X-Frame-Options cannot name WeCom and would forbid it.
    xFrameOptions: false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  // The browser SDK is loaded by the brand's own pages, from their origin.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/sdk/')) reply.header('cross-origin-resource-policy', 'cross-origin');
  });
}
