/**
 * @module devices/classification-file
 * The classification rules as data: the shipped file (`content/devices/classification.yml`) and an
 * optional user file (`devices.classificationFile`) whose rules come first. The schema is checked
 * with zod and every regular expression is compiled with RE2 (linear time), so a bad file stops
 * start-up with the file, the line and the reason instead of classifying wrongly.
 *
 * Schema (YAML): `version: 1` and `rules:`, a list of
 * - `id` (lower-case letters, digits, `-`; unique in the file; a user rule with a shipped rule's id
 *   replaces it), `type` (one of DEVICE_TYPES), `confidence` (0 < c ≤ 1), `reason` (plain words;
 *   `{name}` is the first value matched by the condition named `name`, `{name.values}` up to three
 *   of its distinct values, `{name.count}` how many), optional `evidenceLimit`;
 * - `match`: conditions that must all hold. A condition is either `any: [conditions]` (one must
 *   hold; `as` names it) or `attribute` (a name or a list of names) with exactly one operator:
 *   `equals`, `oneOf`, `prefix` (a string or list), `regex` (RE2 syntax), `ports` (port numbers
 *   or `from-to` ranges, read from the end of `app/transport/port` values) or `present: true`;
 *   letters compare without case unless `caseSensitive: true`. It holds when at least `atLeast`
 *   (default 1) distinct values match, or, with `fewerThan: n`, when fewer than n do (a negative
 *   condition, which gives no evidence).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RE2JS } from 're2js';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { VigilError } from '../core/index.js';
import {
  type AttributeView,
  type Classification,
  Classifier,
  type CompiledRule,
  DEVICE_TYPES,
} from './classify.js';

/** Where the shipped rules live (content/ beside src/ and dist/). */
export const SHIPPED_CLASSIFICATION_FILE = fileURLToPath(
  new URL('../../content/devices/classification.yml', import.meta.url),
);

const attributeName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'an attribute name (lower-case, digits, _)');
const portSpec = z.union([
  z.number().int().min(0).max(65535),
  z.string().regex(/^\d{1,5}-\d{1,5}$/, 'a port or a `from-to` range'),
]);

const leaf = z
  .object({
    attribute: z.union([attributeName, z.array(attributeName).min(1).max(32)]),
    as: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/)
      .optional(),
    equals: z.string().max(256).optional(),
    oneOf: z.array(z.string().max(256)).min(1).max(1000).optional(),
    prefix: z
      .union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(100)])
      .optional(),
    regex: z.string().min(1).max(2000).optional(),
    ports: z.array(portSpec).min(1).max(200).optional(),
    present: z.literal(true).optional(),
    caseSensitive: z.boolean().default(false),
    atLeast: z.number().int().min(1).max(1000).optional(),
    fewerThan: z.number().int().min(1).max(1000).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ops = (['equals', 'oneOf', 'prefix', 'regex', 'ports', 'present'] as const).filter(
      (k) => c[k] !== undefined,
    );
    if (ops.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `needs exactly one of equals, oneOf, prefix, regex, ports, present (has ${ops.join(', ') || 'none'})`,
      });
    if (c.atLeast !== undefined && c.fewerThan !== undefined)
      ctx.addIssue({ code: 'custom', message: 'atLeast and fewerThan cannot be combined' });
    if (c.fewerThan !== undefined && c.as !== undefined)
      ctx.addIssue({ code: 'custom', message: 'a fewerThan condition matches nothing to name with `as`' });
  });
type LeafSpec = z.infer<typeof leaf>;
type ConditionSpec = LeafSpec | { any: ConditionSpec[]; as?: string | undefined };
const condition: z.ZodType<ConditionSpec> = z.lazy(() =>
  z.union([
    z
      .object({
        any: z.array(condition).min(1).max(50),
        as: z
          .string()
          .regex(/^[a-z][a-z0-9_]*$/)
          .optional(),
      })
      .strict(),
    leaf,
  ]),
);

