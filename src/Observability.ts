/**
 * Observability on Effect's own machinery: `Metric` counters,
 * gauges and a latency histogram; a span per attempt (and per request) through
 * Effect's `Tracer`, so `@effect/opentelemetry` exports them unchanged; and
 * structured log lines (`Effect.logWithLevel` + annotations) that carry the
 * provider's error `message` and `param`, the request id and retry-after —
 * never a key.
 *
 * Every free-text value (messages, `param`, codes, request ids) goes through
 * `Classification.scrubSecrets` with the configured {@link ObservabilityOptions}
 * `secrets` (well-known key shapes — `sk-…`, `AIza…`, masked echoes — are
 * removed even without them). Headers and raw bodies are never emitted.
 *
 * The metrics are module-level values in Effect's global registry: read them
 * with `Metric.value`, `Metric.snapshot` or {@link snapshot}, or export them
 * with `@effect/opentelemetry`.
 *
 * | metric | kind | tags (in this order) |
 * |---|---|---|
 * | `ai.attempts` ({@link attempts}) | counter | `model`, `outcome` (`success` / `failure` / `skipped`) |
 * | `ai.attempt.failures` ({@link failures}) | counter | `model`, `category`, `reason` |
 * | `ai.attempt.skips` ({@link skips}) | counter | `model`, `reason` (`CircuitOpen` / `Deadline`) |
 * | `ai.attempt.duration` ({@link attemptDuration}) | histogram, seconds | `model`, `outcome` |
 * | `ai.breaker.transitions` ({@link breakerTransitions}) | counter | `model`, `from`, `to` |
 * | `ai.breaker.state` ({@link breakerState}) | gauge (0 closed, 1 half-open, 2 open) | `model` |
 * | `ai.requests.served` ({@link requestsServed}) | counter | `model`, `fellBack` |
 * | `ai.requests.failed` ({@link requestsFailed}) | counter | `operation`, `reason` |
 * | `ai.probes` ({@link probes}) | counter | `model`, `outcome` |
 * | `ai.cost` ({@link cost}) | counter | `model`, `source` (`traffic` / `probe`) |
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, Exit, FiberRef, Layer, LogLevel, Metric, MetricBoundaries, MetricKey, type MetricKeyType, MetricLabel, Option, type Redacted, type Scope, Stream } from "effect"
import { CircuitBreakers, type State, type Transition } from "./CircuitBreaker.js"
import { category as categoryOf, type GenerationFailure, isGenerationFailure } from "./Failure.js"
import type { AttemptRecord } from "./FallbackChain.js"
import { errorFields, failureFields, type Fields, Key, omit, type Scrubber, scrub, tagOf } from "./internal/observability/fields.js"
import * as Samples from "./internal/observability/snapshot.js"

// ---------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------

/**
 * Upper bounds (seconds) of the latency histogram's buckets, for calls from
 * 0.1 s to 300 s: a fast text call, a 3–5 s flash image, the normal 20–40 s
 * image call, the degraded 60–100+ s one, the 120 s per-call and
 * 180 s read time-outs (the defaults). Values above 300 s fall in the `Infinity` bucket.
 *
 * @since 0.1.0
 */
export const LATENCY_BOUNDARIES: ReadonlyArray<number> = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300]

// Each metric of this module remembers its key, so a tagged variant is made
// from the key with its tags (one registry hook, looked up once) rather than
// with \`Metric.tagged\`, whose every update builds and hashes a new key.
const keys = new WeakMap<object, MetricKey.MetricKey<MetricKeyType.MetricKeyType<unknown, unknown>>>()

const keyed = <Type extends MetricKeyType.MetricKeyType<any, any>>(key: MetricKey.MetricKey<Type>) => {
  const metric = Metric.fromMetricKey(key)
  keys.set(metric, key as never)
  return metric
}

