// Public API of the feature store, for extract-features, temporal, evaluate and cut.
export * from './windows.js';
export * from './store.js';