const ruleSpec = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and -'),
    type: z.enum(DEVICE_TYPES),
    confidence: z.number().gt(0).max(1),
    reason: z.string().min(1).max(300),
    evidenceLimit: z.number().int().min(1).max(100).optional(),
    match: z.array(condition).min(1).max(20),
  })
  .strict();

const fileSpec = z
  .object({
    version: z.literal(1),
    rules: z.array(ruleSpec).max(2000),
  })
  .strict();

/** A classification file that cannot be used, with where and why. */
export class ClassificationFileError extends VigilError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super('CONFIG_INVALID', `${file}:${line}: ${reason}`, { details: { file, line } });
  }
}

/** Line (1-based) of the node at `path`, or of its nearest parent that exists. */
function lineAt(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = (n ? doc.getIn(path.slice(0, n) as (string | number)[], true) : doc.contents) as
      | { range?: [number, number, number] }
      | null
      | undefined;
    if (node?.range) return lc.linePos(node.range[0]).line;
  }
  return 1;
}

type Test = (value: string) => boolean;

function portTest(specs: ReadonlyArray<number | string>): Test {
  const ranges = specs.map((s) => {
    if (typeof s === 'number') return [s, s] as const;
    const [a, b] = s.split('-').map(Number) as [number, number];
    return [Math.min(a, b), Math.max(a, b)] as const;
  });
  return (v) => {
    const m = /\/(\d{1,5})$/.exec(v) ?? /^(\d{1,5})$/.exec(v);
    if (!m) return false;
    const p = Number(m[1]);
    return ranges.some(([a, b]) => p >= a && p <= b);
  };
}

function valueTest(c: LeafSpec, where: (reason: string) => never): Test {
  const fold = c.caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  if (c.present) return () => true;
  if (c.equals !== undefined) {
    const want = fold(c.equals);
    return (v) => fold(v) === want;
  }
  if (c.oneOf) {
    const set = new Set(c.oneOf.map(fold));
    return (v) => set.has(fold(v));
  }
  if (c.prefix !== undefined) {
    const list = (Array.isArray(c.prefix) ? c.prefix : [c.prefix]).map(fold);
    return (v) => {
      const f = fold(v);
      return list.some((p) => f.startsWith(p));
    };
  }
  if (c.ports) return portTest(c.ports);
  let re: RE2JS;
  try {
    re = RE2JS.compile(c.regex ?? '', c.caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE);
  } catch (e) {
    where(`regular expression cannot run in linear time (RE2): ${(e as Error).message}`);
  }
  return (v) => re.test(v);
}

/** A condition over the attributes: the attributes it matched (null when it does not hold). */
type Cond = (all: readonly AttributeView[]) => { matched: AttributeView[]; name?: string | undefined } | null;

function distinctCount(list: readonly AttributeView[]): number {
  return new Set(list.map((a) => a.value)).size;
}

function compileCondition(
  c: ConditionSpec,
  where: (path: PropertyKey[], reason: string) => never,
  path: PropertyKey[],
): Cond {
  if ('any' in c) {
    const parts = c.any.map((x, i) => compileCondition(x, where, [...path, 'any', i]));
    return (all) => {
      for (const p of parts) {
        const r = p(all);
        if (r) return { matched: r.matched, name: c.as };
      }
      return null;
    };
  }
  const names = new Set(Array.isArray(c.attribute) ? c.attribute : [c.attribute]);
  const test = valueTest(c, (reason) => where([...path, 'regex'], reason));
  return (all) => {
    const matched = all.filter((a) => names.has(a.name) && test(a.value));
    const n = distinctCount(matched);
    if (c.fewerThan !== undefined) return n < c.fewerThan ? { matched: [] } : null;
    return n >= (c.atLeast ?? 1) ? { matched, name: c.as } : null;
  };
}

const PLACEHOLDER = /\{([a-z][a-z0-9_]*)(?:\.(values|count))?\}/g;