/**
 * Upstream attempts (one HTTP exchange with one model), and models skipped
 * without a call. Tags: `model`, `outcome` (`success` / `failure` / `skipped`).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Observability } from "effect-ai-resilience"
 *
 * const failed = Metric.value(
 *   Observability.attempts.pipe(Metric.tagged("model", "gemini-3-pro-image-preview"), Metric.tagged("outcome", "failure"))
 * ).pipe(Effect.map((state) => state.count))
 * ```
 *
 * @since 0.1.0
 */
export const attempts = keyed(MetricKey.counter("ai.attempts", {
  description: "Attempts by model and outcome (success, failure, skipped)",
  incremental: true
}))

/**
 * Failed attempts by failure category (`hard` / `soft` / `silent`) and reason
 * (`Overloaded`, `RateLimited`, `ContentFiltered`, …). Tags: `model`,
 * `category`, `reason`.
 *
 * @since 0.1.0
 */
export const failures = keyed(MetricKey.counter("ai.attempt.failures", {
  description: "Failed attempts by model, failure category and reason",
  incremental: true
}))

/**
 * Models skipped without a call. Tags: `model`, `reason` (`CircuitOpen`, `Deadline`).
 *
 * @since 0.1.0
 */
export const skips = keyed(MetricKey.counter("ai.attempt.skips", {
  description: "Models skipped without a call, by reason (CircuitOpen, Deadline)",
  incremental: true
}))

/**
 * Duration of attempts that made a call, in seconds ({@link LATENCY_BOUNDARIES}).
 * Tags: `model`, `outcome` (`success` / `failure`). Skipped models are not timed.
 *
 * @since 0.1.0
 */
export const attemptDuration = keyed(MetricKey.histogram(
  "ai.attempt.duration",
  MetricBoundaries.fromIterable(LATENCY_BOUNDARIES),
  "Duration of one attempt in seconds, by model and outcome"
))

/**
 * Circuit breaker transitions. Tags: `model`, `from`, `to` (`closed` / `open` / `half-open`).
 *
 * @since 0.1.0
 */
export const breakerTransitions = keyed(MetricKey.counter("ai.breaker.transitions", {
  description: "Circuit breaker transitions by model, from and to",
  incremental: true
}))

/**
 * Each model's breaker state after its last transition: 0 closed, 1
 * half-open, 2 open ({@link stateValue}). Tag: `model`.
 *
 * @since 0.1.0
 */
export const breakerState = keyed(MetricKey.gauge("ai.breaker.state", {
  description: "Circuit breaker state by model: 0 closed, 1 half-open, 2 open"
}))

/**
 * Requests that got a result. Tags: `model` (the one that served; `degraded`
 * for a stand-in), `fellBack` (`"true"` when it was not the primary).
 *
 * @since 0.1.0
 */
export const requestsServed = keyed(MetricKey.counter("ai.requests.served", {
  description: "Requests served, by serving model and whether a fallback served",
  incremental: true
}))

/**
 * Requests that got no result. Tags: `operation`, `reason` (`AllModelsFailed`,
 * `DeadlineExceeded`, or the reason of a failure that surfaced at once, e.g. `BadRequest`).
 *
 * @since 0.1.0
 */
export const requestsFailed = keyed(MetricKey.counter("ai.requests.failed", {
  description: "Requests that got no result, by operation and reason",
  incremental: true
}))

/**
 * Health probes sent to unavailable models. Tags: `model`, `outcome` (`success` / `failure`).
 *
 * @since 0.1.0
 */
export const probes = keyed(MetricKey.counter("ai.probes", {
  description: "Health probes by model and outcome",
  incremental: true
}))

/**
 * Money spent: priced successes of real traffic and of probes (failures cost
 * nothing — a 503 is not billed). Tags: `model`, `source` (`traffic` / `probe`).
 *
 * @since 0.1.0
 */
export const cost = keyed(MetricKey.counter("ai.cost", {
  description: "Cost of priced successful calls, by model and source (traffic, probe)",
  incremental: true
}))

const METRIC_NAMES: ReadonlySet<string> = new Set([
  "ai.attempts",
  "ai.attempt.failures",
  "ai.attempt.skips",
  "ai.attempt.duration",
  "ai.breaker.transitions",
  "ai.breaker.state",
  "ai.requests.served",
  "ai.requests.failed",
  "ai.probes",
  "ai.cost"
])

