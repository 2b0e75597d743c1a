/**
 * Load control: cap requests per minute so bursts do not add to
 * an overload, bound how many calls run at once (a bulkhead), and let people
 * see their place in the queue and the expected wait.
 *
 * A caller waits for a slot (first come, first served), then for a
 * rate-limit token (a token bucket of `requestsPerMinute` tokens refilled
 * evenly over the minute, the shape of Effect's token-bucket `RateLimiter`
 * and of providers' per-minute limits: a burst of up to `requestsPerMinute`,
 * then an even pace), and only
 * then runs: it counts as waiting until it has both, and as running — and
 * timed for the service-time estimate — from when it starts. The off-peak
 * gate that holds batch work for a daily window is {@link OffPeakGate}.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Schema, type Scope, SubscriptionRef } from "effect"
import * as internal from "./internal/loadControl/gate.js"

/** Default requests a minute per model (see {@link LoadControlOptions}). @since 0.1.0 */
export const DEFAULT_REQUESTS_PER_MINUTE = 600

/** Default calls in flight per model (see {@link LoadControlOptions}). @since 0.1.0 */
export const DEFAULT_CONCURRENCY = 1000

/**
 * Options for {@link make}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `requestsPerMinute` | 600 | a cap on requests per minute keeps bursts from adding to an overload: a cap that clips bursts, not one model's steady traffic — set it to the provider's quota |
 * | `concurrency` | 1000 | Little's law: 600 requests a minute × up to 100 s a call (a degraded image call) in flight; the rate cap binds first |
 * | `assumedServiceTime` | 30 s (until a call has been timed) | a normal image call takes 20–40 s |
 *
 * @since 0.1.0
 */
export interface LoadControlOptions {
  readonly requestsPerMinute?: number | undefined
  readonly concurrency?: number | undefined
  readonly assumedServiceTime?: Duration.DurationInput | undefined
}

/**
 * What the queue looks like now.
 *
 * @since 0.1.0
 */
export interface QueueStatus {
  /** Calls waiting for a slot or a rate-limit token. */
  readonly waiting: number
  /** Calls running: they have a slot and a token. */
  readonly running: number
  /** Mean duration (ms) of the calls that ran, from their start, or the assumed service time. */
  readonly serviceTimeMs: number
}

/**
 * Where one caller stands.
 *
 * @since 0.1.0
 */
export interface QueuePosition {
  /** 1 = next to run. */
  readonly position: number
  readonly estimatedWait: Duration.Duration
}

/**
 * A per-model gate: rate limit, bulkhead and queue.
 *
 * @since 0.1.0
 */
export interface LoadControl {
  /**
   * Run `effect` when a slot and a token are free; `onQueued` hears the
   * caller's position. Each execution of the returned effect queues afresh
   * (so it may be retried or repeated).
   */
  readonly run: <A, E, R>(
    effect: Effect.Effect<A, E, R>,
    onQueued?: (position: QueuePosition) => Effect.Effect<void>
  ) => Effect.Effect<A, E, R>
  /** The queue now (exact at every moment). */
  readonly status: Effect.Effect<QueueStatus>
  /**
   * The queue as it changes, for a status page. Published by a background
   * fiber at the end of a scheduler tick: changes made within one tick arrive
   * as one, their end state.
   */
  readonly changes: SubscriptionRef.SubscriptionRef<QueueStatus>
  /** The estimated wait for a caller at `position`. */
  readonly estimate: (position: number) => Effect.Effect<Duration.Duration>
}

/**
 * Invalid load-control options.
 *
 * @since 0.1.0
 */
export class InvalidLoadControlOptions extends Schema.TaggedError<InvalidLoadControlOptions>(
  "effect-ai-resilience/InvalidLoadControlOptions"
)("InvalidLoadControlOptions", { field: Schema.String, message: Schema.String }) {}

