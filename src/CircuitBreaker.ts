/**
 * A per-model circuit breaker. Effect has retries, time-outs and
 * rate limiters but no circuit breaker; this is one.
 *
 * - **closed**: calls go through. Their outcomes are kept in a sliding time
 *   window of fixed buckets (constant memory: running totals, and a bucket
 *   that slides out of the window is subtracted from them). Once the window
 *   holds at least `minimumCalls` calls and the failure rate is at least
 *   `failureRateThreshold`, or `consecutiveFailures` calls in a row failed
 *   (so a model with little traffic, such as video, still trips), it opens.
 * - **open**: calls fail at once with {@link CircuitOpen}, which says when the
 *   model may be tried again; the wrapped effect is not run.
 * - **half-open**: once the open time has elapsed, the first `halfOpenProbes`
 *   calls go through as trial calls; others are rejected while they are in
 *   flight. When every probe has succeeded it closes (with empty counts); a
 *   probe that fails re-opens it for longer (`openDuration ×
 *   openBackoffFactor^k`, at most `maxOpenDuration`; back to `openDuration`
 *   after it has closed). An interrupted probe frees its slot and is not
 *   counted.
 *
 * The move from open to half-open is lazy: it happens (and is published to
 * `changes` subscribers) on the first call after the open time; `state` and `snapshot`
 * already report `"half-open"` once that time has passed. All time comes from
 * Effect's `Clock`, so `TestClock` drives it in tests. Every update is atomic
 * (one `Ref.modify`; a step that changes the state is made and published
 * under a lock), so concurrent callers never lose one, and transitions are
 * published in the order they happen.
 *
 * Only failures that say something about the model's health are counted (by
 * default those of `countsAgainstModel`: a `HardFailure` with reason
 * `Overloaded`, `ServerError`, `Timeout`, `Network` or `RateLimited`). Any other error means the model answered, and
 * is recorded as a success.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  type Exit,
  Layer,
  Option,
  PubSub,
  Ref,
  Schema,
  type Scope,
  Stream,
  SynchronizedRef
} from "effect"
import { countsAgainstModel } from "./Failure.js"
import { definedOnly } from "./internal/options.js"
import * as Window from "./internal/circuitBreaker/window.js"

/**
 * The state of a breaker.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const skip = (state: CircuitBreaker.State) => state === "open"
 * ```
 *
 * @since 0.1.0
 */
export type State = "closed" | "open" | "half-open"

/**
 * Options for {@link make} and {@link layer}.
 *
 * | option | default | source |
 * |---|---|---|
 * | `window` | 60 s | the last minute of outcomes |
 * | `buckets` | 12 (5 s each) | |
 * | `minimumCalls` | 5 | a breaker needs a sample before it judges: at least 5 calls |
 * | `failureRateThreshold` | 0.3 | opens at a failure rate of 30 % or more |
 * | `consecutiveFailures` | 5 | models with little traffic (video) still trip |
 * | `openDuration` | 300 s | five minutes for an overload to ease before a trial |
 * | `openBackoffFactor` | 2 | longer after each failed trial |
 * | `maxOpenDuration` | 10 min | capped: a trial is one request, so the cap keeps the return to a recovered model within 10 min (the outage replay benchmark measured it: a 30 min cap held it off for ~20 min) |
 * | `halfOpenProbes` | 1 | one trial request decides whether the model is back |
 * | `lastResortInterval` | 10 s | at most one last-resort trial (`lastResort`) per model in this time while its breaker is open |
 * | `isFailure` | `countsAgainstModel`: `HardFailure` with reason `Overloaded`, `ServerError`, `Timeout`, `Network` or `RateLimited` | failures that say the model is unwell; a 400 or a filtered prompt says nothing about it |
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * // a video model gets a handful of calls an hour: trip on 3 failures in a row
 * const video: CircuitBreaker.CircuitBreakerOptions = { consecutiveFailures: 3, openDuration: "10 minutes" }
 * ```
 *
 * @since 0.1.0
 */
