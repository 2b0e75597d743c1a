/**
 * The provider simulator: a real HTTP server on the loopback interface that
 * speaks the wire formats of AI generation APIs (OpenAI-compatible chat,
 * images and videos in three dialects, Gemini `generateContent`) and fails
 * the way real providers fail (HTTP errors with their real bodies, soft failures in a 200, image and video quirks), with a per-model fault
 * profile, outage windows, a daily load shape and a simulated clock.
 *
 * It is deterministic under a seed: every model draws from its own PRNG
 * (seeded from `hash(seed, modelId)`), one draw sequence per request in
 * arrival order. Simulated time runs `timeScale` times faster than Effect's
 * `Clock` (so `TestClock` drives it in tests).
 *
 * Any outcome can be forced from a prompt: `[sim:overloaded]`,
 * `[sim:connectionReset]`, ... (every {@link Fault}), `[sim:ok]`,
 * `[sim:tool]` (answer with a tool call) and `[sim:reply=<text>]` (answer
 * exactly `<text>`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Simulator from "effect-ai-resilience/simulator"
 *
 * const program = Effect.gen(function*() {
 *   const sim = yield* Simulator.Simulator
 *   console.log(`provider at ${sim.url}`)
 * }).pipe(Effect.provide(Simulator.layer(Simulator.defaultScenario)))
 * ```
 *
 * @since 0.1.0
 */
import type { ServeError } from "@effect/platform/HttpServerError"
import { Context, type Effect, Layer, type ParseResult, Schema, type Scope } from "effect"
import * as Faults from "./internal/simulator/faults.js"
import * as internal from "./internal/simulator/server.js"

/**
 * Every failure the simulator can produce.
 *
 * - `overloaded` 503, `rateLimited` 429 (with retry hints), `quotaExhausted`
 *   429, `serverError` 500, `badGateway` 502 (nginx HTML), `gatewayTimeout`
 *   504 (plain text): hard failures with the vendor's real bodies.
 * - `contentFilter`, `truncated`, `emptyOutput`: soft failures (HTTP 200 with
 *   nothing usable; images: `contentFilter` is a 400 `moderation_blocked`).
 * - `malformedJson`: HTTP 200 with a body cut off mid-JSON.
 * - `connectionReset`: the socket is destroyed without an answer.
 * - `hang`: no answer until the client or the server goes away.
 * - `oversizedBody`: HTTP 200 whose body is {@link OVERSIZED_BODY_BYTES}
 *   (5 MiB) long: the usual answer behind a padding field, produced lazily as
 *   it is read; a model's odd occurrences are chunked (no `Content-Length`),
 *   its even ones declare `Content-Length: 5242880`.
 * - `slowDrip`: HTTP 200 headers at once, then the usual answer
 *   {@link SLOW_DRIP_BYTES} bytes at a time, one piece every
 *   {@link SLOW_DRIP_INTERVAL_MS} of `Clock` time (not simulated time): a
 *   1 KB answer takes over ten minutes, past any sane read time-out.
 * - `midResponseDisconnect`: HTTP 200 headers and the first half of the
 *   answer, then the connection is closed before the body ends.
 *
 * The last three were added after the others: they come last in the draw
 * order, so existing seeds draw the same outcomes.
 *
 * @since 0.1.0
 */
export const Fault = Faults.Fault
/** @since 0.1.0 */
export type Fault = typeof Fault.Type

/**
 * All faults, in the order the random draw considers them.
 *
 * @since 0.1.0
 */
export const FAULTS: ReadonlyArray<Fault> = Faults.FAULTS

/**
 * Length of an `oversizedBody` answer, bytes (5 MiB).
 *
 * @since 0.1.0
 */
export const OVERSIZED_BODY_BYTES: number = Faults.OVERSIZED_BODY_BYTES

/**
 * Bytes per piece of a `slowDrip` answer.
 *
 * @since 0.1.0
 */
export const SLOW_DRIP_BYTES: number = Faults.SLOW_DRIP_BYTES

/**
 * `Clock` milliseconds between the pieces of a `slowDrip` answer.
 *
 * @since 0.1.0
 */
export const SLOW_DRIP_INTERVAL_MS: number = Faults.SLOW_DRIP_INTERVAL_MS

/**
 * What a request turned into: success (`"ok"`, including tool calls) or a fault.
 *
 * @since 0.1.0
 */