/** Apply tags in the documented order (a metric key's tags are ordered). */
// Tagged metrics are memoized per metric and tag values.
const taggedCache = new WeakMap<object, Map<string, unknown>>()
const TAGGED_CACHE_LIMIT = 10_000

const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, ...tags: ReadonlyArray<readonly [string, string]>): Metric.Metric<Type, In, Out> => {
  let byTags = taggedCache.get(metric)
  if (byTags === undefined) {
    byTags = new Map()
    taggedCache.set(metric, byTags)
  }
  const id = tags.length === 1 ? tags[0]![1] : tags.map(([, value]) => value).join("\u0000")
  const found = byTags.get(id) as Metric.Metric<Type, In, Out> | undefined
  if (found !== undefined) return found
  const key = keys.get(metric)
  const made = key === undefined
    ? tags.reduce((m, [name, value]) => Metric.tagged(m, name, value), metric)
    : Metric.fromMetricKey(MetricKey.taggedWithLabels(key, tags.map(([name, value]) => MetricLabel.make(name, value)))) as unknown as Metric.Metric<Type, In, Out>
  // unbounded model names (a misconfiguration) must not grow memory without limit
  if (byTags.size >= TAGGED_CACHE_LIMIT) byTags.clear()
  byTags.set(id, made)
  return made
}

/**
 * The {@link breakerState} gauge's value for a state.
 *
 * @since 0.1.0
 */
export const stateValue = (state: State): number => (state === "closed" ? 0 : state === "half-open" ? 1 : 2)

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

/**
 * Options of the observability functions, provided with {@link layer} or
 * {@link withOptions} (the defaults apply when none are provided).
 *
 * | option | default | what |
 * |---|---|---|
 * | `secrets` | `[]` | keys to scrub from every emitted string, besides the well-known shapes (`sk-…`, `AIza…`, masked echoes), which are always scrubbed |
 * | `failureLogLevel` | `Warning` | failed attempts, requests without a result, degraded results |
 * | `changeLogLevel` | `Info` | skipped models, fallbacks serving, breaker transitions other than opening |
 * | `openLogLevel` | `Warning` | a breaker opening |
 * | `detailLogLevel` | `Debug` | successful attempts, the primary serving, probes |
 * | `messageLimit` | 1000 characters | longer messages are cut (with `…`) in logs and span attributes |
 * | `attemptSpanName` | `"ai.attempt"` | name of the span of one attempt ({@link attemptSpan}) |
 * | `requestSpanName` | `"ai.request"` | name of the span of one request ({@link requestSpan}) |
 *
 * A level of `LogLevel.None` turns those lines off.
 *
 * @since 0.1.0
 */
export interface ObservabilityOptions {
  readonly secrets?: ReadonlyArray<Redacted.Redacted> | undefined
  readonly failureLogLevel?: LogLevel.LogLevel | undefined
  readonly changeLogLevel?: LogLevel.LogLevel | undefined
  readonly openLogLevel?: LogLevel.LogLevel | undefined
  readonly detailLogLevel?: LogLevel.LogLevel | undefined
  readonly messageLimit?: number | undefined
  readonly attemptSpanName?: string | undefined
  readonly requestSpanName?: string | undefined
}

/**
 * Options with every field set.
 *
 * @since 0.1.0
 */
export type ResolvedObservabilityOptions = { readonly [K in keyof ObservabilityOptions]-?: NonNullable<ObservabilityOptions[K]> }

/**
 * The defaults (see {@link ObservabilityOptions}).
 *
 * @since 0.1.0
 */
export const defaults: ResolvedObservabilityOptions = {
  secrets: [],
  failureLogLevel: LogLevel.Warning,
  changeLogLevel: LogLevel.Info,
  openLogLevel: LogLevel.Warning,
  detailLogLevel: LogLevel.Debug,
  messageLimit: 1000,
  attemptSpanName: "ai.attempt",
  requestSpanName: "ai.request"
}

