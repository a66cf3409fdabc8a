/**
 * The architecture as rules (README, "Architecture"): `npm run lint:layers` fails on a wrong arrow.
 *
 *   core/       the internal representation, the backend port, the catalog. Uses only core/,
 *               errors.ts and libraries that do no I/O (picomatch, yaml, zod): no Fastify,
 *               undici, pino or databases, no file, socket or process access.
 *   errors.ts   GatewayError and the dialect mappers: uses core/ only (secret redaction).
 *   adapters/   back ends, behind core's port: never front ends, auth, usage or observability;
 *               one adapter never imports another (shared pieces sit in adapters/*.ts).
 *   frontends/  front ends, to the IR and back: never an adapter (they use core's port); one
 *               front end never imports another (shared pieces sit in frontends/*.ts).
 *   streaming/, http/  plumbing below the front ends and adapters: never import either.
 *   auth/, usage/, observability/  watch requests: never import a front end or an adapter.
 *   app.ts wires everything; server.ts starts it, cli.ts is the entry point.
 *   admin-page/ the admin page (built by Vite, runs in the browser): uses only admin-page/ and the
 *               API contract src/admin/api-types.ts; nothing of the gateway imports it.
 */
const layer = (name) => `^src/${name}/`;

module.exports = {
  forbidden: [
    {
      name: 'core-stays-inside',
      comment: 'core/ uses only core/ and errors.ts from the gateway',
      severity: 'error',
      from: { path: layer('core') },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/errors\\.ts$'] },
    },
    {
      name: 'core-no-io-libraries',
      comment: 'core/ does no I/O and does not know the web framework: no Fastify, undici, pino, databases or metrics',
      severity: 'error',
      from: { path: layer('core') },
      to: { path: 'node_modules/(fastify|@fastify/|fastify-plugin|undici|pino|pino-pretty|better-sqlite3|prom-client|env-schema|yargs)' },
    },
    {
      name: 'core-no-io-builtins',
      comment: 'core/ reads no files, opens no sockets, starts no processes',
      severity: 'error',
      from: { path: layer('core') },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads|timers/promises)$' },
    },
    {
      name: 'errors-use-core-only',
      comment: 'errors.ts sits beside core/: it may use core/ (redaction), nothing else of the gateway',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'adapters-not-above',
      comment: 'an adapter knows the IR and its upstream, not front ends, client auth, usage accounting or metrics',
      severity: 'error',
      from: { path: layer('adapters') },
      to: { path: ['^src/(frontends|auth|usage|observability|startup|files)/', '^src/(app|server|cli|config|logger)\\.ts$'] },
    },
    {
      name: 'adapters-apart',
      comment: 'one adapter never imports another; what they share sits in adapters/*.ts',
      severity: 'error',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/([^/]+)/', pathNot: '^src/adapters/$1/' },
    },
    {
      name: 'frontends-use-the-port',
      comment: "front ends reach back ends only through core's port (core/backend-adapter.ts)",
      severity: 'error',
      from: { path: layer('frontends') },
      to: { path: layer('adapters') },
    },
    {
      name: 'frontends-apart',
      comment: 'one front end never imports another; what they share sits in frontends/*.ts',
      severity: 'error',
      from: { path: '^src/frontends/([^/]+)/' },
      to: { path: '^src/frontends/([^/]+)/', pathNot: '^src/frontends/$1/' },
    },
    {
      name: 'plumbing-not-above',
      comment: 'streaming/ and http/ serve front ends and adapters; they import neither',
      severity: 'error',
      from: { path: '^src/(streaming|http)/' },
      to: { path: ['^src/(adapters|frontends|usage|observability|startup)/', '^src/(app|server|cli)\\.ts$'] },
    },
    {
      name: 'services-not-above',
      comment: 'client auth, usage accounting and metrics watch requests; they import no front end or adapter',
      severity: 'error',
      from: { path: '^src/(auth|usage|observability)/' },
      to: { path: '^src/(adapters|frontends)/' },
    },
    {
      name: 'only-entry-points-import-the-app',
      comment: 'app.ts is imported only by server.ts, server.ts only by cli.ts, cli.ts by nothing in src/',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(server|cli)\\.ts$' },
      to: { path: '^src/(app|server|cli)\\.ts$' },
    },
    {
      name: 'server-imports-app-only',
      severity: 'error',
      from: { path: '^src/server\\.ts$' },
      to: { path: '^src/(server|cli)\\.ts$' },
    },
    {
      name: 'sources-not-tests',
      comment: 'src/ and schemas/ never import tests or the benchmark',
      severity: 'error',
      from: { path: '^(src|schemas)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'schemas-are-leaves',
      comment: 'schemas/ holds wire shapes and settings: it imports nothing of the gateway',
      severity: 'error',
      from: { path: '^schemas/' },
      to: { path: '^src/' },
    },
    {
      name: 'admin-page-uses-the-contract',
      comment: 'the admin page runs in the browser: from the gateway it knows only the API contract (src/admin/api-types.ts)',
      severity: 'error',
      from: { path: '^admin-page/' },
      to: { path: '^(src|schemas|test|bench)/', pathNot: '^src/admin/api-types\\.ts$' },
    },
    {
      name: 'nothing-imports-the-admin-page',
      comment: 'the gateway serves the built page from dist/admin-page; no code imports its sources',
      severity: 'error',
      from: { path: '^(src|schemas|test|bench)/' },
      to: { path: '^admin-page/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'every source file is reached from an entry point (cli.ts; tests and bench import what they exercise)',
      severity: 'error',
      from: { orphan: true, path: '^(src|schemas)/', pathNot: '^src/cli\\.ts$' },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-dependencies-in-sources',
      comment: 'what ships (src/, schemas/) uses only dependencies, never devDependencies',
      severity: 'error',
      from: { path: '^(src|schemas)/' },
      to: { dependencyTypes: ['npm-dev'], pathNot: 'node_modules/@types/' },
    },
    {
      name: 'no-undeclared-dependencies',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Type-only imports are arrows too: a type from the wrong layer is a wrong arrow.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // `#schemas/*` resolves to the TypeScript sources, as vitest and tsc see them.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
