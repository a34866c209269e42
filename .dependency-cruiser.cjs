/**
 * Import rules of ARCHITECTURE.md, checked in CI (`npm run deps`):
 * - no cycles;
 * - core/ does no I/O and imports nothing above it;
 * - platform/ imports only core/;
 * - domains never import server/ or cli/, and reach other domains only through their index.ts;
 * - server/ never imports cli/.
 */
const DOMAINS = '(identity|activity|vault|privacy|sensor|devices|intel|detect|network|access|awareness)';

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-has-no-io',
      comment: 'core/ is pure: types, schemas, helpers. No file, network, process or database access.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        path: '^(fs|node:fs|fs/promises|node:fs/promises|net|node:net|http|node:http|https|node:https|child_process|node:child_process|dgram|node:dgram|tls|node:tls|worker_threads|node:worker_threads|better-sqlite3|pg|kysely|fastify|@nats-io/.*|pino)$',
      },
    },
    {
      name: 'core-imports-nothing-above',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(?!core/)' },
    },
    {
      name: 'platform-imports-only-core',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: `^src/(server|cli|${DOMAINS.slice(1, -1)})/` },
    },
    {
      name: 'domains-never-import-server-or-cli',
      severity: 'error',
      from: { path: `^src/${DOMAINS}/` },
      to: { path: '^src/(server|cli)/' },
    },
    {
      name: 'domains-use-each-others-public-face',
      comment: "A domain reaches another domain only through that domain's index.ts.",
      severity: 'error',
      from: { path: `^src/(${DOMAINS.slice(1, -1)})/` },
      to: { path: `^src/${DOMAINS}/(?!index\\.ts$)`, pathNot: '^src/$1/' },
    },
    {
      name: 'server-never-imports-cli',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'web-talks-http-only',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js'],
    },
  },
};
