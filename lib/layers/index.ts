export * from './recurrent';
export * from './bidirectional';
export * from './dense';
export * from './embedding';
export * from './dropout';
export * from './time-distributed';
