/**
 * Serving (`rk.serving`): a dynamic batcher that coalesces concurrent requests into padded
 * batches, and streaming sessions that feed sequences a step at a time.
 */
export { Batcher, batcher } from './batcher';
export type { BatcherOptions, SessionOptions } from './batcher';
export { Session } from './session';
export type { BatcherStats, Percentiles } from './stats';
export type { Output, RequestOptions, SessionState } from './types';
