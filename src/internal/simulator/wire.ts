/**
 * Literal wire shapes of the vendors the simulator imitates: error bodies,
 * gateway pages and retry hints. Built by hand on purpose (they are what the
 * project's parsers must cope with, not what its schemas say).
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Duration, Effect, Stream } from "effect"
import type { Fault } from "../../Simulator.js"
import { OVERSIZED_BODY_BYTES, SLOW_DRIP_BYTES, SLOW_DRIP_INTERVAL_MS } from "./faults.js"

/**
 * Whose error shapes an answer uses: the OpenAI-compatible routes, Gemini, or
 * the task API of a Kling / Runway video model. @internal
 */
export type Route = "openai" | "gemini" | "kling" | "runway"

/** A JSON response. @internal */
export const json = (status: number, body: unknown, headers?: Record<string, string>): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json", headers })

/** An OpenAI-style error. @internal */
export const openaiError = (
  status: number,
  message: string,
  options: { readonly type?: string; readonly param?: string | null; readonly code?: string | null } = {},
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse =>
  json(status, {
    error: {
      message,
      type: options.type ?? "invalid_request_error",
      param: options.param ?? null,
      code: options.code ?? null
    }
  }, headers)

/** A Google `google.rpc.Status` error. @internal */
export const geminiError = (
  code: number,
  status: string,
  message: string,
  details?: ReadonlyArray<unknown>,
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse =>
  json(code, { error: { code, message, status, ...(details === undefined ? {} : { details }) } }, headers)

/**
 * A Kling error: `{"code": <service code>, "message": ..., "request_id": ...}`
 * with the HTTP status of the code (1201 → 400, 1302 → 429, 5000 → 500,
 * 5001 → 503, ...). @internal
 */
export const klingError = (
  status: number,
  code: number,
  message: string,
  requestId: string,
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse => json(status, { code, message, request_id: requestId }, headers)

/** A Runway error: `{"error": "<message>"}` (validation errors add `issues`). @internal */
export const runwayError = (
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse => json(status, { error: message, ...extra }, headers)

/** Mask a key the way OpenAI echoes it: `sk-ab***wxyz`. @internal */
export const maskKey = (key: string): string => {
  const [head, tail] = key.length >= 18 ? [5, 4] : [Math.floor(key.length / 4), Math.floor(key.length / 4)]
  return `${key.slice(0, head)}***${tail === 0 ? "" : key.slice(-tail)}`
}

/** Real seconds as a short decimal: 20 → "20", 33.3 ms → "0.033". @internal */
export const formatSeconds = (ms: number): string => {
  const s = Math.round(ms) / 1000
  return Number.isInteger(s) ? String(s) : s.toFixed(3).replace(/0+$/, "")
}

/** `Retry-After` (ceil seconds) and `retry-after-ms` (exact) for a real delay. @internal */
export const retryHeaders = (realMs: number): Record<string, string> => ({
  "retry-after": String(Math.ceil(realMs / 1000)),
  "retry-after-ms": String(Math.round(realMs))
})

/** The OpenAI "missing key" 401. @internal */
export const openaiMissingKey = (): HttpServerResponse.HttpServerResponse =>
  openaiError(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
  )

/** The OpenAI "wrong key" 401 (key masked). @internal */
export const openaiInvalidKey = (key: string): HttpServerResponse.HttpServerResponse =>
  openaiError(
    401,
    `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    { code: "invalid_api_key" }
  )

/** Google's answer to a request without credentials. @internal */
export const geminiMissingKey = (): HttpServerResponse.HttpServerResponse =>
  geminiError(
    401,
    "UNAUTHENTICATED",
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
  )

/** Google's answer to a wrong API key. @internal */
export const geminiInvalidKey = (): HttpServerResponse.HttpServerResponse =>
  geminiError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [{
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason: "API_KEY_INVALID",
    domain: "googleapis.com",
    metadata: { service: "generativelanguage.googleapis.com" }
  }])

/** OpenAI's answer to a body that is not JSON. @internal */
export const openaiInvalidJson = (): HttpServerResponse.HttpServerResponse =>
  openaiError(
    400,
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)"
  )

/** Google's answer to a body that is not JSON. @internal */
export const geminiInvalidJson = (): HttpServerResponse.HttpServerResponse =>
  geminiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.", [{
    "@type": "type.googleapis.com/google.rpc.BadRequest",
    fieldViolations: [{ description: "Invalid JSON payload received. Unexpected token." }]
  }])

/** OpenAI "missing required parameter". @internal */
export const openaiMissingParam = (param: string): HttpServerResponse.HttpServerResponse =>
  openaiError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" })

/** OpenAI unknown model. @internal */
export const openaiModelNotFound = (model: string): HttpServerResponse.HttpServerResponse =>
  openaiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, {
    param: "model",
    code: "model_not_found"
  })

/** Google unknown model. @internal */
export const geminiModelNotFound = (model: string): HttpServerResponse.HttpServerResponse =>
  geminiError(404, "NOT_FOUND", `models/${model} is not found for API version v1beta, or is not supported for generateContent.`)

/** OpenAI context length exceeded. @internal */
export const openaiContextLength = (limit: number, used: number, param = "messages"): HttpServerResponse.HttpServerResponse =>
  openaiError(
    400,
    `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${used} tokens. Please reduce the length of the messages.`,
    { param, code: "context_length_exceeded" }
  )

/** Google context length exceeded. @internal */
export const geminiContextLength = (limit: number, used: number): HttpServerResponse.HttpServerResponse =>
  geminiError(
    400,
    "INVALID_ARGUMENT",
    `The input token count (${used}) exceeds the maximum number of tokens allowed (${limit}).`
  )

/** The OpenAI images route's safety refusal. @internal */
export const imageModerationBlocked = (requestId: string): HttpServerResponse.HttpServerResponse =>
  json(400, {
    error: {
      code: "moderation_blocked",
      message:
        `Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID ${requestId}.`,
      param: null,
      type: "image_generation_user_error"
    }
  })

/** An S3-style XML error (expired or missing pre-signed URL). @internal */
export const s3Error = (status: number, code: string, message: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    { status, contentType: "application/xml" }
  )

const NGINX_502 =
  "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"

/** What a hard fault needs to know. @internal */
export interface FaultContext {
  readonly model: string
  /** The provider's retry hint, in real milliseconds. */
  readonly retryAfterMs: number
  /** The request's id (Kling repeats it in the body). */
  readonly requestId: string
}

const QUOTA_HELP = {
  "@type": "type.googleapis.com/google.rpc.Help",
  links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }]
}

/**
 * The response of a hard fault that answers with an HTTP error (not
 * `connectionReset`/`hang`, not the soft ones), or `undefined`.
 *
 * @internal
 */
export const hardFaultResponse = (
  route: Route,
  fault: Fault,
  ctx: FaultContext
): HttpServerResponse.HttpServerResponse | undefined => {
  if (route === "kling" || route === "runway") {
    const vendor = route === "kling" ? klingFault(fault, ctx) : runwayFault(fault, ctx)
    if (vendor !== undefined) return vendor
  }
  switch (fault) {
    case "overloaded":
      return route === "openai"
        ? json(503, {
          error: {
            message:
              "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.",
            code: "upstream_error",
            status: 503
          }
        })
        : geminiError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    case "rateLimited": {
      const seconds = formatSeconds(ctx.retryAfterMs)
      if (route === "openai") {
        return openaiError(
          429,
          `Rate limit reached for requests per min (RPM) on ${ctx.model}. Please try again in ${seconds}s.`,
          { type: "requests", code: "rate_limit_exceeded" },
          {
            ...retryHeaders(ctx.retryAfterMs),
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": `${seconds}s`
          }
        )
      }
      return geminiError(
        429,
        "RESOURCE_EXHAUSTED",
        `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in ${seconds}s.`,
        [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [{
              quotaMetric: "generativelanguage.googleapis.com/generate_content_requests",
              quotaId: "GenerateRequestsPerMinutePerProjectPerModel",
              quotaDimensions: { location: "global", model: ctx.model },
              quotaValue: "60"
            }]
          },
          QUOTA_HELP,
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${seconds}s` }
        ],
        retryHeaders(ctx.retryAfterMs)
      )
    }
    case "quotaExhausted":
      return route === "openai"
        ? openaiError(429, "You exceeded your current quota, please check your plan and billing details.", {
          type: "insufficient_quota",
          code: "insufficient_quota"
        })
        : geminiError(
          429,
          "RESOURCE_EXHAUSTED",
          "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
          [
            {
              "@type": "type.googleapis.com/google.rpc.QuotaFailure",
              violations: [{
                quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                quotaDimensions: { location: "global", model: ctx.model },
                quotaValue: "250"
              }]
            },
            QUOTA_HELP
          ]
        )
    case "serverError":
      return route === "openai"
        ? openaiError(500, "The server had an error while processing your request. Sorry about that!", {
          type: "server_error"
        })
        : geminiError(
          500,
          "INTERNAL",
          "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        )
    case "badGateway":
      return HttpServerResponse.text(NGINX_502, { status: 502, contentType: "text/html" })
    case "gatewayTimeout":
      return HttpServerResponse.text("upstream request timeout", { status: 504, contentType: "text/plain" })
    default:
      return undefined
  }
}

