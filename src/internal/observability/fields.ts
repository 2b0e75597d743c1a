/**
 * What the observability functions put into log annotations and span
 * attributes: flat records of strings and numbers, every free-text value run
 * through `scrubSecrets`. Nothing here reads headers or raw bodies.
 *
 * @internal
 */
import { Duration, type Redacted } from "effect"
import { scrubSecrets } from "../../Classification.js"
import { category, type GenerationFailure, isGenerationFailure } from "../../Failure.js"

/** Attribute / annotation keys (one vocabulary for spans and logs). */
export const Key = {
  model: "ai.model",
  provider: "ai.provider",
  operation: "ai.operation",
  attempt: "ai.attempt",
  outcome: "ai.outcome",
  durationMs: "ai.duration_ms",
  cost: "ai.cost",
  category: "ai.failure.category",
  reason: "ai.failure.reason",
  message: "ai.failure.message",
  param: "ai.failure.param",
  code: "ai.failure.code",
  requestId: "ai.request_id",
  retryAfterMs: "ai.retry_after_ms",
  status: "http.response.status_code",
  servedBy: "ai.served_by",
  rank: "ai.rank",
  fellBack: "ai.fell_back",
  degraded: "ai.degraded",
  attempts: "ai.attempts",
  breakerFrom: "ai.breaker.from",
  breakerTo: "ai.breaker.to",
  breakerReason: "ai.breaker.reason",
  breakerAt: "ai.breaker.at"
} as const

export type Fields = Record<string, string | number | boolean>

/** How free text is made safe to emit. */
export interface Scrubber {
  readonly secrets: ReadonlyArray<Redacted.Redacted>
  readonly messageLimit: number
}

export const scrub = (text: string, s: Scrubber): string => {
  const clean = scrubSecrets(text, s.secrets)
  return clean.length > s.messageLimit ? `${clean.slice(0, s.messageLimit)}…` : clean
}

/** Set `key` only when `value` is defined (exactOptionalPropertyTypes-friendly). */
const put = (fields: Fields, key: string, value: string | number | boolean | undefined): void => {
  if (value !== undefined) fields[key] = value
}

/** What a classified failure adds: status, reason, the provider's message and `param`, code, request id, retry-after. */
export const failureFields = (failure: GenerationFailure, s: Scrubber): Fields => {
  const fields: Fields = {
    [Key.provider]: failure.provider,
    [Key.category]: category(failure),
    [Key.reason]: failure.reason,
    [Key.message]: scrub(failure.message, s)
  }
  put(fields, Key.status, failure.status)
  put(fields, Key.param, failure.param === undefined ? undefined : scrub(failure.param, s))
  put(fields, Key.code, failure.code === undefined ? undefined : scrub(failure.code, s))
  put(fields, Key.requestId, failure.requestId === undefined ? undefined : scrub(failure.requestId, s))
  put(fields, Key.retryAfterMs, failure.retryAfter === undefined ? undefined : Duration.toMillis(failure.retryAfter))
  return fields
}

/** An attempt's outcome as seen from its error (a failure, a breaker rejection, or anything else). */
export const errorFields = (error: unknown, s: Scrubber): Fields => {
  if (isGenerationFailure(error)) return { [Key.outcome]: "failure", ...failureFields(error, s) }
  const tag = tagOf(error)
  if (tag === "CircuitOpen") return { [Key.outcome]: "skipped", [Key.reason]: "CircuitOpen" }
  const fields: Fields = { [Key.outcome]: "failure", [Key.reason]: tag ?? "Unknown" }
  const message = messageOf(error)
  if (message !== undefined) fields[Key.message] = scrub(message, s)
  return fields
}

export const tagOf = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" ? u._tag : undefined

export const messageOf = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && "message" in u && typeof u.message === "string" ? u.message : undefined

/** `fields` with the given keys dropped. */
export const omit = (fields: Fields, ...keys: ReadonlyArray<string>): Fields =>
  Object.fromEntries(Object.entries(fields).filter(([k]) => !keys.includes(k)))
