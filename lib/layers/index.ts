export * from './recurrent';
export * from './bidirectional';
export * from './dense';
