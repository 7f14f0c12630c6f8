/**
 * Waiting that stops when an `AbortSignal` aborts: for a promise, and for a delay.
 *
 * @module
 */

/**
 * `promise`, or a rejection with the signal's reason when `signal` aborts first. `onAbort` runs
 * on abort (e.g. to cancel a response body); its failures are ignored. The promise itself goes
 * on: others may share it.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal?: AbortSignal,
  onAbort?: () => unknown,
): Promise<T> {
  if (!signal) return promise;
  const abort = () => {
    try {
      const result = onAbort?.();
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // Cancelling something that is already closed is fine.
    }
  };
  if (signal.aborted) {
    abort();
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onSignal = () => {
      abort();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onSignal, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onSignal);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onSignal);
        reject(error);
      },
    );
  });
}

/** Waits `ms` unless `signal` aborts first (then rejects with its reason). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
