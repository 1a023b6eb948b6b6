export * from './schema';
export * from './defaults';
export * from './validate';
export * from './load';