/**
 * The options in scope. Optional: the functions of this module use
 * {@link defaults} when it is absent, so they require nothing.
 *
 * @since 0.1.0
 */
export class ObservabilityConfig extends Context.Tag("effect-ai-resilience/ObservabilityConfig")<
  ObservabilityConfig,
  ResolvedObservabilityOptions
>() {}

const resolve = (options: ObservabilityOptions): ResolvedObservabilityOptions => {
  const limit = options.messageLimit
  return {
    secrets: options.secrets ?? defaults.secrets,
    failureLogLevel: options.failureLogLevel ?? defaults.failureLogLevel,
    changeLogLevel: options.changeLogLevel ?? defaults.changeLogLevel,
    openLogLevel: options.openLogLevel ?? defaults.openLogLevel,
    detailLogLevel: options.detailLogLevel ?? defaults.detailLogLevel,
    // a limit that is not a number falls back to the default; negatives mean 0
    messageLimit: limit === undefined || Number.isNaN(limit) ? defaults.messageLimit : Math.max(0, Math.floor(limit)),
    attemptSpanName: options.attemptSpanName ?? defaults.attemptSpanName,
    requestSpanName: options.requestSpanName ?? defaults.requestSpanName
  }
}

/**
 * Provide options (e.g. the configured keys to scrub) to everything built on this layer.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { Observability } from "effect-ai-resilience"
 *
 * const ObservabilityLive = Observability.layer({ secrets: [Redacted.make(process.env.GATEWAY_KEY ?? "")] })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: ObservabilityOptions = {}): Layer.Layer<ObservabilityConfig> =>
  Layer.succeed(ObservabilityConfig, resolve(options))

/**
 * Run `self` with these options.
 *
 * @since 0.1.0
 */
export const withOptions = (options: ObservabilityOptions) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(self, ObservabilityConfig, resolve(options))

const config: Effect.Effect<ResolvedObservabilityOptions> = Effect.map(
  Effect.serviceOption(ObservabilityConfig),
  Option.getOrElse(() => defaults)
)

const scrubberOf = (cfg: ResolvedObservabilityOptions): Scrubber => ({ secrets: cfg.secrets, messageLimit: cfg.messageLimit })

/**
 * Log one line at `level` — built only when the fiber's minimum log level
 * lets it through (most lines are `Debug`, off by default: building their
 * annotations would cost more than everything else on the success path).
 */
const emit = (level: LogLevel.LogLevel, line: () => readonly [message: string, annotations: Fields]): Effect.Effect<void> =>
  level._tag === "None" ? Effect.void : Effect.flatMap(FiberRef.get(FiberRef.currentMinimumLogLevel), (minimum) => {
    if (LogLevel.greaterThan(minimum, level)) return Effect.void
    const [message, annotations] = line()
    return Effect.annotateLogs(Effect.logWithLevel(level, message), annotations)
  })

// ---------------------------------------------------------------------------
// recording
// ---------------------------------------------------------------------------

/**
 * What the caller knows about an attempt besides its {@link AttemptRecord}.
 *
 * @since 0.1.0
 */
export interface AttemptContext {
  /** Provider instance name (a failure's own `provider` is used when this is absent). */
  readonly provider?: string | undefined
  /** `"text"`, `"image"`, `"video"`, … */
  readonly operation?: string | undefined
  /** The failure behind a `"failure"` record: adds `param`, code, request id and retry-after to the log. */
  readonly failure?: GenerationFailure | undefined
}

