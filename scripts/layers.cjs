/**
 * The import table of docs/ARCHITECTURE.md: each folder of src/ and the folders it may import besides
 * itself ('*': any). `.dependency-cruiser.cjs` turns it into lint rules; test/arch/layers.test.ts
 * checks that docs/ARCHITECTURE.md's table says the same.
 */
const LAYERS = {
  native: [],
  math: ['native'],
  report: ['math'],
  net: [],
  iterate: [],
  bandit: ['math', 'native', 'report'],
  nn: ['math', 'native', 'report'],
  pref: ['nn', 'bandit', 'iterate', 'math', 'report'],
  feedback: ['pref', 'nn', 'net', 'iterate', 'math', 'report'],
  policy: ['pref', 'nn', 'net', 'iterate', 'math', 'report'],
  store: ['iterate', 'math', 'report'],
  serve: ['nn', 'pref', 'feedback', 'store', 'iterate', 'math', 'report'],
  loop: ['feedback', 'policy', 'pref', 'bandit', 'nn', 'iterate', 'math', 'report'],
  cli: ['*'],
};

module.exports = { LAYERS };
