import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifyStatic from '@fastify/static';
import fastifyCookie from '@fastify/cookie';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { openApiDocumentSchema } from '../contract/system.ts';
import type { SiyuConfig } from '../config/config.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { ApiKeyService } from '../access/keys.ts';
import { workspaceRoutes } from '../access/workspaces-http.ts';
import { systemRoutes } from '../system/http.ts';
import { trackingRoutes } from '../tracking/http.ts';
import { importRoutes } from '../ingest/http.ts';
import { tagsAfterImport } from './flows.ts';
import { identityRoutes } from '../identity/http.ts';
import { tagRoutes } from '../tags/http.ts';
import { segmentRoutes } from '../segments/http.ts';
import { planRoutes } from '../plans/http.ts';
import { policyRoutes } from '../policy/http.ts';
import { deliveryRoutes } from '../delivery/http.ts';
import { journeyRoutes } from '../journeys/http.ts';
import { accessRoutes } from '../access/http.ts';
import { peopleRoutes } from '../people/http.ts';
import { taskRoutes } from '../tasks/http.ts';
import { secretRoutes } from '../secrets/http.ts';
import { channelRoutes } from '../channels/routes.ts';
import { channelUsingSecret } from '../channels/store.ts';
import { authenticateSession } from '../access/users.ts';
import { recordAudit } from '../access/audit.ts';
import { rescheduleTags } from '../tags/schedule.ts';
import { reschedulePlans } from '../plans/plans.ts';
import { uploadsDirOf } from '../kernel/uploads.ts';
import { EventBuffer, type EventBufferOptions } from '../tracking/event-buffer.ts';
import { installAuth } from '../access/auth.ts';
import { installErrorHandling } from './errors.ts';
import { installSecurityHeaders } from './security-headers.ts';
import { trustProxySetting } from './client-address.ts';
import { backupRoutes } from '../backup/http.ts';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built console (`npm run build:console`, run by `npm install`), or undefined when it is not built. */
export function consoleRoot(): string | undefined {
  const built = path.join(PACKAGE_ROOT, 'console', 'dist');
  return fs.existsSync(path.join(built, 'index.html')) ? built : undefined;
}

const CONSOLE_NOT_BUILT = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Siyu 私域</title></head>
<body style="font-family:system-ui,sans-serif;max-width:640px;margin:15vh auto">
<h1>Siyu 私域</h1><p>控制台尚未构建：运行 <code>npm run build:console</code>（<code>npm install</code> 会自动构建）。</p>
<p>The console is not built yet: run <code>npm run build:console</code> (<code>npm install</code> builds it).</p>
<p>API: <a href="/api/openapi.json">/api/openapi.json</a> · <a href="/healthz">/healthz</a></p></body></html>`;

export interface ServerOptions {
  config: Pick<SiyuConfig, 'logLevel'> & Partial<Pick<SiyuConfig, 'publicUrl'>>;
  stores: Stores;
  /** Log requests (off in tests). */
  logger?: boolean;
  tracking?: EventBufferOptions;
  /** Where uploaded import files wait while they are imported (default: `uploads` in the data directory, 0700). */
  uploadsDir?: string;
  /** Proxies whose X-Forwarded-For names the client (default: SIYU_TRUST_PROXY; none when unset). */
  trustProxy?: boolean | number | string;
  /** Sees every route as it is registered (the contract test lists routes without a response schema). */
  onRoute?: (route: RouteOptions) => void;
}

/** Where links in messages (tracked links, unsubscribe) point: SIYU_PUBLIC_URL, else the address the server listens on. */
function publicUrlOf(app: FastifyInstance, configured: string | undefined): string {
  if (configured) return configured.replace(/\/$/, '');
  const address = app.server.address();
  if (!address || typeof address === 'string') return 'http://127.0.0.1:8080';
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function buildServer({ config, stores, logger = true, tracking, uploadsDir, trustProxy, onRoute }: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: logger ? { level: config.logLevel } : false,
    // A union does not pick one of Fastify's overloads: named as the string form proxy-addr takes.
    trustProxy: (trustProxy ?? trustProxySetting()) as string,
    bodyLimit: 10 * 1024 * 1024,
  });
  if (onRoute) app.addHook('onRoute', onRoute);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  await installSecurityHeaders(app);

  const workspaces = new WorkspaceService(stores.state);
  const apiKeys = new ApiKeyService(stores.state);
  await app.register(fastifyCookie);
  installAuth(app, apiKeys, (token) => authenticateSession(stores, token));

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Siyu API',
        version: '0.1.0',
        description:
          'Siyu (私域) customer operations platform. Every /api/v1 route needs "Authorization: Bearer <API key>". ' + 'Errors are { error: { code, message, details } }.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a Siyu API key' } } },
    },
    transform: jsonSchemaTransform,
  });

  systemRoutes(app, stores);
  workspaceRoutes(app, {
    workspaces,
    apiKeys,
    audit: (ws, actor, action, target, details) => recordAudit(stores, ws, actor, action, target, details),
    timeZoneChanged: async (ws) => {
      await rescheduleTags(stores, ws);
      await reschedulePlans(stores, ws);
    },
  });
  const events = new EventBuffer(stores, tracking);
  trackingRoutes(app, stores, events);
  await importRoutes(app, stores, uploadsDir ?? uploadsDirOf(stores.dataDir), tagsAfterImport(stores));
  identityRoutes(app, stores);
  tagRoutes(app, stores);
  segmentRoutes(app, stores);
  planRoutes(app, stores, { publicUrl: () => publicUrlOf(app, config.publicUrl ?? process.env.SIYU_PUBLIC_URL) });
  policyRoutes(app, stores);
  deliveryRoutes(app, stores);
  journeyRoutes(app, stores);
  accessRoutes(app, stores);
  peopleRoutes(app, stores);
  taskRoutes(app, stores);
  // Secrets are write-only; a secret a channel names cannot be deleted from under it.
  secretRoutes(app, stores, { usedBy: (ws, name) => channelUsingSecret(stores, ws, name) });
  channelRoutes(app, stores);
  backupRoutes(app, stores);
  // Events waiting in the buffer are written before the stores close.
  app.addHook('onClose', async () => events.close());

  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true, response: { 200: openApiDocumentSchema } } }, async () => app.swagger());

  const consoleDir = consoleRoot();
  if (consoleDir) await app.register(fastifyStatic, { root: consoleDir, prefix: '/', index: ['index.html'], wildcard: false });
  else app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(CONSOLE_NOT_BUILT));
  // The browser SDK, for <script type="module"> on the brand's own pages.
  await app.register(fastifyStatic, { root: path.join(PACKAGE_ROOT, 'sdk'), prefix: '/sdk/', decorateReply: false });
  return app;
}
