export * from './version';
export * from './errors';
export * from './camera';
export * from './events';
export * from './room';
export * from './label-rle';
export * from './presence';
export * from './links';