export type Outcome = "ok" | Fault

/**
 * What a model generates.
 *
 * @since 0.1.0
 */
export const ModelKind = Schema.Literal("text", "image", "video")
/** @since 0.1.0 */
export type ModelKind = typeof ModelKind.Type

/**
 * The wire format of a video model's task API (OpenAI, Kling and Runway differ in paths and status words).
 *
 * @since 0.1.0
 */
export const VideoDialect = Schema.Literal("openai", "kling", "runway")
/** @since 0.1.0 */
export type VideoDialect = typeof VideoDialect.Type

const Probability = Schema.Number.pipe(Schema.between(0, 1))
// finite: JSON reads 1e309 as Infinity, and an infinite latency or interval is never a setting
const NonNegative = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())
const Positive = Schema.Number.pipe(Schema.positive(), Schema.finite())
const prob = Schema.optionalWith(Probability, { default: () => 0 })

/** Slack for floating-point sums such as `0.1 + 0.2 + 0.7`. */
const SUM_EPSILON = 1e-9

/**
 * Per-request fault probabilities (each 0..1, default 0). One uniform draw
 * per request is compared against their running sum, in {@link FAULTS} order,
 * so the probabilities must sum to at most 1 (a larger sum would silently
 * starve the faults late in the order).
 *
 * @since 0.1.0
 */
export class FaultProfile extends Schema.Class<FaultProfile>("effect-ai-resilience/Simulator/FaultProfile")(
  Schema.Struct({
    overloaded: prob,
    rateLimited: prob,
    quotaExhausted: prob,
    serverError: prob,
    badGateway: prob,
    gatewayTimeout: prob,
    contentFilter: prob,
    truncated: prob,
    emptyOutput: prob,
    malformedJson: prob,
    connectionReset: prob,
    hang: prob,
    oversizedBody: prob,
    slowDrip: prob,
    midResponseDisconnect: prob
  }).pipe(
    Schema.filter((profile) => {
      const sum = Faults.FAULTS.reduce((acc, fault) => acc + profile[fault], 0)
      return sum <= 1 + SUM_EPSILON ||
        `fault probabilities must sum to at most 1, but they sum to ${Number(sum.toFixed(6))}`
    })
  )
) {}

/**
 * Lognormal latency of a successful call, in simulated milliseconds.
 *
 * @since 0.1.0
 */
export class Latency extends Schema.Class<Latency>("effect-ai-resilience/Simulator/Latency")({
  medianMs: Schema.optionalWith(NonNegative, { default: () => 0 }),
  p95Ms: Schema.optionalWith(NonNegative, { default: () => 0 })
}) {}

/**
 * A window of simulated time (minutes from the simulated start) in which a
 * model answers with `fault` (with the given `probability`, default 1).
 * Successful calls inside the window are slowed by `outageLatencyFactor`.
 *
 * @since 0.1.0
 */
export class Outage extends Schema.Class<Outage>("effect-ai-resilience/Simulator/Outage")({
  startMinute: NonNegative,
  durationMinutes: Positive,
  fault: Schema.optionalWith(Fault, { default: () => "overloaded" as const }),
  probability: Schema.optionalWith(Probability, { default: () => 1 })
}) {}

/**
 * What a model accepts and how it answers.
 *
 * @since 0.1.0
 */
export class Capabilities extends Schema.Class<Capabilities>("effect-ai-resilience/Simulator/Capabilities")({
  /** Largest `n` accepted by the images route. */
  maxImages: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 10 }),
  /** `false`: a request that sends `response_format` gets 400 `unknown_parameter` (GPT Image). */
  responseFormat: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** What the images route returns when the request does not say. */
  defaultImageOutput: Schema.optionalWith(Schema.Literal("url", "b64_json"), { default: () => "url" as const }),
  /** Whether image results carry a `revised_prompt`. */
  revisesPrompt: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * Video task timing, in simulated seconds: queued, then running, then done.
 *
 * @since 0.1.0
 */
export class VideoTiming extends Schema.Class<VideoTiming>("effect-ai-resilience/Simulator/VideoTiming")({
  queueSeconds: Schema.optionalWith(NonNegative, { default: () => 20 }),
  renderSeconds: Schema.optionalWith(NonNegative, { default: () => 60 })
}) {}

