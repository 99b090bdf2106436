export * from './version';
export * from './errors';
export * from './camera';
export * from './events';