export interface CircuitBreakerOptions {
  /** Length of the sliding window. Finite, > 0. Default 60 s. */
  readonly window?: Duration.DurationInput | undefined
  /** How many buckets the window is cut into. Integer ≥ 1. Default 12 (5 s each). */
  readonly buckets?: number | undefined
  /** Calls the window must hold before the failure rate is judged. Integer ≥ 1. Default 5. */
  readonly minimumCalls?: number | undefined
  /** Failure rate (0 < r ≤ 1) at or above which the breaker opens. Default 0.3. */
  readonly failureRateThreshold?: number | undefined
  /** Failures in a row that open the breaker whatever the window holds. Integer ≥ 1, or `Infinity` to turn off. Default 5. */
  readonly consecutiveFailures?: number | undefined
  /** How long the breaker stays open the first time. Finite, > 0. Default 300 s. */
  readonly openDuration?: Duration.DurationInput | undefined
  /** Each failed probe multiplies the open time by this. Finite, ≥ 1. Default 2. */
  readonly openBackoffFactor?: number | undefined
  /** The open time never exceeds this. Finite, ≥ `openDuration`. Default 10 minutes. */
  readonly maxOpenDuration?: Duration.DurationInput | undefined
  /** Trial calls admitted at once when half-open; all must succeed to close. Integer ≥ 1. Default 1. */
  readonly halfOpenProbes?: number | undefined
  /** While open, at most one last-resort trial ({@link CircuitBreaker} `lastResort`) starts in this time. Finite, > 0. Default 10 s. */
  readonly lastResortInterval?: Duration.DurationInput | undefined
  /**
   * Does this error (or defect) count against the model? Errors for which it
   * returns false, or throws, are recorded as successes (the model answered);
   * defects for which it does are not recorded at all (a bug says nothing
   * about the model).
   */
  readonly isFailure?: ((error: unknown) => boolean) | undefined
}

/**
 * A call was rejected without being run: the breaker for `model` is open, or
 * half-open with all its trial calls in flight. `retryAt` (epoch ms) and
 * `retryAfter` say when a call may be admitted again; for a half-open breaker
 * that is as soon as the trial calls finish, so `retryAfter` is zero.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const call = (breaker: CircuitBreaker.CircuitBreaker) =>
 *   breaker.withBreaker(Effect.succeed("an image")).pipe(
 *     Effect.catchTag("CircuitOpen", (e) =>
 *       Effect.logWarning(`${e.model} skipped; try again in ${Duration.format(e.retryAfter)}`))
 *   )
 * ```
 *
 * @since 0.1.0
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>("effect-ai-resilience/CircuitOpen")("CircuitOpen", {
  model: Schema.String,
  state: Schema.Literal("open", "half-open"),
  message: Schema.String,
  /** Epoch ms when a call may be admitted again. */
  retryAt: Schema.Number,
  retryAfter: Schema.DurationFromMillis
}) {}

/**
 * Options given to a circuit breaker are invalid. `field` names the option,
 * e.g. `"failureRateThreshold"` or `"perModel.veo-3.openDuration"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * CircuitBreaker.make("gpt-image-1.5", { buckets: 0 }).pipe(
 *   Effect.catchTag("InvalidCircuitBreakerOptions", (e) => Effect.logError(e.message)) // "buckets: must be …"
 * )
 * ```
 *
 * @since 0.1.0
 */
export class InvalidCircuitBreakerOptions extends Schema.TaggedError<InvalidCircuitBreakerOptions>(
  "effect-ai-resilience/InvalidCircuitBreakerOptions"
)("InvalidCircuitBreakerOptions", { field: Schema.String, message: Schema.String }) {}

/**
 * One change of state.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const describe = (t: CircuitBreaker.Transition) =>
 *   `${new Date(t.at).toISOString()} ${t.model}: ${t.from} → ${t.to} (${t.reason})`
 * ```
 *
 * @since 0.1.0
 */
