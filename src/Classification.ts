/**
 * Classification of hard failures: any non-2xx HTTP response,
 * transport failure or time-out becomes a {@link HardFailure} with a reason,
 * the provider's message and `param`, a request id and a retry-after.
 *
 * `classifyResponse` is pure and total: it never throws and never assumes the
 * body is JSON (a proxy's HTML 502 page classifies as well as a Google
 * `google.rpc.Status`).
 *
 * @since 0.1.0
 */
import { Duration, Option, Redacted } from "effect"
import { HardFailure, type HardReason, RAW_BODY_LIMIT } from "./Failure.js"
import { type ErrorInfo, parseErrorBody, squash } from "./internal/errorBody.js"
import { redactSecrets } from "./internal/secrets.js"

/**
 * Response headers: a plain record (any key case), as `@effect/platform`
 * `Headers` and Node's `IncomingHttpHeaders` are.
 *
 * @since 0.1.0
 */
export type HeadersInput = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * What {@link classifyResponse} needs to know about a response.
 *
 * @since 0.1.0
 */
export interface ResponseInput {
  readonly status: number
  readonly headers?: HeadersInput | undefined
  /** The body as received; text or bytes (decoded as UTF-8). */
  readonly body?: string | Uint8Array | null | undefined
  readonly provider?: string | undefined
  readonly model?: string | undefined
  /**
   * The current time (epoch ms) to turn an HTTP-date `Retry-After` into a
   * duration. Defaults to the response's `Date` header, so the function
   * stays pure.
   */
  readonly now?: number | undefined
  /** Secrets to scrub from the message and raw body (the request's API key). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted> | undefined
  /** The request's URL, against which a relative `Location` of a 3xx is read. */
  readonly url?: string | undefined
}

const MAX_RETRY_AFTER = Duration.days(1)

const header = (headers: HeadersInput | undefined, name: string): string | undefined => {
  if (headers === undefined) return undefined
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const value: unknown = headers[key]
      const first: unknown = typeof value === "string" ? value : Array.isArray(value) ? value[0] : undefined
      return typeof first === "string" ? first.trim() : undefined
    }
  }
  return undefined
}

// IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), RFC 850 ("Wednesday, 21-Oct-15 07:28:00 GMT"), asctime ("Wed Oct 21 07:28:00 2015")
const HTTP_DATE =
  /^(?:[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{1,2}:\d{2}:\d{2} GMT|[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]?\d \d{2}:\d{2}:\d{2} \d{4})$/

const sane = (d: Duration.Duration): Option.Option<Duration.Duration> =>
  Duration.isFinite(d) && Duration.lessThanOrEqualTo(d, MAX_RETRY_AFTER) ? Option.some(d) : Option.none()

/**
 * Parse a protobuf JSON duration such as `"34s"` or `"1.5s"` (Google
 * `RetryInfo.retryDelay`).
 *
 * @since 0.1.0
 */
export const parseProtoDuration = (s: string): Option.Option<Duration.Duration> => {
  const m = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(s)
  return m?.[1] === undefined ? Option.none() : sane(Duration.millis(Math.round(Number(m[1]) * 1000)))
}

/**
 * Read the retry hint from headers: `retry-after-ms` (milliseconds), else
 * `Retry-After` as delay-seconds or an HTTP date (relative to `now`, else the
 * `Date` header). Negative, unparseable or absurd (> 1 day) values are ignored.
 *
 * @since 0.1.0
 */
export const retryAfterFromHeaders = (
  headers: HeadersInput | undefined,
  now?: number
): Option.Option<Duration.Duration> => {
  const ms = header(headers, "retry-after-ms")
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) {
    const fromMs = sane(Duration.millis(Math.round(Number(ms))))
    if (Option.isSome(fromMs)) return fromMs
  }
  const ra = header(headers, "retry-after")
  if (ra === undefined || ra.length === 0) return Option.none()
  if (/^\d+(\.\d+)?$/.test(ra)) return sane(Duration.millis(Math.round(Number(ra) * 1000)))
  // Only the three HTTP-date forms (RFC 9110, section 5.6.7): `Date.parse` alone
  // accepts "-5" or "garbage 1" as dates.
  if (!HTTP_DATE.test(ra)) return Option.none()
  const at = Date.parse(ra)
  if (Number.isNaN(at)) return Option.none()
  const dateHeader = header(headers, "date")
  const reference = now ?? (dateHeader === undefined ? Number.NaN : Date.parse(dateHeader))
  if (Number.isNaN(reference)) return Option.none()
  return sane(Duration.millis(Math.max(0, at - reference)))
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const detailOf = (info: ErrorInfo, suffix: string): ReadonlyArray<Record<string, unknown>> =>
  info.details.filter((d): d is Record<string, unknown> =>
    isRecord(d) && typeof d["@type"] === "string" && d["@type"].endsWith(suffix)
  )

const retryAfterFromBody = (info: ErrorInfo): Option.Option<Duration.Duration> => {
  for (const d of detailOf(info, "google.rpc.RetryInfo")) {
    if (typeof d["retryDelay"] === "string") {
      const parsed = parseProtoDuration(d["retryDelay"])
      if (Option.isSome(parsed)) return parsed
    }
  }
  // "Please retry in 34.5s." (Gemini), "Please retry after 20 seconds." (Azure),
  // "Please try again in 1.302s." (OpenAI)
  const m = /(?:retry|try again) (?:in|after) (\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)\b/i.exec(info.message ?? "")
  if (m?.[1] !== undefined) {
    const n = Number(m[1])
    return sane(Duration.millis(Math.round(/^ms|^milli/i.test(m[2] ?? "") ? n : n * 1000)))
  }
  return Option.none()
}

const quotaIds = (info: ErrorInfo): ReadonlyArray<string> =>
  detailOf(info, "google.rpc.QuotaFailure").flatMap((d) =>
    Array.isArray(d["violations"])
      ? d["violations"].flatMap((v) => (isRecord(v) && typeof v["quotaId"] === "string" ? [v["quotaId"]] : []))
      : []
  )

/** How much of an error message is searched when classifying. */
const MESSAGE_SCAN_LIMIT = 2048

// Kling answers with numeric codes in its envelope ({"code": 1102, "message": ...}): 1000–1004
// authentication, 1100–1102 account / resource pack, 1301 content safety, 1302–1303 rate limits.
const authCodes = new Set(["invalid_api_key", "incorrect_api_key", "invalid_key", "api_key_invalid", "authentication_error", "unauthenticated", "1000", "1001", "1002", "1003", "1004"])
const quotaCodes = new Set(["1100", "1101", "1102", "insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "quota_exceeded"])
const contextCodes = new Set(["context_length_exceeded", "string_above_max_length", "context_window_exceeded"])
const filterCodes = new Set(["1301",
  "content_policy_violation",
  "moderation_blocked",
  "content_filter",
  "content_filtered",
  "responsibleaipolicyviolation",
  "safety_violation"
])
const notFoundCodes = new Set(["model_not_found", "not_found", "task_not_exist", "not_found_error"])

/** `google.rpc.ErrorInfo.reason` values that mean the credentials are at fault (Google sends a bad key as 400 INVALID_ARGUMENT). */
const authInfoReasons = new Set([
  "API_KEY_INVALID",
  "API_KEY_EXPIRED",
  "API_KEY_NOT_FOUND",
  "API_KEY_SERVICE_BLOCKED",
  "API_KEY_HTTP_REFERRER_BLOCKED",
  "API_KEY_IP_ADDRESS_BLOCKED",
  "API_KEY_ANDROID_APP_BLOCKED",
  "API_KEY_IOS_APP_BLOCKED",
  "ACCESS_TOKEN_EXPIRED",
  "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
  "ACCESS_TOKEN_TYPE_UNSUPPORTED",
  "CREDENTIALS_MISSING",
  "ACCOUNT_STATE_INVALID",
  "SERVICE_DISABLED",
  "CONSUMER_INVALID",
  "CONSUMER_SUSPENDED"
])

const errorInfoReasons = (info: ErrorInfo): ReadonlyArray<string> =>
  detailOf(info, "google.rpc.ErrorInfo").flatMap((d) => (typeof d["reason"] === "string" ? [d["reason"].toUpperCase()] : []))

const anthropicTypes: Readonly<Record<string, HardReason>> = {
  invalid_request_error: "BadRequest",
  authentication_error: "Unauthorized",
  permission_error: "Unauthorized",
  not_found_error: "NotFound",
  request_too_large: "BadRequest",
  rate_limit_error: "RateLimited",
  api_error: "ServerError",
  overloaded_error: "Overloaded",
  billing_error: "QuotaExhausted",
  timeout_error: "Timeout"
}

/** A table's own entry: a vendor's `"constructor"` or `"__proto__"` must not find the prototype's. */
const lookup = <A>(table: Readonly<Record<string, A>>, key: string | undefined): A | undefined =>
  key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined

const rpcStatuses: Readonly<Record<string, HardReason>> = {
  INVALID_ARGUMENT: "BadRequest",
  FAILED_PRECONDITION: "BadRequest",
  OUT_OF_RANGE: "BadRequest",
  UNIMPLEMENTED: "BadRequest",
  ALREADY_EXISTS: "BadRequest",
  UNAUTHENTICATED: "Unauthorized",
  PERMISSION_DENIED: "Unauthorized",
  NOT_FOUND: "NotFound",
  RESOURCE_EXHAUSTED: "RateLimited",
  UNAVAILABLE: "Overloaded",
  DEADLINE_EXCEEDED: "Timeout",
  INTERNAL: "ServerError",
  UNKNOWN: "ServerError",
  DATA_LOSS: "ServerError",
  ABORTED: "ServerError",
  CANCELLED: "ServerError"
}

/** Wording that turns a generic 5xx into an overload ("try again later" alone is not enough). */
const overloadText = /overload|high demand|over capacity|at capacity|capacity constraints|temporarily unavailable/i
/** Wording explicit enough to override a 5xx status or vendor code. */
const overloadStrongText = /overload|high demand|over capacity|at capacity|capacity constraints/i

const byStatus = (status: number): HardReason => {
  if (status === 401 || status === 403) return "Unauthorized"
  // 402 Payment Required: out of credits (OpenRouter, DeepSeek); another vendor's model may still run
  if (status === 402) return "QuotaExhausted"
  if (status === 404 || status === 410) return "NotFound"
  if (status === 408) return "Timeout"
  if (status === 429) return "RateLimited"
  if (status === 503 || status === 529) return "Overloaded"
  if (status === 504 || status === 522 || status === 524) return "Timeout"
  if (status >= 400 && status < 500) return "BadRequest"
  return "ServerError"
}

const reasonOf = (status: number, info: ErrorInfo, hasRetryInfo: boolean): HardReason => {
  const code = info.code?.toLowerCase()
  const type = info.type?.toLowerCase()
  // Only a bounded prefix of the message is searched, with linear-time checks:
  // error messages come from the network and can be megabytes long.
  const message = (info.message ?? "").slice(0, MESSAGE_SCAN_LIMIT)
  const lower = message.toLowerCase()
  const is4xx = status >= 400 && status < 500
  // 1. Quota: a 429 that waiting a minute will not fix (it needs the quota to reset).
  if ((code !== undefined && quotaCodes.has(code)) || (type !== undefined && quotaCodes.has(type))) return "QuotaExhausted"
  const quotas = quotaIds(info)
  if (quotas.some((id) => /per ?day/i.test(id))) return "QuotaExhausted"
  // With QuotaFailure violations the ids say which window was hit (PerMinute
  // is a rate limit even though Google's message says "exceeded your current quota").
  if (
    status === 429 && !hasRetryInfo && quotas.length === 0 &&
    (lower.includes("exceeded your current quota") ||
      (lower.includes("quota") && /exhausted|exceeded/.test(lower) && /day|month|billing/.test(lower)))
  ) {
    return "QuotaExhausted"
  }
  // Out of credits in so many words (Runway "not enough credits", Anthropic "credit balance is too low").
  if (is4xx && /(?:not|n.t)(?: have)? enough credits|insufficient (?:credits|balance|funds)|credit balance is too low|out of credits/.test(lower)) return "QuotaExhausted"
  // 2. The request is too long for this model (another model may take it).
  if (
    (code !== undefined && contextCodes.has(code)) ||
    (is4xx && (/context[ _]length|maximum context|context window|prompt is too long/.test(lower) ||
      (lower.includes("input token count") && lower.includes("exceeds"))))
  ) {
    return "ContextLengthExceeded"
  }
  // 3. A safety system refused the prompt.
  if ((code !== undefined && filterCodes.has(code)) || (type !== undefined && filterCodes.has(type))) return "ContentFiltered"
  if (is4xx && /safety system|content policy|content management policy|flagged by (?:the |our )?moderation|moderation (?:system|block)/.test(lower)) {
    return "ContentFiltered"
  }
  if (code !== undefined && authCodes.has(code)) return "Unauthorized"
  if (code !== undefined && notFoundCodes.has(code) && (is4xx || status === 200)) return "NotFound"
  // 4. Google sends a bad or expired API key as 400 INVALID_ARGUMENT; ErrorInfo.reason says so.
  if (errorInfoReasons(info).some((r) => authInfoReasons.has(r))) return "Unauthorized"
  const reason = vendorReason(status, info, type, is4xx)
  // 7. Overload promoted from the wording of a 5xx that would otherwise be a
  // generic server error or time-out ("The model is overloaded", "high demand").
  if (status >= 500 && status < 600) {
    if (reason === "ServerError" && overloadText.test(lower)) return "Overloaded"
    if (reason === "Timeout" && overloadStrongText.test(lower)) return "Overloaded"
  }
  return reason
}

const vendorReason = (status: number, info: ErrorInfo, type: string | undefined, is4xx: boolean): HardReason => {
  // 5. Vendor vocabularies. OpenAI reuses Anthropic's generic
  // `invalid_request_error` for 401/404/429, so a generic type defers to a
  // specific 4xx status.
  const anthropic = lookup(anthropicTypes, type)
  if (anthropic === "BadRequest" && is4xx) return byStatus(status)
  if (anthropic !== undefined && anthropic !== "BadRequest") return anthropic
  const rpc = lookup(rpcStatuses, info.rpcStatus?.toUpperCase())
  if (rpc !== undefined) return rpc
  // 6. A gateway that wraps the upstream's status in its body ({"status":503}).
  const upstream = info.bodyStatus
  if (upstream !== undefined && status >= 500 && (upstream === 503 || upstream === 529)) return "Overloaded"
  return byStatus(status)
}

const REQUEST_ID_HEADERS = ["x-request-id", "request-id", "openai-request-id", "x-goog-request-id", "x-amzn-requestid", "apim-request-id", "cf-ray"]

const requestIdOf = (headers: HeadersInput | undefined, info: ErrorInfo): string | undefined => {
  for (const name of REQUEST_ID_HEADERS) {
    const value = header(headers, name)
    if (value !== undefined && value.length > 0) return value
  }
  if (info.requestId !== undefined) return info.requestId
  // Gateways put it in the message: "... (request id: 20251121...)"
  // or "... include the request ID req_abc123." (the full stop is not part of it).
  return /request[ _-]?id[:= ]+([A-Za-z0-9][A-Za-z0-9_\-.]{4,}[A-Za-z0-9])/i.exec(info.message ?? "")?.[1]
}

/**
 * Remove secrets from text that will be kept in a failure, a log or a report:
 * every piece of eight or more characters of each secret (all of a
 * shorter one) in any letter case, percent-encoded, JSON- or
 * JavaScript-escaped, as HTML character references or in base64, plus the
 * well-known key shapes (`sk-…`, `AIza…`) and masked echoes (`sk-ab***wxyz`).
 * Apply it to text as it will be shown: after parsing, since parsing turns
 * escapes back into the key.
 *
 * @since 0.1.0
 */
export const scrubSecrets = (text: string, secrets: ReadonlyArray<Redacted.Redacted> | undefined): string =>
  // Well-known key shapes echoed in full.
  redactMaskedEchoes(redactSecrets(text, secrets)).replace(/\b(?:sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{8,})/g, "[REDACTED]")

const isKeyChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_\-]/.test(c)

/**
 * Masked echoes ("sk-ab***wxyz", "gw-li***1c3e"): the token around every run
 * of three or more asterisks. Found from the asterisks outwards, so the work is
 * linear in the text's length.
 */
const redactMaskedEchoes = (text: string): string => {
  if (!text.includes("***")) return text
  let out = ""
  let at = 0
  for (const match of text.matchAll(/\*{3,}/g)) {
    let start = match.index
    let end = match.index + match[0].length
    if (start < at) continue
    for (let n = 0; n < 64 && start > at && isKeyChar(text[start - 1]); n++) start--
    for (let n = 0; n < 64 && isKeyChar(text[end]); n++) end++
    out += `${text.slice(at, start)}[REDACTED]`
    at = end
  }
  return out + text.slice(at)
}

const decoder = new TextDecoder("utf-8", { fatal: false })

/**
 * Bound a body to {@link RAW_BODY_LIMIT} characters, saying how much was cut.
 *
 * @since 0.1.0
 */
export const boundBody = (text: string): string =>
  text.length <= RAW_BODY_LIMIT ? text : `${text.slice(0, RAW_BODY_LIMIT)}…[${text.length - RAW_BODY_LIMIT} more characters]`

const statusText = (status: number): string => {
  const known: Record<number, string> = {
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    529: "Overloaded"
  }
  return known[status] ?? "unexpected status"
}

/** How much of a `Location` (before its query) is read, and how much of its path is shown. */
const LOCATION_READ_LIMIT = 2048
const LOCATION_PATH_SHOWN = 160
const PLACEHOLDER_HOST = "relative.invalid"

/**
 * Where a 3xx points, fit for a failure message: scheme, host, port and path
 * only. The query and fragment are cut before anything is parsed (signed
 * URLs carry their tokens there), user-info is dropped with the rest of the
 * authority, the path is bounded and scrubbed, and a Location that is not an
 * http(s) URL is named by its scheme alone.
 */
const describeLocation = (
  location: string | undefined,
  base: string | undefined,
  secrets: ReadonlyArray<Redacted.Redacted> | undefined
): string => {
  if (location === undefined || location.trim().length === 0) return "without a Location header"
  // Two Location headers arrive joined by ", ": no URL, and reading the
  // second as a path of the first would show what a non-HTTP URL hides.
  if (/,\s/.test(location)) return "to several Location values (not shown)"
  const cut = /[?#]/.exec(location)
  const beforeQuery = cut === null ? location : location.slice(0, cut.index)
  const hidden = cut === null ? "" : " (its query not shown)"
  if (beforeQuery.length > LOCATION_READ_LIMIT) return `to a Location of ${location.length} characters (not shown)`
  let url: URL
  let relative = false
  try {
    url = new URL(beforeQuery)
  } catch {
    relative = true
    try {
      url = new URL(beforeQuery, base ?? `http://${PLACEHOLDER_HOST}/`)
    } catch {
      return "to a Location that is not a URL (not shown)"
    }
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `to a non-HTTP Location (${url.protocol.slice(0, 16)} URL, not shown)`
  const path = url.pathname.length > LOCATION_PATH_SHOWN ? `${url.pathname.slice(0, LOCATION_PATH_SHOWN)}…` : url.pathname
  // with no request URL to read it against, a relative Location is only a path
  const shown = relative && base === undefined && url.host === PLACEHOLDER_HOST ? `the path ${path}` : `${url.protocol}//${url.host}${path}`
  return `to ${scrubSecrets(shown, secrets)}${hidden}`
}

/**
 * A 3xx from an API: an API does not move under its clients, so the base
 * URL is wrong (http for https, a missing or doubled path segment, a retired host). The
 * body is not kept: a redirect's body is boilerplate that often repeats the
 * full target, query and all.
 */
const redirected = (input: ResponseInput, status: number): HardFailure => {
  const requestId = REQUEST_ID_HEADERS.map((name) => header(input.headers, name)).find((id) => id !== undefined && id.length > 0)
  return new HardFailure({
    reason: "Redirected",
    provider: input.provider ?? "unknown",
    model: input.model ?? "unknown",
    status,
    message: `HTTP ${status} ${statusText(status)}: the provider redirects ${
      describeLocation(header(input.headers, "location"), input.url, input.secrets)
    }; redirects are not followed (so the key is not sent there): check the base URL`,
    code: "redirect",
    ...(requestId === undefined ? {} : { requestId: scrubSecrets(requestId, input.secrets) })
  })
}

/**
 * Classify a non-2xx HTTP response as a {@link HardFailure}. Pure and total.
 *
 * A 3xx is `Redirected`: its message names where the `Location` points
 * (scheme, host and path; never its query, fragment or user-info) and its
 * body is not kept.
 *
 * @example
 * ```ts
 * import { classifyResponse } from "effect-ai-resilience"
 *
 * const failure = classifyResponse({
 *   status: 429,
 *   headers: { "retry-after": "20" },
 *   body: `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
 *   provider: "openai",
 *   model: "gpt-image-1.5"
 * })
 * failure.reason     // "RateLimited"
 * failure.retryAfter // Duration.seconds(20)
 * ```
 *
 * @since 0.1.0
 */
export const classifyResponse = (input: ResponseInput): HardFailure => {
  const status = Number.isFinite(input.status) ? Math.trunc(input.status) : 0
  if (status >= 300 && status < 400) return redirected(input, status)
  let text: string
  try {
    text = input.body === undefined || input.body === null
      ? ""
      : typeof input.body === "string"
      ? input.body
      : decoder.decode(input.body)
  } catch {
    text = ""
  }
  // Parsed as received and scrubbed field by field afterwards: parsing turns
  // escapes (`\u0073`) back into the key, so only the parsed fields can be
  // checked. Every piece of a key is found within its window, so scrubbing
  // after cutting to a limit leaves nothing either.
  const info = parseErrorBody(text)
  const bodyRetry = retryAfterFromBody(info)
  const retryAfter = Option.orElse(retryAfterFromHeaders(input.headers, input.now), () => bodyRetry)
  const reason = status >= 200 && status < 300 ? "ServerError" : reasonOf(status, info, Option.isSome(bodyRetry))
  const scrub = (s: string) => scrubSecrets(s, input.secrets)
  const rawRequestId = requestIdOf(input.headers, info)
  const requestId = rawRequestId === undefined ? undefined : scrub(rawRequestId)
  const baseMessage = info.message === undefined
    ? info.format === "empty"
      ? `HTTP ${status} ${statusText(status)} with an empty body`
      : `HTTP ${status} ${statusText(status)}`
    : info.format === "json" || info.format === "invalid-json"
    ? info.message
    : `HTTP ${status}: ${info.message}`
  const message = scrub(baseMessage.length > RAW_BODY_LIMIT ? `${baseMessage.slice(0, RAW_BODY_LIMIT)}…` : baseMessage)
  const rawCode = info.code ?? info.rpcStatus ?? info.type
  const code = rawCode === undefined ? undefined : scrub(rawCode)
  return new HardFailure({
    reason,
    provider: input.provider ?? "unknown",
    model: input.model ?? "unknown",
    status,
    message,
    ...(info.param === undefined ? {} : { param: scrub(info.param) }),
    ...(code === undefined ? {} : { code }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(Option.isSome(retryAfter) ? { retryAfter: retryAfter.value } : {}),
    ...(text.length === 0 ? {} : { rawBody: scrub(boundBody(text)) })
  })
}

/**
 * What is known about a request that never got a response.
 *
 * @since 0.1.0
 */
export interface TransportInput {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly secrets?: ReadonlyArray<Redacted.Redacted> | undefined
}

const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"])

const causeChain = (error: unknown): ReadonlyArray<unknown> => {
  const chain: Array<unknown> = []
  let current: unknown = error
  while (current !== undefined && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current)
    current = isRecord(current) || current instanceof Error ? (current as { cause?: unknown }).cause : undefined
  }
  return chain
}

/**
 * Classify a transport failure (refused, reset, DNS, TLS, aborted body) as
 * `Network`, or `Timeout` when a socket/connect/headers/body time-out fired.
 *
 * @since 0.1.0
 */
export const classifyTransportError = (error: unknown, input: TransportInput = {}): HardFailure => {
  const chain = causeChain(error)
  const codes = chain.flatMap((e) => (isRecord(e) && typeof e["code"] === "string" ? [e["code"]] : []))
  const names = chain.flatMap((e) =>
    e instanceof Error
      ? [e.name]
      : isRecord(e)
      ? [e["_tag"], e["name"]].filter((n): n is string => typeof n === "string")
      : []
  )
  const messages = chain.flatMap((e) =>
    e instanceof Error || isRecord(e) ? (typeof (e as { message?: unknown }).message === "string" ? [(e as { message: string }).message] : []) : typeof e === "string" ? [e] : []
  ).filter((m) => m.length > 0)
  const timedOut = codes.some((c) => TIMEOUT_CODES.has(c)) || names.some((n) => n === "TimeoutError" || n === "TimeoutException")
  const code = codes[codes.length - 1]
  const detail = [...new Set(messages)].join(": ")
  return new HardFailure({
    reason: timedOut ? "Timeout" : "Network",
    provider: input.provider ?? "unknown",
    model: input.model ?? "unknown",
    message: scrubSecrets(squash(detail.length > 0 ? detail : timedOut ? "request timed out" : "transport failure", 500), input.secrets),
    ...(code === undefined ? {} : { code })
  })
}