function namesOf(c: ConditionSpec, into: Set<string>): Set<string> {
  if (c.as) into.add(c.as);
  if ('any' in c) for (const x of c.any) namesOf(x, into);
  return into;
}

function compileRule(
  spec: z.infer<typeof ruleSpec>,
  where: (path: PropertyKey[], reason: string) => never,
): CompiledRule {
  const names = new Set<string>();
  for (const c of spec.match) namesOf(c, names);
  for (const m of spec.reason.matchAll(PLACEHOLDER))
    if (!names.has(m[1]!)) where(['reason'], `reason names {${m[1]}}, but no condition has \`as: ${m[1]}\``);
  const conds = spec.match.map((c, i) => compileCondition(c, where, ['match', i]));
  return {
    id: spec.id,
    type: spec.type,
    confidence: spec.confidence,
    match(all) {
      const evidence: AttributeView[] = [];
      const named = new Map<string, AttributeView[]>();
      for (const c of conds) {
        const r = c(all);
        if (!r) return null;
        evidence.push(...r.matched);
        if (r.name && !named.has(r.name)) named.set(r.name, r.matched);
      }
      const reason = spec.reason.replace(PLACEHOLDER, (_m, name: string, part?: string) => {
        const list = named.get(name) ?? [];
        const values = [...new Set(list.map((a) => a.value))];
        if (part === 'count') return String(values.length);
        if (part === 'values') return values.slice(0, 3).join(', ');
        return list[0]?.value ?? '';
      });
      return { evidence: spec.evidenceLimit ? evidence.slice(0, spec.evidenceLimit) : evidence, reason };
    },
  };
}

/** Parses and validates one classification file's text; throws ClassificationFileError. */
export function parseClassificationRules(text: string, file: string): CompiledRule[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ClassificationFileError(file, e.linePos?.[0]?.line ?? 1, `YAML: ${e.message.split('\n')[0]}`);
  }
  const where = (path: PropertyKey[], reason: string): never => {
    throw new ClassificationFileError(file, lineAt(doc, lc, path), reason);
  };
  const parsed = fileSpec.safeParse(doc.toJS({ maxAliasCount: 50 }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
    where(issue.path, `${at}${issue.message}`);
    throw new Error('unreachable');
  }
  const seen = new Set<string>();
  return parsed.data.rules.map((spec, i) => {
    const at = (path: PropertyKey[], reason: string) =>
      where(['rules', i, ...path], `rule ${spec.id}: ${reason}`);
    if (seen.has(spec.id)) at(['id'], 'the id is used by an earlier rule of this file');
    seen.add(spec.id);
    return compileRule(spec, at);
  });
}

function readRules(file: string): CompiledRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ClassificationFileError(
      file,
      0,
      `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseClassificationRules(text, file);
}

/**
 * The classifier of the shipped rules with, when given, a user file's rules first (a user rule
 * with a shipped rule's id replaces it). Throws ClassificationFileError on a bad file.
 */
export function loadClassifier(
  options: { userFile?: string | undefined; shippedFile?: string } = {},
): Classifier {
  const shipped = readRules(options.shippedFile ?? SHIPPED_CLASSIFICATION_FILE);
  if (!options.userFile) return new Classifier(shipped);
  const user = readRules(options.userFile);
  const ids = new Set(user.map((r) => r.id));
  return new Classifier([...user, ...shipped.filter((r) => !ids.has(r.id))]);
}

let shippedOnce: Classifier | undefined;

/** The classifier of the shipped rules alone, loaded once. */
export function shippedClassifier(): Classifier {
  shippedOnce ??= loadClassifier();
  return shippedOnce;
}

/** Classifies a device from its attributes (with the shipped rules unless a classifier is given). */
export function classify(
  attributes: readonly AttributeView[],
  classifier = shippedClassifier(),
): Classification {
  return classifier.classify(attributes);
}
