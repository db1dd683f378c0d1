import type { FastifyError, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { ApiError, ConflictError, InputError, issuePath, NotFoundError, type ErrorBody } from '../kernel/errors.ts';

/**
 * The zod validator, but a body nested so deep that checking it would overflow the stack (a tree of
 * conditions a thousand levels down) is refused as a 400 naming the part, not a 500.
 */
function guardedValidatorCompiler<S>(compile: FastifySchemaCompiler<S>): FastifySchemaCompiler<S> {
  return (route) => {
    const validate = compile(route);
    return (data) => {
      try {
        return validate(data);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        return { error: new ApiError(400, 'validation_failed', `${route.httpPart ?? 'request'}: nested too deeply to check`) };
      }
    };
  };
}

/** "/items/0/sku" → ["items", 0, "sku"] */
function instancePathParts(instancePath: string | undefined): PropertyKey[] {
  if (!instancePath) return [];
  return instancePath
    .split('/')
    .filter((part) => part.length > 0)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')));
}

export function installErrorHandling(app: FastifyInstance): void {
  // The validator set before this (zod's) gives a 400, not a 500, for a body too deep to check.
  if (app.validatorCompiler) app.setValidatorCompiler(guardedValidatorCompiler(app.validatorCompiler));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'request';
      const issues = error.validation.map((issue) => ({
        path: issuePath([where, ...instancePathParts(issue.instancePath)]),
        message: issue.message ?? 'invalid',
      }));
      const first = issues[0];
      return reply.code(400).send({
        error: {
          code: 'validation_failed',
          message: first ? `${first.path}: ${first.message}` : 'the request does not match the schema',
          details: { issues },
        },
      } satisfies ErrorBody);
    }
    if (error instanceof ZodError) {
      const issues = error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
      return reply.code(400).send({
        error: { code: 'validation_failed', message: `${issues[0]?.path}: ${issues[0]?.message}`, details: { issues } },
      } satisfies ErrorBody);
    }
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message, details: error.details } });
    }
    if (error instanceof InputError) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: error.message } } satisfies ErrorBody);
    }
    if (error instanceof NotFoundError) {
      return reply.code(404).send({ error: { code: 'not_found', message: error.message } } satisfies ErrorBody);
    }
    if (error instanceof ConflictError) {
      return reply.code(409).send({ error: { code: 'conflict', message: error.message } } satisfies ErrorBody);
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error }, 'response does not match its schema');
      return reply.code(500).send({ error: { code: 'internal', message: 'the response did not match its schema' } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
    }
    // The JSON parser refuses prototype keys as well as broken JSON; the answer says both.
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return reply.code(400).send({
        error: { code: 'invalid_json', message: 'the body is not valid JSON, or it has a "__proto__" or "constructor.prototype" key, which is refused' },
      } satisfies ErrorBody);
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = request.routeOptions.bodyLimit;
      const size = limit === undefined ? 'the size' : limit >= 1024 * 1024 ? `${Math.round(limit / (1024 * 1024))} MB` : `${Math.round(limit / 1024)} KB`;
      return reply.code(413).send({ error: { code: 'body_too_large', message: `body: larger than the ${size} this route takes` } } satisfies ErrorBody);
    }
    // Fastify's own 4xx (body too large, unsupported media type …).
    return reply.code(status).send({
      error: { code: (error.code ?? 'bad_request').toLowerCase().replace(/^fst_err_/, ''), message: error.message },
    } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    } satisfies ErrorBody);
  });
}