/**
 * Kling's answers to the vendor-level hard faults (its service codes and the
 * HTTP status of each); gateway faults fall through to the common ones.
 */
const klingFault = (fault: Fault, ctx: FaultContext): HttpServerResponse.HttpServerResponse | undefined => {
  switch (fault) {
    case "overloaded":
      return klingError(503, 5001, "Server temporarily unavailable, please try again later", ctx.requestId)
    case "rateLimited":
      return klingError(
        429,
        1302,
        "API request too frequent, exceeding the rate limit; please reduce the request frequency",
        ctx.requestId,
        retryHeaders(ctx.retryAfterMs)
      )
    case "quotaExhausted":
      return klingError(429, 1102, "Account resource pack depleted or expired", ctx.requestId)
    case "serverError":
      return klingError(500, 5000, "Server internal error", ctx.requestId)
    default:
      return undefined
  }
}

/** Runway's answers to the vendor-level hard faults; gateway faults fall through. */
const runwayFault = (fault: Fault, ctx: FaultContext): HttpServerResponse.HttpServerResponse | undefined => {
  switch (fault) {
    case "overloaded":
      return runwayError(503, "The service is currently overloaded. Please try again later.")
    case "rateLimited":
      return runwayError(429, "You have exceeded the rate limit. Please slow down your requests.", {}, retryHeaders(ctx.retryAfterMs))
    case "quotaExhausted":
      return runwayError(429, "You do not have enough credits to run this task.")
    case "serverError":
      return runwayError(500, "An unexpected error occurred.")
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------
// body-level faults: the status and headers are fine, the body is not
// ---------------------------------------------------------------------------

const encoder = new TextEncoder()
const PAD_CHUNK_BYTES = 64 * 1024
/** One shared, never-mutated chunk of padding: a 5 MiB body costs 64 KiB of memory. */
const PAD_CHUNK = encoder.encode("a".repeat(PAD_CHUNK_BYTES))

/**
 * HTTP 200 with a body of exactly `OVERSIZED_BODY_BYTES`:
 * `{"x_padding":"aaaa…",` + the answer's own fields; chunked (no
 * `Content-Length`) unless `declareLength`.
 * Valid JSON, so a client without a size bound reads it all and succeeds;
 * produced lazily, chunk by chunk, as fast as the client reads.
 *
 * @internal
 */
export const oversizedJson = (
  body: unknown,
  declareLength: boolean = false,
  totalBytes: number = OVERSIZED_BODY_BYTES
): HttpServerResponse.HttpServerResponse => {
  const answer = JSON.stringify(body)
  const head = encoder.encode(`{"x_padding":"`)
  const tail = encoder.encode(answer.length > 2 ? `",${answer.slice(1)}` : `"}`)
  const padding = Math.max(0, totalBytes - head.byteLength - tail.byteLength)
  const full = Math.floor(padding / PAD_CHUNK_BYTES)
  const rest = padding - full * PAD_CHUNK_BYTES
  const pad = Stream.repeatValue(PAD_CHUNK).pipe(Stream.take(full))
  return HttpServerResponse.stream(
    Stream.make(head).pipe(
      Stream.concat(pad),
      Stream.concat(Stream.make(PAD_CHUNK.subarray(0, rest), tail))
    ),
    declareLength
      ? { status: 200, contentType: "application/json", contentLength: head.byteLength + padding + tail.byteLength }
      : { status: 200, contentType: "application/json" }
  )
}

/**
 * HTTP 200 whose headers go out at once and whose body (the full answer)
 * follows `SLOW_DRIP_BYTES` bytes at a time, one piece every
 * `SLOW_DRIP_INTERVAL_MS` of `Clock` time.
 *
 * @internal
 */
export const slowDripJson = (
  body: unknown,
  pieceBytes: number = SLOW_DRIP_BYTES,
  intervalMs: number = SLOW_DRIP_INTERVAL_MS
): HttpServerResponse.HttpServerResponse => {
  const bytes = encoder.encode(JSON.stringify(body))
  const pieces = Math.ceil(bytes.byteLength / pieceBytes)
  const piece = (i: number) => bytes.subarray(i * pieceBytes, (i + 1) * pieceBytes)
  return HttpServerResponse.stream(
    Stream.make(piece(0)).pipe(
      Stream.concat(
        Stream.range(1, pieces - 1).pipe(
          Stream.mapEffect((i) => Effect.as(Effect.sleep(Duration.millis(intervalMs)), piece(i)))
        )
      )
    ),
    { status: 200, contentType: "application/json" }
  )
}

/**
 * HTTP 200 with the first half of the answer, after which `disconnect` closes
 * the connection (the body never ends; the response is then abandoned).
 *
 * @internal
 */
export const midResponseDisconnectJson = (body: unknown, disconnect: () => void): HttpServerResponse.HttpServerResponse => {
  const text = JSON.stringify(body)
  const half = encoder.encode(text.slice(0, Math.max(1, Math.floor(text.length / 2))))
  return HttpServerResponse.stream(
    Stream.make(half).pipe(
      Stream.concat(Stream.fromEffect(Effect.suspend(() => {
        disconnect()
        return Effect.never
      })))
    ),
    { status: 200, contentType: "application/json" }
  )
}
