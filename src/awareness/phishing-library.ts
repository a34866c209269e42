/**
 * @module awareness/phishing-library
 * The templates and landing pages that ship in `content/phishing/`: YAML files a security team
 * reviews like code. Landing pages are described (title, fields), not written as HTML, so the
 * page Vigil serves is always its own escaped markup and a password field is always known as one.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VigilError } from '../core/index.js';
import { checkTemplate } from './phishing-render.js';

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

const templateSchema = z
  .object({
    id: z.string().regex(ID),
    name: z.string().min(1).max(200),
    subject: z.string().min(1).max(300),
    html: z.string().min(1).max(200_000),
    text: z.string().min(1).max(100_000),
    signs: z.array(z.string().min(1).max(500)).min(1).max(12),
    landing: z.string().regex(ID).optional(),
  })
  .strict();

const landingSchema = z
  .object({
    id: z.string().regex(ID),
    title: z.string().min(1).max(200),
    heading: z.string().min(1).max(200),
    intro: z.string().max(1000).default(''),
    button: z.string().min(1).max(60),
    fields: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/),
            label: z.string().min(1).max(100),
            type: z.enum(['text', 'email', 'password']),
          })
          .strict(),
      )
      .min(1)
      .max(8),
  })
  .strict();

/** A template as shipped (or stored). */
export type PhishingTemplate = z.infer<typeof templateSchema>;
/** A landing page description. */
export type LandingPage = z.infer<typeof landingSchema>;

async function loadDir<T>(dir: string, schema: z.ZodType<T>): Promise<T[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const name of names) {
    const parsed = schema.safeParse(
      parseYaml(await readFile(path.join(dir, name), 'utf8'), { maxAliasCount: 0 }),
    );
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new VigilError(
        'CONFIG_INVALID',
        `Invalid phishing content ${name}: ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    out.push(parsed.data);
  }
  return out;
}

/** The shipped templates and landing pages, by id. */
export class PhishingLibrary {
  readonly templates: ReadonlyMap<string, PhishingTemplate>;
  readonly landings: ReadonlyMap<string, LandingPage>;
  constructor(templates: PhishingTemplate[], landings: LandingPage[]) {
    for (const t of templates) checkTemplate(t);
    this.templates = new Map(templates.map((t) => [t.id, t]));
    this.landings = new Map(landings.map((l) => [l.id, l]));
    for (const t of templates)
      if (t.landing && !this.landings.has(t.landing))
        throw new VigilError('CONFIG_INVALID', `Phishing template ${t.id}: no landing page ${t.landing}`);
  }

  /** Loads `<dir>/templates/*.yaml` and `<dir>/landing/*.yaml`. */
  static async load(dir: string): Promise<PhishingLibrary> {
    return new PhishingLibrary(
      await loadDir(path.join(dir, 'templates'), templateSchema),
      await loadDir(path.join(dir, 'landing'), landingSchema),
    );
  }

  /** An empty library (tests that bring their own templates). */
  static empty(): PhishingLibrary {
    return new PhishingLibrary([], []);
  }
}