export interface Transition {
  readonly model: string
  readonly from: State
  readonly to: State
  /** Epoch ms. */
  readonly at: number
  /**
   * Why: `"failure rate 40% >= 30% over 5 calls"`, `"5 consecutive failures"`,
   * `"probe succeeded"` (`"2 probes succeeded"`), `"probe failed"`,
   * `"open time elapsed"`.
   */
  readonly reason: string
}

/**
 * What a breaker looks like now.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const line = (s: CircuitBreaker.Snapshot) =>
 *   `${s.model} ${s.state}: ${s.failures}/${s.calls} failed in the window`
 * ```
 *
 * @since 0.1.0
 */
export interface Snapshot {
  readonly model: string
  readonly state: State
  /** Calls recorded in the sliding window. */
  readonly calls: number
  /** Of which counted as failures. */
  readonly failures: number
  /** `failures / calls` (0 when there are no calls). */
  readonly failureRate: number
  /** Counted failures in a row (reset by any success). */
  readonly consecutiveFailures: number
  /** Epoch ms until which the breaker is open; `undefined` unless `state` is `"open"`. */
  readonly openUntil: number | undefined
  /** How many times it has opened (re-opening after a failed probe included). */
  readonly opened: number
}

/**
 * The breaker of one model.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("gemini-3-pro-image-preview")
 *   const image = yield* breaker.withBreaker(Effect.succeed("an image"))
 *   return [image, yield* breaker.state] as const // ["an image", "closed"]
 * })
 * ```
 *
 * @since 0.1.0
 */
export interface CircuitBreaker {
  readonly model: string
  /** The state now, read without calling through the breaker. */
  readonly state: Effect.Effect<State>
  /** The state and the window's counts now. */
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * Subscribe to the transitions. The subscription is made when this effect
   * runs, not when the stream is run, so a transition that happens between
   * the two is not missed: the stream holds every transition from the
   * subscription on, for as long as the scope lives (run it once).
   *
   * ```ts
   * const transitions = yield* breaker.changes // subscribed here
   * yield* Effect.forkScoped(Stream.runForEach(transitions, (t) => Effect.log(t.reason)))
   * ```
   */
  readonly changes: Effect.Effect<Stream.Stream<Transition>, never, Scope.Scope>
  /**
   * Run `effect` if the breaker admits it and record its outcome; fail with
   * {@link CircuitOpen} (without running it) if not.
   */
  readonly withBreaker: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  /**
   * {@link withBreaker}, but while the breaker is open (its open time not
   * over yet) `effect` may run as an early trial call — one at a time, at most
   * one per `lastResortInterval` — with the half-open rules: success closes,
   * a counted failure re-opens. For when every model of a chain is open and
   * the alternative is certain failure (Envoy's "panic" routing, bounded).
   */
  readonly lastResort: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
}

/**
 * The resolved defaults of {@link CircuitBreakerOptions} (see the table
 * there).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * Duration.toSeconds(CircuitBreaker.defaults.openDuration) // 300
 * CircuitBreaker.defaults.failureRateThreshold // 0.3
 * ```
 *
 * @since 0.1.0
 */
export const defaults: {
  readonly window: Duration.Duration
  readonly buckets: number
  readonly minimumCalls: number
  readonly failureRateThreshold: number
  readonly consecutiveFailures: number
  readonly openDuration: Duration.Duration
  readonly openBackoffFactor: number
  readonly maxOpenDuration: Duration.Duration
  readonly halfOpenProbes: number
  readonly lastResortInterval: Duration.Duration
  readonly isFailure: (error: unknown) => boolean
} = {
  window: Duration.seconds(60),
  buckets: 12,
  minimumCalls: 5,
  failureRateThreshold: 0.3,
  consecutiveFailures: 5,
  openDuration: Duration.seconds(300),
  openBackoffFactor: 2,
  maxOpenDuration: Duration.minutes(10),
  halfOpenProbes: 1,
  lastResortInterval: Duration.seconds(10),
  isFailure: countsAgainstModel
}

// ---------------------------------------------------------------------------
// options

