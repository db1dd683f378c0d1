/**
 * Message templates: Liquid (liquidjs) over the person (profile fields), their tags and the plan.
 * A template is checked before a plan may start: it must parse, and every variable it reads must be
 * one we can fill (a known profile field, an existing tag, a plan field). Rendering never reaches
 * the file system and never reads inherited properties.
 */
import { Liquid } from 'liquidjs';
import { PROFILE_FIELDS } from '../facts/member-profile.ts';
import { InputError } from '../kernel/errors.ts';

const PERSON_FIELDS = ['id', 'name', ...Object.keys(PROFILE_FIELDS)] as const;
const PLAN_FIELDS = ['key', 'name', 'variant', 'run'] as const;
/** Links the sender fills per message (an unsubscribe link, a tracked link to the landing page). */
const LINK_FIELDS = ['unsubscribe_url'] as const;

/** Bounds on one template: its length, the time one render may take, and what it may allocate (ranges, joins, pads). */
const TEMPLATE_LIMITS = {
  /** Characters of Liquid parsed per template (a rich HTML email is well under this). */
  parseLimit: 1_000_000,
  /** Milliseconds one field of one message may take to render. */
  renderLimit: 200,
  /** Items and characters one render may allocate (`(1..n)` ranges, `join`, `pad` …). */
  memoryLimit: 10_000_000,
} as const;

function makeEngine(outputEscape: 'escape' | undefined): Liquid {
  const engine = new Liquid({
    ownPropertyOnly: true,
    strictFilters: true,
    // Unknown variables are caught before start; at render time a missing value (a person without a
    // city) renders as empty, which `default` can replace.
    strictVariables: false,
    relativeReference: false,
    root: [],
    partials: [],
    layouts: [],
    cache: 1024,
    ...TEMPLATE_LIMITS,
    outputEscape,
  });
  /** `{{ url | track }}`: the URL, rewritten by the renderer into a tracked redirect when tracking is on. */
  engine.registerFilter('track', function (this: { context: { environments: Record<string, unknown> } }, url: unknown) {
    const tracker = this.context.environments.__track as ((url: string) => string) | undefined;
    return tracker ? tracker(String(url)) : String(url);
  });
  return engine;
}

// Text fields (SMS, WeCom, subjects) are sent as written. HTML fields escape every `{{ … }}` output,
// because traits are written by customers (a name of `<script>…` must arrive as text, not markup);
// `| raw` is the template author's explicit way out.
const engine = makeEngine(undefined);
const htmlEngine = makeEngine('escape');
/** Content fields that are HTML (an email's `html` body); every other field is text. */
const HTML_FIELDS: readonly string[] = ['html'];
const engineFor = (field: string) => (HTML_FIELDS.includes(field.split('.').at(-1) ?? field) ? htmlEngine : engine);

export class TemplateError extends InputError {
  override name = 'TemplateError';
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** A template: one Liquid text per field of the channel's content (subject, text, data.first …). */
export type TemplateFields = Record<string, string>;

export interface TemplateNeeds {
  personFields: Set<string>;
  tags: Set<string>;
}

/**
 * Parses every field and returns what they read; throws a TemplateError naming the field and the
 * unknown variable or the syntax error.
 */
export function checkTemplate(fields: TemplateFields, knownTags: ReadonlySet<string>, path = 'template'): TemplateNeeds {
  const needs: TemplateNeeds = { personFields: new Set(), tags: new Set() };
  for (const [name, text] of Object.entries(fields)) {
    const at = `${path}.${name}`;
    let segments: Array<Array<string | number | unknown>>;
    let template: ReturnType<typeof engine.parse>;
    try {
      template = engineFor(name).parse(text);
      segments = engine.globalVariableSegmentsSync(template) as Array<Array<string | number | unknown>>;
    } catch (error) {
      const limit = limitText(error);
      throw new TemplateError(at, limit ?? `not valid Liquid: ${(error as Error).message.split('\n')[0]}`);
    }
    // A trial render with no data: a loop that cannot finish in time or allocates too much is
    // refused when the template is saved, not when it is sent.
    try {
      engineFor(name).renderSync(template, { person: {}, tags: {}, plan: {} });
    } catch (error) {
      const limit = limitText(error);
      if (limit) throw new TemplateError(at, limit);
    }
    for (const segment of segments) {
      const [root, field] = segment;
      const shown = segment.map(String).join('.');
      if (root === 'person') {
        if (typeof field !== 'string' || !(PERSON_FIELDS as readonly string[]).includes(field))
          throw new TemplateError(at, `unknown field {{ ${shown} }} (person has ${PERSON_FIELDS.join(', ')})`);
        needs.personFields.add(field);
      } else if (root === 'tags') {
        if (typeof field !== 'string' || !knownTags.has(field)) throw new TemplateError(at, `unknown tag {{ ${shown} }} (no tag with key "${String(field)}" in this workspace)`);
        needs.tags.add(field);
      } else if (root === 'plan') {
        if (typeof field !== 'string' || !(PLAN_FIELDS as readonly string[]).includes(field))
          throw new TemplateError(at, `unknown field {{ ${shown} }} (plan has ${PLAN_FIELDS.join(', ')})`);
      } else if (typeof root === 'string' && (LINK_FIELDS as readonly string[]).includes(root)) {
        // filled per message
      } else {
        throw new TemplateError(at, `unknown variable {{ ${shown} }} (expected person.…, tags.…, plan.… or ${LINK_FIELDS.join(', ')})`);
      }
    }
  }
  return needs;
}

export interface RenderScope {
  person: Record<string, unknown>;
  tags: Record<string, unknown>;
  plan: { key: string; name: string; variant: string; run: string };
  unsubscribe_url?: string;
  /** Rewrites a link into a tracked redirect (the `track` filter). */
  track?: (url: string) => string;
}

/** A liquidjs limit error, told in words (or undefined for any other error). */
function limitText(error: unknown): string | undefined {
  const message = String((error as Error)?.message ?? '');
  if (message.includes('parse length limit exceeded')) return `the template is longer than ${TEMPLATE_LIMITS.parseLimit.toLocaleString('en-US')} characters`;
  if (message.includes('template render limit exceeded')) return `the template takes longer than ${TEMPLATE_LIMITS.renderLimit} ms to render (a loop too long?)`;
  if (message.includes('memory alloc limit exceeded'))
    return `the template allocates more than ${TEMPLATE_LIMITS.memoryLimit.toLocaleString('en-US')} items or characters (a range or loop too large?)`;
  return undefined;
}

// A run renders the same few templates for every person: parse each text once (per engine: HTML
// fields are parsed with their escaping).
const parsed = new Map<string, ReturnType<typeof engine.parse>>();
function parsedTemplate(field: string, text: string) {
  const which = engineFor(field);
  const key = `${which === htmlEngine ? 'html' : 'text'}\u0000${text}`;
  let template = parsed.get(key);
  if (!template) {
    if (parsed.size > 1000) parsed.clear();
    template = which.parse(text);
    parsed.set(key, template);
  }
  return template;
}

/** Renders every field; a field past a limit throws a TemplateError naming it. */
export function renderTemplate(fields: TemplateFields, scope: RenderScope): Record<string, string> {
  const out: Record<string, string> = {};
  const { track, ...variables } = scope;
  const context = { ...variables, __track: track };
  for (const [name, text] of Object.entries(fields)) {
    try {
      out[name] = engineFor(name).renderSync(parsedTemplate(name, text), context) as string;
    } catch (error) {
      const limit = limitText(error);
      if (limit) throw new TemplateError(`template.${name}`, limit);
      throw error;
    }
  }
  return out;
}
