/**
 * The failure taxonomy (hard, soft, silent): every outcome of a generation call that is
 * not a usable result is one of three tagged errors.
 *
 * - {@link HardFailure}: the request did not complete (HTTP 3xx/4xx/5xx,
 *   connection failure, time-out).
 * - {@link SoftFailure}: HTTP 200 but nothing usable (blocked, truncated, empty).
 * - {@link SilentFailure}: HTTP 200 with plausible output that the
 *   application's declarative checks reject.
 *
 * All three carry what a person needs to act: provider, model, HTTP status,
 * message, `param`, `code`, request id, retry-after and the (bounded) raw body.
 *
 * @since 0.1.0
 */
import { Duration, Schema } from "effect"

/**
 * Why a request did not complete.
 *
 * @since 0.1.0
 */
export const HardReason = Schema.Literal(
  "BadRequest",
  "Unauthorized",
  "NotFound",
  "ContextLengthExceeded",
  "ContentFiltered",
  "RateLimited",
  "QuotaExhausted",
  "Overloaded",
  "ServerError",
  "Timeout",
  "Network",
  /**
   * The provider answered 3xx. An API does not move under a client's feet:
   * the base URL is wrong (http for https, a missing or doubled path
   * segment, a gateway that moved). Redirects are never followed, so the
   * key never goes to the new address; the failure names where it pointed.
   */
  "Redirected"
)
/** @since 0.1.0 */
export type HardReason = typeof HardReason.Type

/**
 * Why a completed (HTTP 200) response holds nothing usable.
 *
 * @since 0.1.0
 */
export const SoftReason = Schema.Literal("ContentFiltered", "Truncated", "EmptyOutput")
/** @since 0.1.0 */
export type SoftReason = typeof SoftReason.Type

/**
 * Why plausible output was rejected by the application's validators.
 *
 * @since 0.1.0
 */
export const SilentReason = Schema.Literal("InvalidOutput")
/** @since 0.1.0 */
export type SilentReason = typeof SilentReason.Type

/**
 * The fields every failure carries. `retryAfter` is an Effect `Duration`
 * (encoded as milliseconds when the failure is serialised).
 *
 * @since 0.1.0
 */
export const FailureFields = {
  /** Provider instance name, e.g. `"openai-compatible"` or `"gemini"`. */
  provider: Schema.String,
  /** The model that was asked. */
  model: Schema.String,
  /** HTTP status, when there was a response. */
  status: Schema.optional(Schema.Number),
  /** The provider's own error message (secrets scrubbed). */
  message: Schema.String,
  /** The request parameter the provider blamed (`error.param`). */
  param: Schema.optional(Schema.String),
  /** The provider's error code (`error.code`, `error.status`, `error.type`). */
  code: Schema.optional(Schema.String),
  /** Request id from headers or body, to quote to the provider's support. */
  requestId: Schema.optional(Schema.String),
  /**
   * How long the provider asked us to wait before trying again. Finite, so it
   * survives JSON as milliseconds (an infinite `Duration` would encode as
   * `Infinity`, which JSON turns into `null`).
   */
  retryAfter: Schema.optional(
    Schema.DurationFromMillis.pipe(
      Schema.filter(Duration.isFinite, { message: () => "retryAfter must be a finite duration" })
    )
  ),
  /** The first {@link RAW_BODY_LIMIT} characters of the response body. */
  rawBody: Schema.optional(Schema.String)
}

/**
 * How many characters of a response body a failure keeps.
 *
 * @since 0.1.0
 */
export const RAW_BODY_LIMIT = 4096

/**
 * The request did not complete: an HTTP error status, a redirect, a transport
 * failure or a time-out.
 *
 * @example
 * ```ts
 * import { HardFailure, isRetryable } from "effect-ai-resilience"
 *
 * const failure = new HardFailure({
 *   reason: "Overloaded",
 *   provider: "gemini",
 *   model: "gemini-3-pro-image-preview",
 *   status: 503,
 *   message: "The model is overloaded. Please try again later."
 * })
 * isRetryable(failure) // true
 * ```
 *
 * @since 0.1.0
 */
export class HardFailure extends Schema.TaggedError<HardFailure>("effect-ai-resilience/HardFailure")(
  "HardFailure",
  {
    reason: HardReason,
    ...FailureFields,
    /** An asynchronous (video) task this failure is about: its id at the provider. */
    taskId: Schema.optional(Schema.String),
    /** The task's last status as the provider spelled it (`queued`, `processing`, `submitted`, …). */
    taskStatus: Schema.optional(Schema.String),
    /** The task's last reported progress, 0–100. */
    taskProgress: Schema.optional(Schema.Number)
  }
) {}

/**
 * HTTP 200 but nothing usable: blocked by a safety filter, truncated at the
 * token limit, or empty. Keeps whatever partial output there was.
 *
 * @since 0.1.0
 */
export class SoftFailure extends Schema.TaggedError<SoftFailure>("effect-ai-resilience/SoftFailure")(
  "SoftFailure",
  {
    reason: SoftReason,
    ...FailureFields,
    /** The provider's finish reason as sent (`length`, `SAFETY`, ...). */
    finishReason: Schema.optional(Schema.String),
    /** `usage.completion_tokens` (how far a truncated answer got). */
    completionTokens: Schema.optional(Schema.Number),
    /** Partial output, if any. */
    output: Schema.optional(Schema.String)
  }
) {}

/**
 * HTTP 200 with plausible output that a declarative validator rejected. Keeps
 * the whole output so nothing is lost.
 *
 * @since 0.1.0
 */