interface Resolved {
  readonly windowMs: number
  readonly buckets: number
  readonly minimumCalls: number
  readonly failureRateThreshold: number
  readonly consecutiveFailures: number
  readonly openDurationMs: number
  readonly openBackoffFactor: number
  readonly maxOpenDurationMs: number
  readonly halfOpenProbes: number
  readonly lastResortIntervalMs: number
  readonly isFailure: (error: unknown) => boolean
}

const show = (u: unknown): string =>
  typeof u === "string" ? JSON.stringify(u) : typeof u === "object" && u !== null ? "an object" : String(u)

const resolve = (
  input: CircuitBreakerOptions | undefined,
  prefix: string | undefined
): Either.Either<Resolved, InvalidCircuitBreakerOptions> => {
  const options: Record<string, unknown> = input === undefined || input === null ? {} : { ...input }
  const problem = (field: string, message: string, value: unknown) => {
    const name = prefix === undefined ? field : `${prefix}.${field}`
    return Either.left(new InvalidCircuitBreakerOptions({ field: name, message: `${name}: ${message}, got ${show(value)}` }))
  }
  const duration = (field: keyof CircuitBreakerOptions, fallback: Duration.Duration) => {
    const value = options[field]
    if (value === undefined) return Either.right(Duration.toMillis(fallback))
    const decoded = Duration.decodeUnknown(value)
    if (Option.isNone(decoded) || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) <= 0) {
      return problem(field, "must be a finite duration greater than 0", value)
    }
    return Either.right(Duration.toMillis(decoded.value))
  }
  const integer = (field: keyof CircuitBreakerOptions, fallback: number, orInfinity = false) => {
    const value = options[field]
    if (value === undefined) return Either.right(fallback)
    if (typeof value === "number" && (Number.isSafeInteger(value) ? value >= 1 : orInfinity && value === Infinity)) {
      return Either.right(value)
    }
    return problem(field, orInfinity ? "must be an integer ≥ 1 or Infinity" : "must be an integer ≥ 1", value)
  }
  const number = (field: keyof CircuitBreakerOptions, fallback: number, ok: (n: number) => boolean, rule: string) => {
    const value = options[field]
    if (value === undefined) return Either.right(fallback)
    return typeof value === "number" && Number.isFinite(value) && ok(value) ? Either.right(value) : problem(field, rule, value)
  }
  return Either.gen(function*() {
    const windowMs = yield* duration("window", defaults.window)
    const buckets = yield* integer("buckets", defaults.buckets)
    const minimumCalls = yield* integer("minimumCalls", defaults.minimumCalls)
    const failureRateThreshold = yield* number(
      "failureRateThreshold",
      defaults.failureRateThreshold,
      (n) => n > 0 && n <= 1,
      "must be a number greater than 0 and at most 1"
    )
    const consecutiveFailures = yield* integer("consecutiveFailures", defaults.consecutiveFailures, true)
    const openDurationMs = yield* duration("openDuration", defaults.openDuration)
    const openBackoffFactor = yield* number(
      "openBackoffFactor",
      defaults.openBackoffFactor,
      (n) => n >= 1,
      "must be a finite number ≥ 1"
    )
    const maxOpenDurationMs = yield* duration("maxOpenDuration", defaults.maxOpenDuration)
    if (maxOpenDurationMs < openDurationMs) {
      return yield* problem(
        "maxOpenDuration",
        `must be at least openDuration (${Duration.format(Duration.millis(openDurationMs))})`,
        Duration.format(Duration.millis(maxOpenDurationMs))
      )
    }
    const halfOpenProbes = yield* integer("halfOpenProbes", defaults.halfOpenProbes)
    const lastResortIntervalMs = yield* duration("lastResortInterval", defaults.lastResortInterval)
    const isFailure = options["isFailure"] ?? defaults.isFailure
    if (typeof isFailure !== "function") return yield* problem("isFailure", "must be a function", isFailure)
    return {
      windowMs,
      buckets,
      minimumCalls,
      failureRateThreshold,
      consecutiveFailures,
      openDurationMs,
      openBackoffFactor,
      maxOpenDurationMs,
      halfOpenProbes,
      lastResortIntervalMs,
      isFailure: isFailure as (error: unknown) => boolean
    } satisfies Resolved
  })
}

