/**
 * Message templates: Liquid (liquidjs) over the person (profile fields), their tags and the plan.
 * A template is checked before a plan may start: it must parse, and every variable it reads must be
 * one we can fill (a known profile field, an existing tag, a plan field). Rendering never reaches
 * the file system and never reads inherited properties.
 */
import { Liquid } from 'liquidjs';
import { PROFILE_FIELDS } from '../tags/definition.ts';
import { InputError } from '../system/validation.ts';

export const PERSON_FIELDS = ['id', 'name', ...Object.keys(PROFILE_FIELDS)] as const;
export const PLAN_FIELDS = ['key', 'name', 'variant', 'run'] as const;
/** Links the sender fills per message (an unsubscribe link, a tracked link to the landing page). */
export const LINK_FIELDS = ['unsubscribe_url'] as const;

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
});

/** `{{ url | track }}`: the URL, rewritten by the renderer into a tracked redirect when tracking is on. */
engine.registerFilter('track', function (this: { context: { environments: Record<string, unknown> } }, url: unknown) {
  const tracker = this.context.environments.__track as ((url: string) => string) | undefined;
  return tracker ? tracker(String(url)) : String(url);
});

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
    try {
      segments = engine.globalVariableSegmentsSync(engine.parse(text)) as Array<Array<string | number | unknown>>;
    } catch (error) {
      throw new TemplateError(at, `not valid Liquid: ${(error as Error).message.split('\n')[0]}`);
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

// A run renders the same few templates for every person: parse each text once.
const parsed = new Map<string, ReturnType<typeof engine.parse>>();
function parsedTemplate(text: string) {
  let template = parsed.get(text);
  if (!template) {
    if (parsed.size > 1000) parsed.clear();
    template = engine.parse(text);
    parsed.set(text, template);
  }
  return template;
}

export function renderTemplate(fields: TemplateFields, scope: RenderScope): Record<string, string> {
  const out: Record<string, string> = {};
  const { track, ...variables } = scope;
  const context = { ...variables, __track: track };
  for (const [name, text] of Object.entries(fields)) out[name] = engine.renderSync(parsedTemplate(text), context) as string;
  return out;
}
