/**
 * One SQL fragment type for the facts store: ClickHouse text that carries its own bound parameters,
 * so fragments compose without renaming anything. Values interpolated into the `sql` template become
 * typed server-side parameters (`{p_N:Type}`); their names are allocated only when the whole query
 * is built (`toQuery()`), so two fragments can never clash over a name. Nested fragments are spliced
 * with their parameters; identifiers go in only through `sql.identifier()`, which accepts plain
 * names. Kysely's `sql` template and Dittofeed's ClickHouseQueryBuilder are the models.
 *
 *   const scope = sql`source IN ${sql.param(sources, 'Array(String)')}`;
 *   const { query, params } = sql`SELECT count() FROM orders WHERE workspace_id = ${ws} AND ${scope}`.toQuery();
 *   await stores.facts.query(query, params);
 */

/** A ClickHouse type as a parameter names it: String, UInt32, Array(String), DateTime64(3, 'UTC')… */
export type ClickHouseType = string;

/** One bound value and its ClickHouse type; its name is given when the query is built. */
class Param {
  readonly value: unknown;
  readonly type: ClickHouseType;
  constructor(value: unknown, type: ClickHouseType) {
    this.value = value;
    this.type = type;
  }
}

type Part = string | Param | SqlFragment;

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A `{name:Type}` placeholder in text of ours (the form the store's parameters take). */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

export class SqlFragment {
  readonly #parts: readonly Part[];

  /** Use the `sql` template (or its helpers): they are the only ways text gets in. */
  private constructor(parts: readonly Part[]) {
    this.#parts = parts;
  }

  /** @internal the constructor for this module's helpers. */
  static of(parts: readonly Part[]): SqlFragment {
    return new SqlFragment(parts);
  }

  /** Whether the fragment has no text at all (an empty join, `sql.empty`). */
  get isEmpty(): boolean {
    return this.#parts.every((p) => (typeof p === 'string' ? p === '' : p instanceof SqlFragment ? p.isEmpty : false));
  }

  /**
   * The query text and its parameters for `stores.facts.query/command`. Each value gets one name
   * (`p_0`, `p_1`, … in order of first use), however many fragments share it.
   */
  toQuery(): { query: string; params: Record<string, unknown> } {
    const names = new Map<Param, string>();
    const params: Record<string, unknown> = {};
    let query = '';
    const walk = (fragment: SqlFragment) => {
      for (const part of fragment.#parts) {
        if (typeof part === 'string') query += part;
        else if (part instanceof SqlFragment) walk(part);
        else {
          let name = names.get(part);
          if (!name) {
            name = `p_${names.size}`;
            names.set(part, name);
            params[name] = part.value;
          }
          query += `{${name}:${part.type}}`;
        }
      }
    };
    walk(this);
    return { query, params };
  }
}

/** The ClickHouse type a value is bound as when none is named: say `sql.param(value, type)` for any other. */
export function inferType(value: unknown): ClickHouseType {
  if (typeof value === 'string') return 'String';
  if (typeof value === 'boolean') return 'Bool';
  if (typeof value === 'bigint') return 'Int64';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`sql: ${value} cannot be bound (not a finite number)`);
    return Number.isSafeInteger(value) ? 'Int64' : 'Float64';
  }
  if (value instanceof Date) return "DateTime64(3, 'UTC')";
  if (Array.isArray(value)) {
    if (value.length === 0) return 'Array(String)';
    const types = new Set(value.map(inferType));
    // Whole and fractional numbers together are Float64s.
    if (types.size === 2 && types.has('Int64') && types.has('Float64')) return 'Array(Float64)';
    if (types.size !== 1) throw new TypeError(`sql: an array of mixed types (${[...types].join(', ')}) needs sql.param(value, type)`);
    return `Array(${[...types][0]})`;
  }
  throw new TypeError(`sql: a ${value === null ? 'null' : typeof value} value needs sql.param(value, type)`);
}

function checkType(type: ClickHouseType): ClickHouseType {
  // A type is ours (never user text), but a brace or a newline in it would break the placeholder.
  if (!/^[A-Za-z][A-Za-z0-9_]*(\(.*\))?$/s.test(type) || /[{}\n]/.test(type)) throw new TypeError(`sql: "${type}" is not a ClickHouse type`);
  return type;
}