// ---------------------------------------------------------------------------
// the state machine (pure)

interface Core {
  readonly status: State
  /** Bumped on every transition; outcomes of calls admitted under an older one are ignored. */
  readonly generation: number
  readonly window: Window.Window
  readonly consecutive: number
  readonly opened: number
  /** Backoff exponent of the current (or last) open period. */
  readonly level: number
  /** Valid while open. */
  readonly openUntil: number
  /** Probes admitted in this half-open round (an interrupted one gives its slot back). */
  readonly admitted: number
  /** Probes of this round that succeeded. */
  readonly succeeded: number
  /** When the last last-resort trial started. */
  readonly lastResortAt: number
}

interface Permit {
  readonly probe: boolean
  readonly generation: number
}

type Outcome = "success" | "failure" | "interrupted"

type Step<B> = readonly [B, Core, ReadonlyArray<Transition>]

/** Tolerance for comparing a failure rate with its threshold (3 / 10 vs 0.3). */
const EPSILON = 1e-12

const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`

const isoOrMillis = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`

const effectiveState = (core: Core, now: number): State =>
  core.status === "open" && now >= core.openUntil ? "half-open" : core.status

const machine = (model: string, o: Resolved) => {
  const transition = (from: State, to: State, at: number, reason: string): Transition => ({ model, from, to, at, reason })

  const openFor = (level: number): number =>
    Math.min(o.maxOpenDurationMs, o.openDurationMs * Math.pow(o.openBackoffFactor, level))

  const open = (core: Core, now: number, level: number, reason: string): Step<void> => [
    undefined,
    {
      ...core,
      status: "open",
      generation: core.generation + 1,
      level,
      openUntil: now + openFor(level),
      opened: core.opened + 1,
      admitted: 0,
      succeeded: 0
    },
    [transition(core.status, "open", now, reason)]
  ]

  const rejection = (state: "open" | "half-open", now: number, retryAt: number, admitted: number): CircuitOpen => {
    const retryAfter = Duration.millis(Math.max(0, retryAt - now))
    return new CircuitOpen({
      model,
      state,
      retryAt,
      retryAfter,
      message: state === "open"
        ? `circuit for ${model} is open until ${isoOrMillis(retryAt)} (${Duration.format(retryAfter)})`
        : `circuit for ${model} is half-open with ${admitted} trial call${admitted === 1 ? "" : "s"} in flight; ` +
          "try again when they complete"
    })
  }

  const admit = (core: Core, now: number): Step<Either.Either<Permit, CircuitOpen>> => {
    if (core.status === "closed") {
      return [Either.right({ probe: false, generation: core.generation }), core, []]
    }
    let current = core
    const transitions: Array<Transition> = []
    if (current.status === "open") {
      if (now < current.openUntil) return [Either.left(rejection("open", now, current.openUntil, 0)), core, []]
      current = { ...current, status: "half-open", generation: current.generation + 1, admitted: 0, succeeded: 0 }
      transitions.push(transition("open", "half-open", now, "open time elapsed"))
    }
    if (current.admitted >= o.halfOpenProbes) {
      return [Either.left(rejection("half-open", now, now, current.admitted - current.succeeded)), current, transitions]
    }
    return [
      Either.right({ probe: true, generation: current.generation }),
      { ...current, admitted: current.admitted + 1 },
      transitions
    ]
  }

  /**
   * A last-resort trial: while open (before the open time is over), admitted
   * as a half-open trial call if none is in flight and none started in the
   * last `lastResortInterval`; otherwise as {@link admit}.
   */
  const admitLastResort = (core: Core, now: number): Step<Either.Either<Permit, CircuitOpen>> => {
    if (core.status !== "open" || now >= core.openUntil) return admit(core, now)
    if (now - core.lastResortAt < o.lastResortIntervalMs) return [Either.left(rejection("open", now, core.openUntil, 0)), core, []]
    const next: Core = { ...core, status: "half-open", generation: core.generation + 1, admitted: 1, succeeded: 0, lastResortAt: now }
    return [
      Either.right({ probe: true, generation: next.generation }),
      next,
      [transition("open", "half-open", now, "last-resort trial: every model of the chain is open")]
    ]
  }

  const settle = (core: Core, now: number, permit: Permit, outcome: Outcome): Step<void> => {
    if (permit.generation !== core.generation || outcome === "interrupted" && !permit.probe) return [undefined, core, []]
    if (!permit.probe) {
      const failed = outcome === "failure"
      const window = Window.record(core.window, now, failed)
      const consecutive = failed ? core.consecutive + 1 : 0
      const next: Core = { ...core, window, consecutive }
      if (failed) {
        const rate = window.failures / window.calls
        if (window.calls >= o.minimumCalls && rate >= o.failureRateThreshold - EPSILON) {
          return open(
            next,
            now,
            0,
            `failure rate ${percent(rate)} >= ${percent(o.failureRateThreshold)} over ${window.calls} calls`
          )
        }
        if (consecutive >= o.consecutiveFailures) return open(next, now, 0, `${consecutive} consecutive failures`)
      }
      return [undefined, next, []]
    }
    switch (outcome) {
      case "interrupted":
        return [undefined, { ...core, admitted: core.admitted - 1 }, []]
      case "failure":
        return open({ ...core, consecutive: core.consecutive + 1 }, now, core.level + 1, "probe failed")
      case "success": {
        const succeeded = core.succeeded + 1
        if (succeeded < o.halfOpenProbes) return [undefined, { ...core, succeeded }, []]
        return [
          undefined,
          {
            ...core,
            status: "closed",
            generation: core.generation + 1,
            window: Window.reset(core.window, now),
            consecutive: 0,
            level: 0,
            admitted: 0,
            succeeded: 0
          },
          [transition("half-open", "closed", now, succeeded === 1 ? "probe succeeded" : `${succeeded} probes succeeded`)]
        ]
      }
    }
  }

  const view = (core: Core, now: number): Snapshot => {
    const state = effectiveState(core, now)
    const window = Window.advance(core.window, now)
    return {
      model,
      state,
      calls: window.calls,
      failures: window.failures,
      failureRate: window.calls === 0 ? 0 : window.failures / window.calls,
      consecutiveFailures: core.consecutive,
      openUntil: state === "open" ? core.openUntil : undefined,
      opened: core.opened
    }
  }

  return { admit, admitLastResort, settle, view }
}

