/**
 * Where the server's rules come from: the hospital rule pack shipped in `content/rules/`, plus
 * the operator's own Sigma rules in `<data dir>/rules/` when that directory exists (SigmaHQ rules
 * or local ones; `vigil rules check` shows what loads).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped hospital rule pack (same relative place from `src/` and from `dist/`). */
export const HOSPITAL_RULE_PACK = fileURLToPath(new URL('../../../content/rules', import.meta.url));

/** The rule directories of a data directory: the pack and `<dataDir>/rules` if present. */
export function defaultRuleSources(dataDir: string): string[] {
  const local = join(dataDir, 'rules');
  return existsSync(HOSPITAL_RULE_PACK)
    ? [HOSPITAL_RULE_PACK, ...(existsSync(local) ? [local] : [])]
    : existsSync(local)
      ? [local]
      : [];
}