/**
 * Count one attempt (or skipped model) and log it: {@link attempts};
 * {@link failures} for a failure; {@link skips} for a skipped model;
 * {@link attemptDuration} unless skipped; {@link cost} for a priced success.
 * A failure is logged at `failureLogLevel` with its provider, model, status,
 * reason, message and `param`, code, request id and retry-after (from
 * `context.failure`), all scrubbed; a skip at `changeLogLevel`; a success at
 * `detailLogLevel`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain, HardFailure, Observability } from "effect-ai-resilience"
 *
 * const failure = new HardFailure({
 *   reason: "Overloaded", provider: "gemini", model: "gemini-3-pro-image-preview", status: 503,
 *   message: "The model is overloaded. Please try again later."
 * })
 * const record = FallbackChain.AttemptRecord.make({
 *   model: failure.model, attempt: 1, outcome: "failure", category: "hard",
 *   reason: failure.reason, status: 503, message: failure.message, durationMs: 41_000
 * })
 * const program = Observability.recordAttempt(record, { operation: "image", failure })
 * ```
 *
 * @since 0.1.0
 */
export const recordAttempt = (record: AttemptRecord, context: AttemptContext = {}): Effect.Effect<void> =>
  Effect.flatMap(config, (cfg) => {
    const model = record.model
    const failure = context.failure
    const reason = record.reason ?? failure?.reason ?? "Unknown"
    const metrics: Array<Effect.Effect<void>> = [Metric.increment(tagged(attempts, ["model", model], ["outcome", record.outcome]))]
    if (record.outcome === "failure") {
      const category = record.category ?? (failure === undefined ? "unknown" : categoryOf(failure))
      metrics.push(Metric.increment(tagged(failures, ["model", model], ["category", category], ["reason", reason])))
    }
    if (record.outcome === "skipped") {
      metrics.push(Metric.increment(tagged(skips, ["model", model], ["reason", reason])))
    } else {
      metrics.push(Metric.update(tagged(attemptDuration, ["model", model], ["outcome", record.outcome]), record.durationMs / 1000))
    }
    if (record.outcome === "success" && record.cost !== undefined && record.cost > 0) {
      metrics.push(Metric.incrementBy(tagged(cost, ["model", model], ["source", "traffic"]), record.cost))
    }
    const base = (): Fields => {
      const fields: Fields = { [Key.model]: model, [Key.attempt]: record.attempt, [Key.outcome]: record.outcome, [Key.durationMs]: record.durationMs }
      if (context.operation !== undefined) fields[Key.operation] = context.operation
      return fields
    }
    const log = record.outcome === "success"
      ? emit(cfg.detailLogLevel, () => {
        const fields = base()
        if (context.provider !== undefined) fields[Key.provider] = context.provider
        if (record.cost !== undefined) fields[Key.cost] = record.cost
        return [`${model} attempt ${record.attempt} succeeded in ${record.durationMs} ms`, fields]
      })
      : record.outcome === "skipped"
      ? emit(cfg.changeLogLevel, () => {
        const fields = base()
        if (context.provider !== undefined) fields[Key.provider] = context.provider
        fields[Key.reason] = reason
        const why = reason === "CircuitOpen" ? "its circuit is open" : reason === "Deadline" ? "the deadline was reached" : reason
        return [`${model} skipped without a call: ${why}`, fields]
      })
      : emit(cfg.failureLogLevel, () => {
        const s = scrubberOf(cfg)
        const detail: Fields = failure === undefined
          ? {
            [Key.reason]: reason,
            ...(record.category === undefined ? {} : { [Key.category]: record.category }),
            ...(record.status === undefined ? {} : { [Key.status]: record.status }),
            ...(record.message === undefined ? {} : { [Key.message]: scrub(record.message, s) })
          }
          : failureFields(failure, s)
        const fields: Fields = { ...base(), ...detail, [Key.reason]: reason }
        if (context.provider !== undefined) fields[Key.provider] = context.provider
        const status = fields[Key.status]
        const message = fields[Key.message]
        const param = fields[Key.param]
        const line = `${model} attempt ${record.attempt} failed: ${reason}${status === undefined ? "" : ` (HTTP ${status})`}` +
          `${message === undefined ? "" : `: ${message}`}${param === undefined ? "" : ` [param: ${param}]`}`
        return [line, fields]
      })
    metrics.push(log)
    return Effect.all(metrics, { discard: true })
  })

