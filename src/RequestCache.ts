/**
 * Dedup and cache (so the same content is not generated, and paid for,
 * twice): identical requests in flight share one upstream call,
 * and, optionally, successful results are kept for a time-to-live. Failures
 * are never cached.
 *
 * The first caller of a key starts the call in a fiber of its own and every
 * caller of the key — however much later it comes, as long as the call is in
 * flight — waits for it. Interrupting a caller stops only that caller's wait;
 * when every caller has stopped waiting the call is interrupted (nobody wants
 * its result). A success is fresh for the TTL counted from its arrival; a
 * failure reaches the callers in flight and is then forgotten, so the next
 * caller tries again.
 *
 * Sharing a call costs one fiber per call, even for a request nobody else
 * makes: a caller who comes later can only join a call that does not belong
 * to the first caller's fiber (interrupting the first caller must neither end
 * it nor wait for it). Where identical concurrent requests do not happen,
 * `shareInFlight: false` runs each call on its caller's fiber and forks
 * nothing; with a TTL, results are still kept and reused.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Schema } from "effect"
import * as internalKey from "./internal/requestCache/key.js"
import { Store } from "./internal/requestCache/store.js"

/**
 * Options for {@link make}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `ttl` | 0 (share in-flight calls only) | a result cache is your choice (the same prompt may be meant to give a new image); identical calls in flight are shared unless `shareInFlight` is false |
 * | `capacity` | 1000 entries | |
 * | `shareInFlight` | true | what the cache has always done; turning it off saves a fiber per call where identical concurrent requests do not happen |
 *
 * @since 0.1.0
 */
export interface RequestCacheOptions {
  /** How long a successful result is reused, from its arrival. 0 = only share calls in flight. */
  readonly ttl?: Duration.DurationInput | undefined
  /** How many fresh results are kept at most (the oldest goes first). */
  readonly capacity?: number | undefined
  /**
   * Whether identical calls in flight share one call (default true). When
   * false, each call runs on its caller's fiber: nothing is forked, and
   * without a TTL no key is looked at.
   */
  readonly shareInFlight?: boolean | undefined
}

/**
 * Hit/miss counts.
 *
 * @since 0.1.0
 */
export interface RequestCacheStats {
  /** Callers served by a call in flight or a fresh result. */
  readonly hits: number
  /** Calls started. */
  readonly misses: number
  /** Shared calls in flight plus fresh results kept. */
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
  /**
   * The same as `get(keyOf(chain, request), run)` — two requests share
   * exactly when their {@link keyOf} keys are equal — without building the
   * key: the request is hashed in place and compared field by field only
   * when its hash meets another's. Requests given here and string keys given
   * to `get` are apart (a key never meets a request). A request in flight is
   * compared as it is when a later caller comes, so do not change its object
   * while its call runs.
   */
  readonly getFor: <A, E>(chain: string, request: unknown, run: Effect.Effect<A, E>) => Effect.Effect<A, E>
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

/**
 * A stable key for `(chain, request)`: object keys sorted and `undefined`
 * fields dropped, so two requests that would put the same bytes on the wire
 * get the same key. Bytes are keyed by content (base64), bigints by value, and
 * functions (hooks such as `onAttempt` or `admit`, validators' checks) by
 * identity: the same function shares a key, another function does not. So
 * requests with different output validators never share a result.
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
export const keyOf: (chain: string, request: unknown) => string = internalKey.keyOf

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
    const ttlMs = Duration.toMillis(ttl)
    if (!(ttlMs >= 0)) {
      return yield* new InvalidRequestCacheOptions({ field: "ttl", message: `must not be negative, got ${String(options.ttl)}` })
    }
    const shareInFlight = options.shareInFlight ?? true
    if (typeof shareInFlight !== "boolean") {
      return yield* new InvalidRequestCacheOptions({ field: "shareInFlight", message: `must be true or false, got ${String(shareInFlight)}` })
    }
    const store = new Store(ttlMs, capacity, shareInFlight)
    return {
      get: (key, run) => store.getByKey(key, run),
      getFor: (chain, request, run) => store.getFor(chain, request, run),
      stats: Effect.map(Clock.currentTimeMillis, (now) => store.stats(now))
    }
  })