// ---------------------------------------------------------------------------
// the breaker

const outcomeOf = (isFailure: (error: unknown) => boolean, exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (exit._tag === "Success") return "success"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    try {
      return isFailure(failure.value) ? "failure" : "success"
    } catch {
      return "success"
    }
  }
  const defect = Cause.dieOption(exit.cause)
  if (Option.isNone(defect)) return "interrupted"
  // a defect is a bug, not an answer from the model: it counts only if
  // \`isFailure\` says so, and otherwise is not recorded at all (a trial call
  // that died neither closes nor re-opens the breaker: its slot is given back)
  try {
    return isFailure(defect.value) ? "failure" : "interrupted"
  } catch {
    return "interrupted"
  }
}

const fromResolved = (
  model: string,
  options: Resolved,
  shared: PubSub.PubSub<Transition> | undefined
): Effect.Effect<CircuitBreaker> =>
  Effect.gen(function*() {
    const { admit, admitLastResort, settle, view } = machine(model, options)
    const now = yield* Clock.currentTimeMillis
    const ref = yield* Ref.make<Core>({
      status: "closed",
      generation: 0,
      window: Window.empty(options.windowMs, options.buckets, now),
      consecutive: 0,
      opened: 0,
      level: 0,
      openUntil: 0,
      admitted: 0,
      succeeded: 0,
      lastResortAt: -Infinity
    })
    // The breaker's own hub is made when somebody first reads `changes` (most
    // breakers are only ever watched through the shared hub of `CircuitBreakers`):
    // an idle breaker stays small.
    let hub: PubSub.PubSub<Transition> | undefined
    const ownHub = Effect.suspend(() =>
      hub !== undefined ? Effect.succeed(hub) : Effect.map(PubSub.unbounded<Transition>(), (made) => (hub ??= made))
    )
    const lock = yield* Effect.makeSemaphore(1)
    const publish = (transitions: ReadonlyArray<Transition>) =>
      Effect.forEach(
        transitions,
        (t) =>
          Effect.zipRight(
            hub === undefined ? Effect.void : PubSub.publish(hub, t),
            shared === undefined ? Effect.void : PubSub.publish(shared, t)
          ),
        { discard: true }
      )
    // A step that makes no transition (every call while closed) is one atomic
    // `Ref.modify`. One that does is redone under the lock, which it keeps
    // until its transitions are published: updates are never lost and
    // transitions are published in the order they happen.
    const NEEDS_LOCK: unique symbol = Symbol.for("effect-ai-resilience/CircuitBreaker/needsLock") as never
    const step = <B>(f: (core: Core, now: number) => Step<B>): Effect.Effect<B> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(
          Ref.modify(ref, (core): readonly [B | typeof NEEDS_LOCK, Core] => {
            const [result, next, transitions] = f(core, now)
            return transitions.length === 0 ? [result, next] : [NEEDS_LOCK, core]
          }),
          (fast) =>
            fast !== NEEDS_LOCK ? Effect.succeed(fast as B) : Effect.uninterruptible(lock.withPermits(1)(
              Effect.flatMap(Clock.currentTimeMillis, (later) =>
                Effect.flatMap(
                  Ref.modify(ref, (core) => {
                    const [result, next, transitions] = f(core, later)
                    return [[result, transitions] as const, next]
                  }),
                  ([result, transitions]) => Effect.as(publish(transitions), result)
                ))
            ))
        ))

    const guard = (admission: typeof admit) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          Effect.flatMap(step(admission), (admitted) => admitted),
          (permit) =>
            Effect.onExit(
              restore(effect),
              (exit) => step((core, now) => settle(core, now, permit, outcomeOf(options.isFailure, exit)))
            )
        )
      )

    return {
      model,
      state: Effect.clockWith((clock) => Effect.map(Ref.get(ref), (core) => effectiveState(core, clock.unsafeCurrentTimeMillis()))),
      snapshot: Effect.clockWith((clock) => Effect.map(Ref.get(ref), (core) => view(core, clock.unsafeCurrentTimeMillis()))),
      // built when read (most breakers are never watched alone)
      get changes() {
        return Effect.flatMap(ownHub, (h) => Stream.fromPubSub(h, { scoped: true }))
      },
      withBreaker: guard(admit),
      lastResort: guard(admitLastResort)
    } satisfies CircuitBreaker
  })

