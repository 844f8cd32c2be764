/**
 * The import table of docs/ARCHITECTURE.md as rules, checked by `npm run lint` (dependency-cruiser):
 * an import of a folder that scripts/layers.cjs does not allow is an error, and so is every import
 * cycle.
 */
const { LAYERS } = require('./scripts/layers.cjs');

const folders = Object.keys(LAYERS);
const alt = (xs) => `(${xs.join('|')})`;

const layerRules = Object.entries(LAYERS)
  .filter(([, may]) => !may.includes('*'))
  .map(([layer, may]) => ({
    name: `layer-${layer}`,
    comment: `src/${layer} may import only ${may.length ? may.map((m) => `src/${m}`).join(', ') : 'Node and npm packages'} (docs/ARCHITECTURE.md)`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: `^src/${alt(folders.filter((f) => f !== layer && !may.includes(f)))}/` },
  }));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'import cycles hide which module is the lower one; split the shared part out',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'nn-through-index',
      comment: 'other layers use the LM engine only through src/nn/index.ts (its public API)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/nn/' },
      to: { path: '^src/nn/', pathNot: '^src/nn/index[.]ts$' },
    },
    {
      name: 'report-base',
      comment: 'src/report imports from src/math only its dependency-free error classes and strict JSON',
      severity: 'error',
      from: { path: '^src/report/' },
      to: { path: '^src/math/', pathNot: '^src/math/(errors|json)[.]ts$' },
    },
    {
      name: 'bandit-core-no-report',
      comment: 'in src/bandit only experiment/ writes run folders and reports',
      severity: 'error',
      from: { path: '^src/bandit/', pathNot: '^src/bandit/experiment/' },
      to: { path: '^src/report/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
  },
};
