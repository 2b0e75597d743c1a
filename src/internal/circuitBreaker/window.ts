/**
 * The circuit breaker's sliding window: a fixed ring of time buckets with
 * running totals. Recording a call adds to the current bucket and to the
 * totals; moving the window forward evicts the buckets that fell out of it by
 * subtracting their counts from the totals. The ring never grows, so memory is
 * constant whatever the traffic, and reading the totals is O(1).
 *
 * The structure is immutable: every operation returns a new window, so it can
 * live in a `Ref` and be updated atomically.
 *
 * Granularity: the window holds the current bucket and the `buckets - 1`
 * before it, i.e. between `window - bucket` and `window` of history.
 *
 * @internal
 */

/** One bucket's counts. */
export interface Bucket {
  readonly calls: number
  readonly failures: number
}

/** A sliding window of outcomes. */
export interface Window {
  /** Width of one bucket in milliseconds. */
  readonly bucketMs: number
  /** The ring; slot `id % slots.length` holds bucket `id` (`id = floor(t / bucketMs)`). */
  readonly slots: ReadonlyArray<Bucket>
  /** Id of the newest bucket; the ring holds ids in `(head - slots.length, head]`. */
  readonly head: number
  /** Running total of calls in the ring. */
  readonly calls: number
  /** Running total of failures in the ring. */
  readonly failures: number
}

const emptyBucket: Bucket = { calls: 0, failures: 0 }

/** An empty window of `buckets` buckets covering `windowMs`. */
export const empty = (windowMs: number, buckets: number, now: number): Window => {
  const bucketMs = windowMs / buckets
  return {
    bucketMs,
    slots: Array.from({ length: buckets }, () => emptyBucket),
    head: Math.floor(now / bucketMs),
    calls: 0,
    failures: 0
  }
}

/** The same window, emptied (same size), with its head at `now`. */
export const reset = (window: Window, now: number): Window => ({
  bucketMs: window.bucketMs,
  slots: window.slots.map(() => emptyBucket),
  head: Math.max(window.head, Math.floor(now / window.bucketMs)),
  calls: 0,
  failures: 0
})

/**
 * Move the window forward to `now`, evicting (subtracting) every bucket that
 * fell out of it. A clock that went backwards is treated as standing still.
 */
export const advance = (window: Window, now: number): Window => {
  const current = Math.floor(now / window.bucketMs)
  if (current <= window.head) return window
  const size = window.slots.length
  if (current - window.head >= size) return reset(window, now)
  const slots = window.slots.slice()
  let calls = window.calls
  let failures = window.failures
  for (let id = window.head + 1; id <= current; id++) {
    const index = id % size
    const evicted = slots[index] ?? emptyBucket
    calls -= evicted.calls
    failures -= evicted.failures
    slots[index] = emptyBucket
  }
  return { bucketMs: window.bucketMs, slots, head: current, calls, failures }
}

/** Record one call at `now` (a failure or not). */
export const record = (window: Window, now: number, failed: boolean): Window => {
  const moved = advance(window, now)
  const index = moved.head % moved.slots.length
  const slots = moved.slots.slice()
  const bucket = slots[index] ?? emptyBucket
  const add = failed ? 1 : 0
  slots[index] = { calls: bucket.calls + 1, failures: bucket.failures + add }
  return {
    bucketMs: moved.bucketMs,
    slots,
    head: moved.head,
    calls: moved.calls + 1,
    failures: moved.failures + add
  }
}