/**
 * A breaker for `model`. Fails with {@link InvalidCircuitBreakerOptions}
 * naming the field when an option is out of range.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, HardFailure } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("gemini-3-pro-image-preview", { minimumCalls: 10 })
 *   const overloaded = new HardFailure({
 *     reason: "Overloaded", provider: "gemini", model: breaker.model, status: 503, message: "overloaded"
 *   })
 *   yield* Effect.either(breaker.withBreaker(Effect.fail(overloaded)))
 *   return yield* breaker.snapshot // { state: "closed", calls: 1, failures: 1, … }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  model: string,
  options?: CircuitBreakerOptions
): Effect.Effect<CircuitBreaker, InvalidCircuitBreakerOptions> =>
  Effect.flatMap(resolve(options, undefined), (resolved) => fromResolved(model, resolved, undefined))

// ---------------------------------------------------------------------------
// one breaker per model

/**
 * All breakers, one per model, created on first use.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * // log every model's state changes for a status page
 * const watch = Effect.gen(function*() {
 *   const breakers = yield* CircuitBreaker.CircuitBreakers
 *   const transitions = yield* breakers.changes // subscribed from here on
 *   yield* Stream.runForEach(transitions, (t) => Effect.log(`${t.model}: ${t.from} → ${t.to} (${t.reason})`))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
export interface CircuitBreakersService {
  /** The breaker of `model` (the same one on every call). */
  readonly get: (model: string) => Effect.Effect<CircuitBreaker>
  /** Every breaker made so far, in order of creation. */
  readonly all: Effect.Effect<ReadonlyArray<CircuitBreaker>>
  /**
   * Subscribe to every model's transitions: the subscription is made when
   * this effect runs (nothing published after that is missed) and lasts as
   * long as the scope. Each run is a new subscription; run each stream once.
   */
  readonly changes: Effect.Effect<Stream.Stream<Transition>, never, Scope.Scope>
}