/**
 * One simulated model and its fault profile.
 *
 * @since 0.1.0
 */
export class ModelProfile extends Schema.Class<ModelProfile>("effect-ai-resilience/Simulator/ModelProfile")({
  id: Schema.NonEmptyTrimmedString,
  vendor: Schema.NonEmptyTrimmedString,
  kind: ModelKind,
  /** The task API of a video model (default `"openai"`). */
  videoDialect: Schema.optional(VideoDialect),
  /** Context window in tokens; prompt tokens are estimated as `ceil(chars / 4)`. */
  contextWindow: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 128_000 }),
  capabilities: Schema.optionalWith(Capabilities, { default: () => new Capabilities() }),
  latency: Schema.optionalWith(Latency, { default: () => new Latency() }),
  /** Latency multiplier for successful calls during an outage window or override. */
  outageLatencyFactor: Schema.optionalWith(Positive, { default: () => 3 }),
  // `exact`: a missing key gets the default; no `| undefined` alternative that
  // would add "Expected undefined" next to the profile's own error.
  faults: Schema.optionalWith(FaultProfile, { default: () => new FaultProfile(), exact: true }),
  /** The wait the provider asks for on 429, in simulated seconds. */
  retryAfterSeconds: Schema.optionalWith(NonNegative, { default: () => 20 }),
  outages: Schema.optionalWith(Schema.Array(Outage), { default: () => [] }),
  /** Add the daily load shape developers report (by simulated hour, JST: about 35 % 503s at 01–03, 40 % at 10–12, 45 % at 21–24) to `overloaded`. */
  dailyProfile: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  video: Schema.optionalWith(VideoTiming, { default: () => new VideoTiming() }),
  /** Generated file URLs answer 403 this many simulated seconds after creation. */
  urlTtlSeconds: Schema.optionalWith(Positive, { default: () => 3600 })
}) {}

/** `2026-01-15T10:00:00+09:00`, `2026-01-15T01:00Z`, `2026-01-15T01:00:00.250Z`. */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):(\d{2}))$/

const isIsoDateTime = (s: string): boolean => {
  const m = ISO_DATE_TIME.exec(s)
  if (m === null || Number.isNaN(Date.parse(s))) return false
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((part) =>
    part === undefined ? undefined : Number(part)
  )
  if (year === undefined || month === undefined || day === undefined || hour === undefined || minute === undefined) {
    return false
  }
  // `Date.parse` rolls 2026-02-31 over into March: check the calendar day.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 &&
    second <= 59 && offsetHours <= 23 && offsetMinutes <= 59
}

const IsoTimestamp = Schema.String.pipe(
  Schema.filter((s) =>
    isIsoDateTime(s) ||
    `Expected an ISO 8601 date-time such as "2026-01-15T10:00:00+09:00" (with a Z or ±hh:mm offset), actual ${
      JSON.stringify(s)
    }`
  )
)

/** Model ids must be unique: a second profile with the same id would hide the first. */
const ModelProfiles = Schema.Array(ModelProfile).annotations({ title: "an array of model profiles" }).pipe(
  Schema.filter((models) => {
    const seen = new Map<string, number>()
    for (const [index, model] of models.entries()) {
      const first = seen.get(model.id)
      if (first !== undefined) {
        return `duplicate model id ${JSON.stringify(model.id)} (models[${first}] and models[${index}]): model ids must be unique`
      }
      seen.set(model.id, index)
    }
    return true
  })
)

/**
 * The slowest time scale: a thousand real seconds per simulated one. Real
 * waits are simulated ones divided by the scale, so a scale near zero makes
 * them infinite.
 *
 * @since 0.1.0
 */
export const minTimeScale = 0.001

/**
 * The fastest time scale: a million simulated seconds (eleven days) per real
 * one. The simulated clock must stay a date: far faster, it leaves the range
 * of a JavaScript date within weeks (and timestamps would go `null`).
 *
 * @since 0.1.0
 */
export const maxTimeScale = 1_000_000

/**
 * The simulator's configuration. All durations are in simulated time; real
 * time is simulated time divided by `timeScale`.
 *
 * @since 0.1.0
 */