/**
 * Make a gate. It lives as long as the scope (the fiber publishing its `changes` does).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LoadControl } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const gate = yield* LoadControl.make({ requestsPerMinute: 20, concurrency: 2 })
 *   return yield* gate.run(Effect.succeed("an image"), ({ position, estimatedWait }) =>
 *     Effect.log(`you are number ${position}, about ${estimatedWait} to wait`))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: LoadControlOptions = {}
): Effect.Effect<LoadControl, InvalidLoadControlOptions, Scope.Scope> =>
  Effect.gen(function*() {
    const rpm = options.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
    if (!Number.isSafeInteger(rpm) || rpm < 1) {
      return yield* new InvalidLoadControlOptions({ field: "requestsPerMinute", message: `must be a positive integer, got ${rpm}` })
    }
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      return yield* new InvalidLoadControlOptions({ field: "concurrency", message: `must be a positive integer, got ${concurrency}` })
    }
    let assumed: number
    try {
      assumed = Duration.toMillis(Duration.decode(options.assumedServiceTime ?? Duration.seconds(30)))
    } catch {
      return yield* new InvalidLoadControlOptions({ field: "assumedServiceTime", message: `is not a duration: ${String(options.assumedServiceTime)}` })
    }
    const { changes, gate } = yield* internal.make(concurrency, rpm, assumed)
    const estimate = (position: number) => Effect.sync(() => Duration.millis(gate.estimate(position)))

    const run = <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      onQueued?: (position: QueuePosition) => Effect.Effect<void>
    ): Effect.Effect<A, E, R> =>
      internal.run(
        gate,
        effect,
        onQueued === undefined
          ? undefined
          : (position, waitMs) => onQueued({ position, estimatedWait: Duration.millis(waitMs) })
      )

    return { run, status: Effect.sync(() => gate.status()), changes, estimate }
  })

/**
 * A daily window (hours in a fixed UTC offset) in which batch work may run.
 *
 * @since 0.1.0
 */
export interface OffPeakWindow {
  /** Start hour, 0–23, inclusive. */
  readonly startHour: number
  /** End hour, 1–24, exclusive; may be less than `startHour` to wrap midnight. */
  readonly endHour: number
  /** Offset of the clock the hours are in, in hours from UTC (JST = 9). Default 0. */
  readonly utcOffsetHours?: number | undefined
}

/**
 * 00:00–06:00 UTC: developers report the lowest load on the image models then (a batch window).
 *
 * @since 0.1.0
 */
export const defaultOffPeakWindow: OffPeakWindow = { startHour: 0, endHour: 6, utcOffsetHours: 0 }

const hourOf = (epochMs: number, offsetHours: number): number =>
  (((epochMs / 3_600_000 + offsetHours) % 24) + 24) % 24

/**
 * How long until the window opens (zero while it is open).
 *
 * @since 0.1.0
 */
export const untilWindow = (window: OffPeakWindow, epochMs: number): Duration.Duration => {
  const hour = hourOf(epochMs, window.utcOffsetHours ?? 0)
  const inside = window.startHour <= window.endHour
    ? hour >= window.startHour && hour < window.endHour
    : hour >= window.startHour || hour < window.endHour
  if (inside) return Duration.zero
  const hoursToStart = ((window.startHour - hour) % 24 + 24) % 24
  return Duration.millis(Math.ceil(hoursToStart * 3_600_000))
}

/**
 * Hold batch work until the off-peak window is open (batch jobs run in the
 * low-load hours, not on top of an overload), sleeping on Effect's `Clock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LoadControl } from "effect-ai-resilience"
 *
 * const nightly = LoadControl.OffPeakGate(LoadControl.defaultOffPeakWindow)(Effect.log("generating the catalogue"))
 * ```
 *
 * @since 0.1.0
 */
export const OffPeakGate = (window: OffPeakWindow) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const wait = untilWindow(window, now)
    return Duration.toMillis(wait) === 0 ? effect : Effect.zipRight(Effect.sleep(wait), effect)
  })
