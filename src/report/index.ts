export * from './progress.js';
export * from './markdown.js';
export * from './svg.js';
export * from './run-dir.js';
export * from './lock.js';
export * from './jsonl.js';
export * from './atomic.js';
