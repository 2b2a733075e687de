/**
 * The boundaries of ARCHITECTURE.md, enforced:
 * - core is contracts only: no client library, nothing but zod and node built-ins;
 * - connectors depend on core, the connector kit and their own client libraries, never on the worker;
 * - the connector kit depends on core only;
 * - no circular imports anywhere.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make modules impossible to load or reason about in isolation.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-contracts-only',
      severity: 'error',
      comment: 'packages/core may import only zod and node built-ins.',
      from: { path: '^packages/core/src' },
      to: { path: 'node_modules', pathNot: 'node_modules/zod/' },
    },
    {
      name: 'core-imports-no-package',
      severity: 'error',
      comment: 'packages/core stands alone.',
      from: { path: '^packages/core/src' },
      to: { path: '^packages/(connectors|worker)/' },
    },
    {
      name: 'kit-core-only',
      severity: 'error',
      comment: 'packages/connector-kit holds what connectors share: it depends on core and node built-ins only, never on a connector or the worker.',
      from: { path: '^packages/connector-kit/src' },
      to: { path: ['^packages/(connectors|worker)/', 'node_modules/@ferry/(connectors|worker)', 'node_modules/(?!@ferry/core)'] },
    },
    {
      name: 'core-not-kit',
      severity: 'error',
      comment: 'core stands alone: the kit builds on it, not the other way round.',
      from: { path: '^packages/core/src' },
      to: { path: ['^packages/connector-kit/', 'node_modules/@ferry/connector-kit'] },
    },
    {
      name: 'connectors-not-worker',
      severity: 'error',
      comment: 'Connectors depend on core only, never on worker internals.',
      from: { path: '^packages/connectors/src' },
      to: { path: '(^packages/worker/|node_modules/@ferry/worker)' },
    },
    {
      name: 'connector-folders-independent',
      severity: 'error',
      comment: 'A connector folder does not reach into another one (shared code goes to packages/connector-kit).',
      from: { path: '^packages/connectors/src/([^/]+)/' },
      to: { path: '^packages/connectors/src/', pathNot: ['^packages/connectors/src/$1/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^packages/[^/]+/(dist|test)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['development', 'import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
