/** How often, and how far apart, an operation is tried. */
export interface RetryPolicy {
  /** Tries in total, at least 1. */
  readonly attempts: number;
  /** Wait between two tries, in ms. */
  readonly delayMs: number;
}

export interface Retried<T> {
  readonly value: T;
  /** Tries it took, 1 when the first one worked. */
  readonly attempts: number;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it resolves, `shouldRetry` says an error is final, or the policy's tries
 * are spent; then the last error is thrown as is.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  shouldRetry: (error: unknown) => boolean,
  attempt: (tryNumber: number) => Promise<T>,
): Promise<Retried<T>> {
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new RangeError(`attempts must be an integer >= 1, got ${policy.attempts}`);
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      return { value: await attempt(tryNumber), attempts: tryNumber };
    } catch (error) {
      if (tryNumber >= policy.attempts || !shouldRetry(error)) throw error;
      await wait(policy.delayMs);
    }
  }
}