/**
 * Count one breaker transition ({@link breakerTransitions}), set the model's
 * {@link breakerState} gauge and log one line: at `openLogLevel` when it
 * opens, `changeLogLevel` otherwise.
 *
 * @since 0.1.0
 */
export const recordTransition = (t: Transition): Effect.Effect<void> =>
  Effect.flatMap(config, (cfg) =>
    Effect.all([
      Metric.increment(tagged(breakerTransitions, ["model", t.model], ["from", t.from], ["to", t.to])),
      Metric.set(tagged(breakerState, ["model", t.model]), stateValue(t.to)),
      emit(t.to === "open" ? cfg.openLogLevel : cfg.changeLogLevel, () => {
        const reason = scrub(t.reason, scrubberOf(cfg))
        return [`circuit for ${t.model}: ${t.from} → ${t.to} (${reason})`, {
          [Key.model]: t.model,
          [Key.breakerFrom]: t.from,
          [Key.breakerTo]: t.to,
          [Key.breakerReason]: reason,
          [Key.breakerAt]: new Date(t.at).toISOString()
        }]
      })
    ], { discard: true }))

/**
 * Record every breaker transition ({@link recordTransition}) for as long as
 * the scope lives. It has subscribed to `CircuitBreakers.changes` when it returns.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, Observability } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   yield* Observability.trackBreakers
 *   // … calls through the breakers: each transition is counted and logged
 * }).pipe(Effect.scoped, Effect.provide(CircuitBreaker.layer()))
 * ```
 *
 * @since 0.1.0
 */
export const trackBreakers: Effect.Effect<void, never, CircuitBreakers | Scope.Scope> = Effect.gen(function*() {
  const breakers = yield* CircuitBreakers
  yield* Effect.forkScoped(Stream.runForEach(yield* breakers.changes, recordTransition))
})

/**
 * {@link trackBreakers} as a layer: transitions are recorded while the layer lives.
 *
 * @since 0.1.0
 */
export const trackBreakersLayer: Layer.Layer<never, never, CircuitBreakers> = Layer.scopedDiscard(trackBreakers)

/**
 * What {@link recordServed} needs of a result: `FallbackChain.Served` fits.
 *
 * @since 0.1.0
 */
export interface ServedSummary {
  readonly model: string
  readonly fellBack: boolean
  readonly degraded?: boolean | undefined
  readonly rank?: number | undefined
  readonly cost?: number | undefined
  readonly attempts?: ReadonlyArray<unknown> | undefined
}

/**
 * What the caller knows about a request.
 *
 * @since 0.1.0
 */
export interface RequestContext {
  /** `"text"`, `"image"`, `"video"`, … */
  readonly operation?: string | undefined
}

const servedFields = (served: ServedSummary, context: RequestContext): Fields => ({
  [Key.servedBy]: served.model,
  [Key.fellBack]: served.fellBack,
  ...(served.degraded === undefined ? {} : { [Key.degraded]: served.degraded }),
  ...(served.rank === undefined ? {} : { [Key.rank]: served.rank }),
  ...(served.cost === undefined ? {} : { [Key.cost]: served.cost }),
  ...(served.attempts === undefined ? {} : { [Key.attempts]: served.attempts.length }),
  ...(context.operation === undefined ? {} : { [Key.operation]: context.operation })
})

/**
 * Count a request that got a result ({@link requestsServed}). Logged at
 * `changeLogLevel` when a fallback served, at `failureLogLevel` when it is a
 * degraded stand-in, at `detailLogLevel` otherwise. (Cost is counted per
 * attempt by {@link recordAttempt}, not here.)
 *
 * @since 0.1.0
 */
export const recordServed = (served: ServedSummary, context: RequestContext = {}): Effect.Effect<void> =>
  Effect.flatMap(config, (cfg) =>
    Effect.zipRight(
      Metric.increment(tagged(requestsServed, ["model", served.model], ["fellBack", served.fellBack ? "true" : "false"])),
      served.degraded === true
        ? emit(cfg.failureLogLevel, () => ["every model failed: served a degraded stand-in", servedFields(served, context)])
        : served.fellBack
        ? emit(cfg.changeLogLevel, () => [
          `served by fallback model ${served.model}${served.rank === undefined ? "" : ` (rank ${served.rank})`}`,
          servedFields(served, context)
        ])
        : emit(cfg.detailLogLevel, () => [`served by ${served.model}`, servedFields(served, context)])
    ))

