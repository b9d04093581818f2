/**
 * Request deadlines, the same rule for every app: the app gets `info.deadline` (epoch ms) and the
 * platform answers 504 `deadline_exceeded` when an app is still busy `DEADLINE_GRACE_MS` after it
 * (in Lambda that is still before the function's timeout: DEADLINE_MARGIN_MS is kept free).
 */

/** How long after the deadline the platform waits before answering for the app. */
export const DEADLINE_GRACE_MS = 250;

/** Epoch-ms deadline from the Lambda context (pure): remaining time minus the margin, never in the past. */
export function lambdaDeadline(now: number, remainingMs: number | undefined, marginMs: number): number | undefined {
  if (remainingMs === undefined || !Number.isFinite(remainingMs)) return undefined;
  return now + Math.max(0, remainingMs - marginMs);
}

/**
 * `work`, or `{ late: true }` when it has not settled by epoch ms `at`. The timer is cleared as soon
 * as the work settles (no timer outlives a request).
 */
export function beforeDeadline<T>(work: Promise<T>, at: number): Promise<{ late: false; value: T } | { late: true }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ late: true }), Math.max(0, at - Date.now()));
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve({ late: false, value });
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