type Interpolated = SqlFragment | Param | string | number | bigint | boolean | Date | ReadonlyArray<unknown>;

/** A text's `{name:Type}` placeholders as parameters bound to `params` (one per name and type, shared through `bound`). */
function bindNamed(text: string, params: Record<string, unknown>, bound: Map<string, Param>, by: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const [whole, name, type] = match;
    if (!Object.hasOwn(params, name)) throw new Error(`${by}: {${name}:${type}} has no value`);
    const key = `${name}:${type}`;
    let param = bound.get(key);
    if (!param) bound.set(key, (param = new Param(params[name], checkType(type.trim()))));
    parts.push(text.slice(last, match.index), param);
    last = match.index + whole.length;
  }
  parts.push(text.slice(last));
  return parts.filter((p) => p !== '');
}

function interpolate(strings: TemplateStringsArray, values: Interpolated[], text: (piece: string) => Part[]): SqlFragment {
  const parts: Part[] = [];
  strings.forEach((piece, i) => {
    parts.push(...text(piece));
    if (i < values.length) {
      const value = values[i];
      parts.push(value instanceof SqlFragment || value instanceof Param ? value : new Param(value, inferType(value)));
    }
  });
  return SqlFragment.of(parts);
}

function template(strings: TemplateStringsArray, ...values: Interpolated[]): SqlFragment {
  return interpolate(strings, values, (piece) => (piece ? [piece] : []));
}

/**
 * Text of ours whose `{name:Type}` placeholders are bound to `params` (a shared view such as the
 * purchases, written once as text): every placeholder becomes a parameter of the fragment, the same
 * name the same parameter. A placeholder without a value is refused here, not by the server later.
 * Never for text a user wrote.
 */
function raw(text: string, params: Record<string, unknown> = {}): SqlFragment {
  return SqlFragment.of(bindNamed(text, params, new Map(), 'sql.raw'));
}

/**
 * The `sql` template whose own text may also name placeholders bound to `params` (`{ws:String}`),
 * for a query written around a few shared names: `sql.with({ ws })\`… workspace_id = {ws:String} AND ${scope}\``.
 */
function withParams(params: Record<string, unknown>) {
  const bound = new Map<string, Param>();
  return (strings: TemplateStringsArray, ...values: Interpolated[]): SqlFragment => interpolate(strings, values, (piece) => bindNamed(piece, params, bound, 'sql.with'));
}

/**
 * The one binder for SQL written piece by piece as text (a segment tree's compiler, a rule's cases):
 * each value gets the next name (`prefix` + n) in `params` and its placeholder back; `fragment()`
 * turns the finished text into a fragment carrying those values.
 */
export class Binder {
  readonly params: Record<string, unknown>;
  readonly #prefix: string;
  #next = 0;
  constructor(prefix: string, params: Record<string, unknown> = {}) {
    if (!PLAIN_NAME.test(prefix)) throw new Error(`Binder: "${prefix}" is not a plain name`);
    this.#prefix = prefix;
    this.params = params;
  }

  bind(value: unknown, type: ClickHouseType): string {
    const name = `${this.#prefix}${this.#next++}`;
    if (Object.hasOwn(this.params, name)) throw new Error(`Binder: ${name} is already bound`);
    this.params[name] = value;
    return `{${name}:${checkType(type)}}`;
  }

  fragment(text: string): SqlFragment {
    return raw(text, this.params);
  }
}

export const sql = Object.assign(template, {
  /** A value bound as this ClickHouse type (UInt32, Date, Array(Float64)…). */
  param(value: unknown, type: ClickHouseType): Param {
    return new Param(value, checkType(type));
  },
  /** A column, table or alias name: plain names only (`a.b` as two names). */
  identifier(...names: string[]): SqlFragment {
    for (const name of names) if (!PLAIN_NAME.test(name)) throw new Error(`sql.identifier: "${name}" is not a plain name`);
    return SqlFragment.of([names.join('.')]);
  },
  /** Fragments one after another with a separator between them (`, ` unless told). */
  join(fragments: ReadonlyArray<SqlFragment>, separator: SqlFragment = SqlFragment.of([', '])): SqlFragment {
    return SqlFragment.of(fragments.flatMap((f, i) => (i === 0 ? [f] : [separator, f])));
  },
  raw,
  with: withParams,
  /** No text. */
  empty: SqlFragment.of([]),
});
