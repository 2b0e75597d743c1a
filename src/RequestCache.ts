/**
 * Dedup and cache (SPEC §8 "cache results so the same content is not
 * generated twice"): identical concurrent requests share one upstream call,
 * and, optionally, successful results are kept for a time-to-live. Failures
 * are never cached.
 *
 * Built on Effect's `Cache`: the first caller of a key starts the call in its
 * own fiber and every caller of the same key joins it; a failure is dropped
 * from the cache as soon as it is known, so the next caller tries again. A
 * call keeps running if every caller is interrupted (its result may then serve
 * the next caller within the TTL).
 *
 * @since 0.1.0
 */
import { Cache, Duration, Effect, Equal, Exit, Fiber, Hash, Schema } from "effect"

/**
 * Options for {@link make}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `ttl` | 0 (share in-flight calls only) | issue #3 §6: the result cache is optional |
 * | `capacity` | 1000 entries | |
 *
 * @since 0.1.0
 */
export interface RequestCacheOptions {
  /** How long a successful result is reused. 0 = only share calls in flight. */
  readonly ttl?: Duration.DurationInput
  readonly capacity?: number
}

/**
 * Hit/miss counts.
 *
 * @since 0.1.0
 */
export interface RequestCacheStats {
  readonly hits: number
  readonly misses: number
  readonly size: number
}

/**
 * A shared-call cache.
 *
 * @since 0.1.0
 */
export interface RequestCache {
  /**
   * Run `run` unless a call with the same `key` is in flight (then share its
   * result) or a successful result for `key` is still fresh (then reuse it).
   * Use {@link keyOf} to build keys.
   */
  readonly get: <A, E>(key: string, run: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly stats: Effect.Effect<RequestCacheStats>
}

/**
 * Invalid cache options.
 *
 * @since 0.1.0
 */
export class InvalidRequestCacheOptions extends Schema.TaggedError<InvalidRequestCacheOptions>(
  "effect-ai-resilience/InvalidRequestCacheOptions"
)("InvalidRequestCacheOptions", { field: Schema.String, message: Schema.String }) {}

/** A cache key: equal by `id` only; carries the call to make on a miss. */
class Entry implements Equal.Equal {
  constructor(readonly id: string, readonly run: Effect.Effect<unknown, unknown>) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Entry && that.id === this.id
  }
  [Hash.symbol](): number {
    return Hash.string(this.id)
  }
}

const normalize = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(normalize)
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64")
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => k !== "validate" && (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, normalize((value as Record<string, unknown>)[k])])
    )
  }
  return typeof value === "bigint" ? value.toString() : value
}

/**
 * A stable key for `(chain, request)`: object keys sorted, `undefined` fields
 * and validators dropped, so two requests that would put the same bytes on the
 * wire get the same key.
 *
 * @example
 * ```ts
 * import { RequestCache } from "effect-ai-resilience"
 *
 * RequestCache.keyOf("images", { prompt: "a fox", model: "flux-2-pro" }) ===
 *   RequestCache.keyOf("images", { model: "flux-2-pro", prompt: "a fox", n: undefined }) // true
 * ```
 *
 * @since 0.1.0
 */
export const keyOf = (chain: string, request: unknown): string => JSON.stringify([chain, normalize(request)])

/**
 * Make a cache.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RequestCache } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* RequestCache.make({ ttl: "10 minutes" })
 *   const upstream = Effect.succeed("an image")
 *   // both share one upstream call
 *   return yield* Effect.all([cache.get("k", upstream), cache.get("k", upstream)], { concurrency: 2 })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: RequestCacheOptions = {}): Effect.Effect<RequestCache, InvalidRequestCacheOptions> =>
  Effect.gen(function*() {
    const capacity = options.capacity ?? 1000
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      return yield* new InvalidRequestCacheOptions({ field: "capacity", message: `must be a positive integer, got ${capacity}` })
    }
    let ttl: Duration.Duration
    try {
      ttl = Duration.decode(options.ttl ?? Duration.zero)
    } catch {
      return yield* new InvalidRequestCacheOptions({ field: "ttl", message: `is not a duration: ${String(options.ttl)}` })
    }
    // The cache holds the fiber running the shared call, not its result: each
    // caller joins it, so interrupting one caller (even the first) stops only
    // that caller's wait, never the call the others are waiting for.
    const cache = yield* Cache.makeWith<Entry, Fiber.RuntimeFiber<unknown, unknown>>({
      capacity,
      lookup: (entry) => Effect.forkDaemon(entry.run),
      timeToLive: () => ttl
    })
    const keep = Duration.toMillis(ttl) > 0
    return {
      get: <A, E>(key: string, run: Effect.Effect<A, E>) => {
        const entry = new Entry(key, run)
        // sound: a key names one request, so one result type
        const shared = Effect.flatMap(cache.get(entry), Fiber.join) as Effect.Effect<A, E>
        return shared.pipe(
          // A failure, or any result when there is no TTL, must not serve a later
          // caller: drop the entry once the shared call is over. (Callers who
          // joined while it was in flight already have their result.)
          Effect.onExit((exit) => (Exit.isFailure(exit) || !keep ? cache.invalidate(entry) : Effect.void))
        )
      },
      stats: Effect.map(cache.cacheStats, ({ hits, misses, size }) => ({ hits, misses, size }))
    }
  })
