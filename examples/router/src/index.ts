export { KvRouter, type KvRouterOptions, type PrefilledRequest, type PromptInstance, type RoutedRequest } from './kv-router.js';
export { BlockPool } from './block-pool.js';
export { withRetries, type Retried, type RetryPolicy } from './retry.js';