// a classified failure is counted by its reason; anything else (AllModelsFailed, DeadlineExceeded) by its tag
const requestReason = (error: unknown): string => isGenerationFailure(error) ? error.reason : tagOf(error) ?? "Unknown"

/**
 * Count a request that got no result ({@link requestsFailed}) and log it at
 * `failureLogLevel` with its (scrubbed) message.
 *
 * @since 0.1.0
 */
export const recordRequestFailed = (error: unknown, context: RequestContext = {}): Effect.Effect<void> =>
  Effect.flatMap(config, (cfg) => {
    const reason = requestReason(error)
    return Effect.zipRight(
      Metric.increment(tagged(requestsFailed, ["operation", context.operation ?? "unknown"], ["reason", reason])),
      emit(cfg.failureLogLevel, () => {
        const fields: Fields = { ...omit(errorFields(error, scrubberOf(cfg)), Key.outcome), [Key.reason]: reason }
        if (context.operation !== undefined) fields[Key.operation] = context.operation
        const message = fields[Key.message]
        return [`request failed: ${reason}${message === undefined ? "" : `: ${message}`}`, fields]
      })
    )
  })

/**
 * One health probe of an unavailable model.
 *
 * @since 0.1.0
 */
export interface ProbeRecord {
  readonly model: string
  readonly outcome: "success" | "failure"
  readonly durationMs?: number | undefined
  /** What the probe cost (counted in {@link cost} with `source: "probe"`). */
  readonly cost?: number | undefined
  /** Failure reason, for a failed probe. */
  readonly reason?: string | undefined
}

/**
 * Count a health probe ({@link probes}) and its cost; logged at `detailLogLevel`.
 *
 * @since 0.1.0
 */
export const recordProbe = (probe: ProbeRecord): Effect.Effect<void> =>
  Effect.flatMap(config, (cfg) =>
    Effect.all([
      Metric.increment(tagged(probes, ["model", probe.model], ["outcome", probe.outcome])),
      probe.cost !== undefined && probe.cost > 0 ? Metric.incrementBy(tagged(cost, ["model", probe.model], ["source", "probe"]), probe.cost) : Effect.void,
      emit(cfg.detailLogLevel, () => {
        const fields: Fields = { [Key.model]: probe.model, [Key.outcome]: probe.outcome }
        if (probe.durationMs !== undefined) fields[Key.durationMs] = probe.durationMs
        if (probe.cost !== undefined) fields[Key.cost] = probe.cost
        if (probe.reason !== undefined) fields[Key.reason] = probe.reason
        return [`probe of ${probe.model}: ${probe.outcome}${probe.reason === undefined ? "" : ` (${probe.reason})`}`, fields]
      })
    ], { discard: true }))

// ---------------------------------------------------------------------------
// spans
// ---------------------------------------------------------------------------

/**
 * Identifies one attempt.
 *
 * @since 0.1.0
 */
export interface AttemptInfo {
  readonly model: string
  /** 1-based attempt number within this model. */
  readonly attempt: number
  readonly operation?: string | undefined
  readonly provider?: string | undefined
}