export class SimulatorConfig extends Schema.Class<SimulatorConfig>("effect-ai-resilience/Simulator/SimulatorConfig")({
  seed: Schema.optionalWith(Schema.Int, { default: () => 1 }),
  /** Simulated seconds per real second, from {@link minTimeScale} to {@link maxTimeScale}. */
  timeScale: Schema.optionalWith(
    Schema.Number.pipe(Schema.positive(), Schema.finite(), Schema.between(minTimeScale, maxTimeScale)),
    { default: () => 1 }
  ),
  /** The simulated clock at start. */
  startAt: Schema.optionalWith(IsoTimestamp, { default: () => "2026-01-15T10:00:00+09:00" }),
  /** If present, only these keys are accepted; otherwise any non-empty key. */
  apiKeys: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 65535)), { default: () => 0 }),
  /**
   * Host names (without port) it answers to besides IP addresses and
   * `localhost`, e.g. a tunnel's or a container's name for it. Any other
   * `Host` gets a 403, so a web page cannot read it by DNS rebinding.
   */
  allowedHosts: Schema.optional(Schema.Array(Schema.NonEmptyTrimmedString)),
  /** The simulated models; ids must be unique. */
  models: Schema.optionalWith(ModelProfiles, { default: () => [], exact: true })
}) {}

/**
 * The JSON form of a {@link SimulatorConfig} (every defaulted field optional).
 *
 * @since 0.1.0
 */
export type SimulatorConfigInput = typeof SimulatorConfig.Encoded

/**
 * Decode a configuration (e.g. a parsed JSON file). Unknown fields are
 * rejected; the error names the offending field.
 *
 * @since 0.1.0
 */
export const decodeConfig = (u: unknown): Effect.Effect<SimulatorConfig, ParseResult.ParseError> =>
  Schema.decodeUnknown(SimulatorConfig)(u, { onExcessProperty: "error", errors: "all" })

/**
 * Build a configuration from its JSON form, filling in defaults. Throws a
 * `ParseError` on invalid input (use {@link decodeConfig} for untrusted input).
 *
 * @example
 * ```ts
 * import * as Simulator from "effect-ai-resilience/simulator"
 *
 * const config = Simulator.makeConfig({
 *   seed: 7,
 *   models: [{ id: "gpt-4.1-mini", vendor: "openai", kind: "text" }]
 * })
 * ```
 *
 * @since 0.1.0
 */
export const makeConfig = (input: SimulatorConfigInput): SimulatorConfig =>
  Schema.decodeSync(SimulatorConfig)(input, { errors: "all" })

/**
 * The demo's scenario: the five image models of a usual priority list, in order (the primary in a
 * 90-minute overload from the start), two text models and one video model per
 * dialect; one simulated hour is six real seconds.
 *
 * @since 0.1.0
 */