/**
 * The breakers in scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const breakers = yield* CircuitBreaker.CircuitBreakers
 *   const breaker = yield* breakers.get("seedream-4.5")
 *   return yield* breaker.withBreaker(Effect.succeed("an image"))
 * }).pipe(Effect.provide(CircuitBreaker.layer()))
 * ```
 *
 * @since 0.1.0
 */
export class CircuitBreakers extends Context.Tag("effect-ai-resilience/CircuitBreakers")<
  CircuitBreakers,
  CircuitBreakersService
>() {}

/**
 * A {@link CircuitBreakers} service. `options` apply to every model;
 * `perModel` overrides them for the models it names. Every option (each
 * model's merged options included) is checked when the layer is built, so a
 * mistake fails with {@link InvalidCircuitBreakerOptions} at start-up, naming
 * the field (`"perModel.veo-3.openDuration"`).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-ai-resilience"
 *
 * const Breakers = CircuitBreaker.layer({
 *   perModel: { "veo-3": { consecutiveFailures: 2, openDuration: "15 minutes" } }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options?: CircuitBreakerOptions & { readonly perModel?: Readonly<Record<string, CircuitBreakerOptions>> | undefined }
): Layer.Layer<CircuitBreakers, InvalidCircuitBreakerOptions> =>
  Layer.effect(
    CircuitBreakers,
    Effect.gen(function*() {
      const base = definedOnly(options)
      const shared = yield* resolve(base, undefined)
      const perModel = new Map<string, Resolved>()
      const overrides: unknown = options?.perModel
      if (overrides !== undefined) {
        if (typeof overrides !== "object" || overrides === null) {
          return yield* new InvalidCircuitBreakerOptions({
            field: "perModel",
            message: `perModel: must be an object of options by model, got ${show(overrides)}`
          })
        }
        for (const [model, own] of Object.entries(overrides)) {
          perModel.set(model, yield* resolve({ ...base, ...definedOnly(own) }, `perModel.${model}`))
        }
      }
      const hub = yield* PubSub.unbounded<Transition>()
      // One map, added to in place under the ref's lock: copying it for every new
      // model made a config with thousands of models quadratic to start.
      const breakers = yield* SynchronizedRef.make(new Map<string, CircuitBreaker>())
      const create = (model: string) =>
        Effect.uninterruptible(SynchronizedRef.modifyEffect(breakers, (map) => {
          const found = map.get(model)
          if (found !== undefined) return Effect.succeed([found, map] as const)
          return Effect.map(
            fromResolved(model, perModel.get(model) ?? shared, hub),
            (breaker) => [breaker, map.set(model, breaker)] as const
          )
        }))
      return CircuitBreakers.of({
        get: (model) =>
          Effect.flatMap(SynchronizedRef.get(breakers), (map) => {
            const found = map.get(model)
            return found === undefined ? create(model) : Effect.succeed(found)
          }),
        all: Effect.map(SynchronizedRef.get(breakers), (map) => Array.from(map.values())),
        changes: Stream.fromPubSub(hub, { scoped: true })
      })
    })
  )
