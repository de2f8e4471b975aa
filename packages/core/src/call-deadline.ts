import { StatusCode } from '@dd/sys';
import { OperationAbortedError, TimeoutError, type DataDistError, type OperationName } from './errors.js';

/**
 * Waits for `work`, or gives up when `timeoutMs` passes or `signal` aborts. Giving up cancels
 * nothing: the native call cannot be cancelled, so it runs on and `work` still settles later;
 * `onGiveUp` lets the caller record that its result will be discarded.
 */
export function waitWithin<T>(
  op: OperationName,
  work: Promise<T>,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  onGiveUp: (error: DataDistError) => void,
): Promise<T> {
  if (timeoutMs === undefined && signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const giveUp = (error: DataDistError): void => {
      cleanup();
      onGiveUp(error);
      reject(error);
    };
    function onAbort(): void {
      giveUp(new OperationAbortedError(op, signal?.reason));
    }
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        giveUp(
          new TimeoutError({
            status: StatusCode.LLM_TIMEOUT,
            operation: op,
            abandoned: true,
            message: `${op} gave up after its timeoutMs of ${timeoutMs} ms; the native call runs on until it ends (at most the engine's syncTimeoutMs) and its result is discarded`,
          }),
        );
      }, timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}