export const defaultScenario: SimulatorConfig = makeConfig({
  seed: 1,
  timeScale: 600,
  models: [
    {
      id: "gemini-3-pro-image-preview",
      vendor: "google",
      kind: "image",
      contextWindow: 65_536,
      capabilities: { defaultImageOutput: "b64_json" },
      latency: { medianMs: 30_000, p95Ms: 70_000 },
      faults: { overloaded: 0.03, rateLimited: 0.01, serverError: 0.01, gatewayTimeout: 0.005 },
      outages: [{ startMinute: 0, durationMinutes: 90, fault: "overloaded", probability: 0.9 }],
      dailyProfile: true
    },
    {
      id: "gemini-2.5-flash-image",
      vendor: "google",
      kind: "image",
      contextWindow: 32_768,
      capabilities: { defaultImageOutput: "b64_json" },
      latency: { medianMs: 4_000, p95Ms: 8_000 },
      faults: { overloaded: 0.02, rateLimited: 0.01, serverError: 0.005 }
    },
    {
      id: "seedream-4.5",
      vendor: "bytedance",
      kind: "image",
      capabilities: { maxImages: 15 },
      latency: { medianMs: 15_000, p95Ms: 30_000 },
      faults: { overloaded: 0.01, serverError: 0.01, contentFilter: 0.01 }
    },
    {
      id: "gpt-image-1.5",
      vendor: "openai",
      kind: "image",
      capabilities: { responseFormat: false, defaultImageOutput: "b64_json" },
      latency: { medianMs: 20_000, p95Ms: 45_000 },
      faults: { rateLimited: 0.01, serverError: 0.01, contentFilter: 0.01 }
    },
    {
      id: "flux-2-pro",
      vendor: "bfl",
      kind: "image",
      capabilities: { maxImages: 4, revisesPrompt: true },
      latency: { medianMs: 10_000, p95Ms: 20_000 },
      faults: { serverError: 0.01, badGateway: 0.005 }
    },
    {
      id: "gemini-2.5-flash",
      vendor: "google",
      kind: "text",
      contextWindow: 1_048_576,
      latency: { medianMs: 1_500, p95Ms: 4_000 },
      faults: { overloaded: 0.01, rateLimited: 0.01, truncated: 0.005 }
    },
    {
      id: "gpt-4.1-mini",
      vendor: "openai",
      kind: "text",
      contextWindow: 1_047_576,
      latency: { medianMs: 1_200, p95Ms: 3_500 },
      faults: { rateLimited: 0.01, serverError: 0.005 }
    },
    {
      id: "sora-2",
      vendor: "openai",
      kind: "video",
      videoDialect: "openai",
      latency: { medianMs: 800, p95Ms: 2_000 },
      faults: { serverError: 0.01, contentFilter: 0.02 },
      video: { queueSeconds: 30, renderSeconds: 120 }
    },
    {
      id: "kling-v2",
      vendor: "kuaishou",
      kind: "video",
      videoDialect: "kling",
      latency: { medianMs: 800, p95Ms: 2_000 },
      faults: { overloaded: 0.01, contentFilter: 0.02 },
      video: { queueSeconds: 60, renderSeconds: 180 }
    },
    {
      id: "gen4_turbo",
      vendor: "runway",
      kind: "video",
      videoDialect: "runway",
      latency: { medianMs: 600, p95Ms: 1_500 },
      faults: { serverError: 0.01, contentFilter: 0.02 },
      video: { queueSeconds: 10, renderSeconds: 60 }
    }
  ]
})

/**
 * What the simulator knows about one model right now.
 *
 * @since 0.1.0
 */
export interface ModelState {
  readonly id: string
  readonly vendor: string
  readonly kind: ModelKind
  /** Requests that reached outcome selection (passed auth and validation). */
  readonly requests: number
  /** Requests for this model refused by validation (4xx before any draw). */
  readonly rejected: number
  /** How many requests ended in each outcome. */
  readonly outcomes: Readonly<Record<Outcome, number>>
  /** The admin override, if set. */
  readonly override: Fault | null
  /** The fault of the outage window active at the simulated now, if any. */
  readonly outage: Fault | null
}

/**
 * A snapshot of the simulator's state.
 *
 * @since 0.1.0
 */
export interface SimulatorState {
  /** The simulated clock, ISO 8601. */
  readonly simulatedNow: string
  /** Simulated milliseconds since the server started. */
  readonly simulatedElapsedMs: number
  readonly models: ReadonlyArray<ModelState>
}

/**
 * A running simulator.
 *
 * @since 0.1.0
 */
export interface SimulatorShape {
  /** Base URL, e.g. `"http://127.0.0.1:43123"` (OpenAI routes live under `/v1`, Gemini under `/v1beta`). */
  readonly url: string
  readonly port: number
  readonly config: SimulatorConfig
  /** Force every request of a model to `fault` (`undefined` clears it). */
  readonly setOverride: (modelId: string, fault: Fault | undefined) => Effect.Effect<void>
  /** Request and outcome counts per model. */
  readonly snapshot: Effect.Effect<SimulatorState>
  /** The simulated clock (epoch milliseconds). */
  readonly simulatedNow: Effect.Effect<number>
}

/**
 * The running simulator as a service.
 *
 * @since 0.1.0
 */
export class Simulator extends Context.Tag("effect-ai-resilience/Simulator")<Simulator, SimulatorShape>() {}

/**
 * Start a simulator on 127.0.0.1 (port `config.port`, 0 = any free port). It
 * stops when the scope closes, dropping pending (hanging) connections.
 *
 * @since 0.1.0
 */
export const make = (config: SimulatorConfig): Effect.Effect<SimulatorShape, ServeError, Scope.Scope> =>
  internal.make(config)

/**
 * A layer running a simulator for its lifetime.
 *
 * @since 0.1.0
 */
export const layer = (config: SimulatorConfig): Layer.Layer<Simulator, ServeError> =>
  Layer.scoped(Simulator, make(config))