const exitFields = <A, E>(exit: Exit.Exit<A, E>, s: Scrubber, onSuccess: (a: A) => Fields): Fields => {
  if (Exit.isSuccess(exit)) return onSuccess(exit.value)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return errorFields(failure.value, s)
  return { [Key.outcome]: Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect" }
}

/**
 * Run one attempt inside a span (`ai.attempt` by default) whose attributes
 * are `ai.model`, `ai.attempt`, `ai.operation`, `ai.provider` from the start
 * and, once it ends, `ai.outcome` (`success` / `failure` / `skipped` /
 * `interrupted` / `defect`) and for a failure `ai.failure.category`,
 * `ai.failure.reason`, `http.response.status_code`, `ai.failure.message`,
 * `ai.failure.param`, `ai.failure.code`, `ai.request_id`, `ai.retry_after_ms`
 * (scrubbed). The adapter's and the HTTP client's spans nest inside it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ImageGeneration, Observability, Provider } from "effect-ai-resilience"
 *
 * const draw = Effect.gen(function*() {
 *   const provider = yield* Provider.Provider
 *   const request = ImageGeneration.ImageRequest.make({ model: "seedream-4.5", prompt: "A lighthouse" })
 *   return yield* provider.generateImage(request).pipe(
 *     Observability.attemptSpan({ model: request.model, attempt: 1, operation: "image" })
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 */
export const attemptSpan = (info: AttemptInfo) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(config, (cfg) => {
    const attributes: Fields = { [Key.model]: info.model, [Key.attempt]: info.attempt }
    if (info.operation !== undefined) attributes[Key.operation] = info.operation
    if (info.provider !== undefined) attributes[Key.provider] = info.provider
    return self.pipe(
      Effect.onExit((exit) => Effect.annotateCurrentSpan(exitFields(exit, scrubberOf(cfg), () => ({ [Key.outcome]: "success" })))),
      // the stack of this combinator says nothing about the caller
      Effect.withSpan(cfg.attemptSpanName, { attributes, captureStackTrace: false })
    )
  })

/**
 * Run one request (a whole fallback chain) inside a span (`ai.request` by
 * default) with `ai.operation`; once it ends: `ai.served_by`, `ai.fell_back`,
 * `ai.degraded`, `ai.rank`, `ai.cost`, `ai.attempts` (how many) for a result,
 * or `ai.outcome: failure` with `ai.failure.reason` and message for an error.
 * The attempts' spans ({@link attemptSpan}) nest inside it.
 *
 * @since 0.1.0
 */
export const requestSpan = (context: RequestContext = {}) =>
<A extends ServedSummary, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(config, (cfg) =>
    self.pipe(
      Effect.onExit((exit) =>
        Effect.annotateCurrentSpan(
          exitFields(exit, scrubberOf(cfg), (served) => ({ [Key.outcome]: "success", ...servedFields(served, {}) }))
        )
      ),
      Effect.withSpan(cfg.requestSpanName, {
        attributes: context.operation === undefined ? {} : { [Key.operation]: context.operation },
        captureStackTrace: false
      })
    ))

/**
 * Everything for one request: its span ({@link requestSpan}), and
 * {@link recordServed} or {@link recordRequestFailed} when it ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Observability, ResilientClient } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ResilientClient.ResilientClient
 *   return yield* client.generateImage({ prompt: "A lighthouse" }).pipe(Observability.observeRequest({ operation: "image" }))
 * })
 * ```
 *
 * @since 0.1.0
 */
export const observeRequest = (context: RequestContext = {}) =>
<A extends ServedSummary, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  self.pipe(
    Effect.tapBoth({
      onSuccess: (served) => recordServed(served, context),
      onFailure: (error) => recordRequestFailed(error, context)
    }),
    requestSpan(context)
  )

// ---------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------

/**
 * One reading of one of this module's metrics for one tag set. Histogram
 * buckets are `[upper bound in seconds, cumulative count]`, ending with `Infinity`.
 *
 * @since 0.1.0
 */
export type MetricSample = Samples.Sample

/**
 * The current value of every metric of this module, for every tag set seen,
 * sorted by name and tags — e.g. for a `--json` report.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Observability } from "effect-ai-resilience"
 *
 * const overloads = Observability.snapshot.pipe(
 *   Effect.map((samples) => samples.filter((s) => s.name === "ai.attempt.failures" && s.tags.reason === "Overloaded"))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const snapshot: Effect.Effect<ReadonlyArray<MetricSample>> = Effect.map(
  Metric.snapshot,
  (pairs) => Samples.select(pairs, METRIC_NAMES)
)