export class SilentFailure extends Schema.TaggedError<SilentFailure>("effect-ai-resilience/SilentFailure")(
  "SilentFailure",
  {
    reason: SilentReason,
    ...FailureFields,
    /** The validator that rejected the output, e.g. `"oneOf"`. */
    validator: Schema.String,
    /** The complete output that was rejected. */
    output: Schema.String
  }
) {}

/**
 * Any classified failure of a generation call.
 *
 * @since 0.1.0
 */
export type GenerationFailure = HardFailure | SoftFailure | SilentFailure

/**
 * Schema for {@link GenerationFailure}, e.g. to encode failures into a report.
 *
 * @since 0.1.0
 */
export const GenerationFailure = Schema.Union(HardFailure, SoftFailure, SilentFailure)

/**
 * The three failure categories: hard (the request did not complete), soft (HTTP 200, nothing usable), silent (plausible output the application rejects).
 *
 * @since 0.1.0
 */
export type Category = "hard" | "soft" | "silent"

/**
 * The category of a failure.
 *
 * @since 0.1.0
 */
export const category = (failure: GenerationFailure): Category =>
  failure._tag === "HardFailure" ? "hard" : failure._tag === "SoftFailure" ? "soft" : "silent"

/**
 * Is this value one of the three classified failures?
 *
 * @since 0.1.0
 */
export const isGenerationFailure = (u: unknown): u is GenerationFailure =>
  u instanceof HardFailure || u instanceof SoftFailure || u instanceof SilentFailure

// The transient faults of the model itself: the one list that the breaker, the
// status and the retry read (through countsAgainstModel).
const modelHealthReasons: ReadonlySet<unknown> = new Set<HardReason>([
  "Overloaded",
  "ServerError",
  "Timeout",
  "Network",
  "RateLimited"
])

/**
 * Does this failure count against the model's health?
 *
 * True only for a hard failure whose reason says the model is unwell:
 * `Overloaded`, `ServerError`, `Timeout`, `Network`, `RateLimited`. The
 * circuit breaker counts these (its default `isFailure`), `ModelStatus`
 * counts them towards `unavailableAfter`, and {@link isRetryable} retries
 * exactly these. Anything else means the model answered: a 4xx (the request's
 * fault), a `Redirected` failure (a misconfigured base URL is the client's
 * configuration, not the model's health), an exhausted quota, a too-long
 * context, a filtered prompt, any soft or silent failure, and any value that
 * is not a failure at all.
 *
 * Read by tag and reason rather than by class, so that a failure made by
 * another installed copy of this package, or one that crossed a structured
 * clone (a worker, a message channel) and lost its prototype, still counts.
 *
 * @example
 * ```ts
 * import { countsAgainstModel, HardFailure } from "effect-ai-resilience"
 *
 * countsAgainstModel(new HardFailure({ reason: "Overloaded", provider: "p", model: "m", status: 503, message: "busy" }))
 * // true: the model is unwell
 * countsAgainstModel(new HardFailure({ reason: "Redirected", provider: "p", model: "m", status: 301, message: "moved" }))
 * // false: the base URL is wrong, the model is fine
 * ```
 *
 * @category predicates
 * @since 0.1.0
 */
export const countsAgainstModel = (failure: unknown): boolean =>
  typeof failure === "object" && failure !== null &&
  (failure as { readonly _tag?: unknown })._tag === "HardFailure" &&
  modelHealthReasons.has((failure as { readonly reason?: unknown }).reason)

/**
 * Is it worth sending the same request to the same model again?
 *
 * True only for transient hard failures, the ones that count against the
 * model ({@link countsAgainstModel}): `Timeout`, `Network`, `Overloaded`,
 * `ServerError`, `RateLimited`. Never for 400/401/404, a redirect, context
 * length, content filtering, exhausted quota, or any soft or silent failure (a retry
 * policy may opt in to re-asking for `Truncated` / `InvalidOutput`).
 *
 * @example
 * ```ts
 * import { HardFailure, isRetryable } from "effect-ai-resilience"
 *
 * isRetryable(new HardFailure({ reason: "BadRequest", provider: "p", model: "m", status: 400, message: "bad size", param: "size" }))
 * // false: fix the request instead
 * ```
 *
 * @since 0.1.0
 */
export const isRetryable = (failure: GenerationFailure): boolean =>
  // a transient fault of the model is exactly what trying again may outlast
  countsAgainstModel(failure)

const fallbackHard: ReadonlySet<HardReason> = new Set<HardReason>([
  "Overloaded",
  "ServerError",
  "Timeout",
  "Network",
  "RateLimited",
  "QuotaExhausted",
  "NotFound",
  "ContextLengthExceeded",
  // A wrong base URL is this model's configuration, not the request's: the
  // next model, configured on its own, may well answer (as for a 404).
  "Redirected"
])

/**
 * Options for {@link isFallbackEligible}.
 *
 * @since 0.1.0
 */
export interface FallbackEligibility {
  /**
   * Route around a safety refusal (hard or soft `ContentFiltered`) by asking
   * the next model. Off by default: doing so must be an explicit choice.
   */
  readonly contentFiltered?: boolean | undefined
}

/**
 * Should a fallback chain move on to the next model after this failure?
 *
 * True for failures that another model may not share: `Overloaded`,
 * `ServerError`, `Timeout`, `Network`, `RateLimited`, `QuotaExhausted`,
 * `NotFound`, `ContextLengthExceeded`, `Redirected`. `BadRequest` and `Unauthorized` are the
 * caller's to fix and must surface at once. `ContentFiltered` only with
 * `{ contentFiltered: true }`.
 *
 * @since 0.1.0
 */
export const isFallbackEligible = (failure: GenerationFailure, options?: FallbackEligibility): boolean => {
  if (failure.reason === "ContentFiltered") return options?.contentFiltered === true
  return failure._tag === "HardFailure" && fallbackHard.has(failure.reason)
}
