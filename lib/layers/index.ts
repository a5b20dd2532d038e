export * from './recurrent';
export * from './bidirectional';
