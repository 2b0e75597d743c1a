import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, FastCheck as fc, Option, Redacted } from "effect"
import {
  classifyResponse,
  classifyTransportError,
  type HeadersInput,
  parseProtoDuration,
  type ResponseInput,
  retryAfterFromHeaders
} from "../src/Classification.js"
import {
  type HardFailure,
  HardReason,
  isFallbackEligible,
  isRetryable,
  RAW_BODY_LIMIT
} from "../src/Failure.js"

// The README truth table, restated here independently of src/Failure.ts.
const RETRYABLE: ReadonlySet<HardReason> = new Set<HardReason>([
  "Timeout",
  "Network",
  "Overloaded",
  "ServerError",
  "RateLimited"
])
const FALLBACK: ReadonlySet<HardReason> = new Set<HardReason>([
  "Overloaded",
  "ServerError",
  "Timeout",
  "Network",
  "RateLimited",
  "QuotaExhausted",
  "NotFound",
  "ContextLengthExceeded",
  "Redirected"
])

const expectTruthTable = (failure: HardFailure): void => {
  expect(isRetryable(failure)).toBe(RETRYABLE.has(failure.reason))
  expect(isFallbackEligible(failure)).toBe(FALLBACK.has(failure.reason))
  expect(isFallbackEligible(failure, { contentFiltered: true })).toBe(
    FALLBACK.has(failure.reason) || failure.reason === "ContentFiltered"
  )
}

const millis = (failure: HardFailure): number | undefined =>
  failure.retryAfter === undefined ? undefined : Duration.toMillis(failure.retryAfter)

/** The maximum length of the "…[N more characters]" marker for bodies up to 1e9 characters. */
const MARKER_MAX = "…[999999999 more characters]".length

interface Case {
  readonly name: string
  readonly status: number
  readonly body: string | Uint8Array | null
  readonly headers?: HeadersInput
  readonly now?: number
  readonly secrets?: ReadonlyArray<Redacted.Redacted>
  readonly reason: HardReason
  /** Exact message, or a pattern when only part of it is the provider's. */
  readonly message: string | RegExp
  /** Absent means the failure must not carry one. */
  readonly param?: string
  readonly code?: string
  readonly requestId?: string
  readonly retryAfterMs?: number
}

const json = (u: unknown): string => JSON.stringify(u)

// ---------------------------------------------------------------------------
// OpenAI: {"error":{"message","type","param","code"}}
// ---------------------------------------------------------------------------

const openaiRateLimit = json({
  error: {
    message:
      "Rate limit reached for gpt-4o in organization org-AbCdEf0123456789 on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
    type: "requests",
    param: null,
    code: "rate_limit_exceeded"
  }
})
const openaiRateLimitMessage =
  "Rate limit reached for gpt-4o in organization org-AbCdEf0123456789 on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more."

const openai: ReadonlyArray<Case> = [
  {
    name: "OpenAI 400 invalid parameter keeps param",
    status: 400,
    headers: { "x-request-id": "req_7f3c1e2a9b0d4c5e8f6a1b2c3d4e5f60", "content-type": "application/json" },
    body: json({
      error: {
        message:
          "Invalid value: '1000x1000'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.",
        type: "invalid_request_error",
        param: "size",
        code: "invalid_value"
      }
    }),
    reason: "BadRequest",
    message: "Invalid value: '1000x1000'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.",
    param: "size",
    code: "invalid_value",
    requestId: "req_7f3c1e2a9b0d4c5e8f6a1b2c3d4e5f60"
  },
  {
    name: "OpenAI 400 unknown parameter (GPT Image rejects response_format)",
    status: 400,
    body: json({
      error: {
        message: "Unknown parameter: 'response_format'.",
        type: "invalid_request_error",
        param: "response_format",
        code: "unknown_parameter"
      }
    }),
    reason: "BadRequest",
    message: "Unknown parameter: 'response_format'.",
    param: "response_format",
    code: "unknown_parameter"
  },
  {
    name: "OpenAI 401 invalid_api_key scrubs the echoed masked key",
    status: 401,
    headers: { "x-request-id": "req_a1b2c3d4e5f6" },
    body: json({
      error: {
        message:
          "Incorrect API key provided: sk-ab***wxyz. You can find your API key at https://platform.openai.com/account/api-keys.",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key"
      }
    }),
    reason: "Unauthorized",
    message: "Incorrect API key provided: [REDACTED]. You can find your API key at https://platform.openai.com/account/api-keys.",
    code: "invalid_api_key",
    requestId: "req_a1b2c3d4e5f6"
  },
  {
    name: "OpenAI 404 model_not_found",
    status: 404,
    body: json({
      error: {
        message: "The model `gpt-5-turbo` does not exist or you do not have access to it.",
        type: "invalid_request_error",
        param: null,
        code: "model_not_found"
      }
    }),
    reason: "NotFound",
    message: "The model `gpt-5-turbo` does not exist or you do not have access to it.",
    code: "model_not_found"
  },
  {
    name: "OpenAI 429 rate_limit_exceeded with Retry-After: 20 (header wins over the body's 120ms)",
    status: 429,
    headers: { "Retry-After": "20", "x-request-id": "req_ratelimit01" },
    body: openaiRateLimit,
    reason: "RateLimited",
    message: openaiRateLimitMessage,
    code: "rate_limit_exceeded",
    requestId: "req_ratelimit01",
    retryAfterMs: 20_000
  },
  {
    name: "OpenAI 429 rate_limit_exceeded with retry-after-ms: 1500 (preferred over Retry-After)",
    status: 429,
    headers: { "retry-after-ms": "1500", "retry-after": "2" },
    body: openaiRateLimit,
    reason: "RateLimited",
    message: openaiRateLimitMessage,
    code: "rate_limit_exceeded",
    retryAfterMs: 1500
  },
  {
    name: "OpenAI 429 rate_limit_exceeded without headers: 'Please try again in 120ms' from the message",
    status: 429,
    body: openaiRateLimit,
    reason: "RateLimited",
    message: openaiRateLimitMessage,
    code: "rate_limit_exceeded",
    retryAfterMs: 120
  },
  {
    name: "OpenAI 429 insufficient_quota is QuotaExhausted",
    status: 429,
    body: json({
      error: {
        message:
          "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type: "insufficient_quota",
        param: null,
        code: "insufficient_quota"
      }
    }),
    reason: "QuotaExhausted",
    message:
      "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    code: "insufficient_quota"
  },
  {
    name: "OpenAI 400 context_length_exceeded",
    status: 400,
    body: json({
      error: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded"
      }
    }),
    reason: "ContextLengthExceeded",
    message:
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
    param: "messages",
    code: "context_length_exceeded"
  },
  {
    name: "OpenAI 400 content_policy_violation (DALL·E)",
    status: 400,
    body: json({
      error: {
        code: "content_policy_violation",
        message:
          "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.",
        param: null,
        type: "invalid_request_error"
      }
    }),
    reason: "ContentFiltered",
    message:
      "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.",
    code: "content_policy_violation"
  },
  {
    name: "OpenAI 400 moderation_blocked (gpt-image, request id only in the message)",
    status: 400,
    body: json({
      error: {
        message:
          "Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_0a1b2c3d4e5f67890a1b2c3d4e5f6789.",
        type: "image_generation_user_error",
        param: null,
        code: "moderation_blocked"
      }
    }),
    reason: "ContentFiltered",
    message:
      "Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_0a1b2c3d4e5f67890a1b2c3d4e5f6789.",
    code: "moderation_blocked",
    requestId: "req_0a1b2c3d4e5f67890a1b2c3d4e5f6789"
  },
  {
    name: "OpenAI 400 image_generation_user_error that is not a safety block stays BadRequest",
    status: 400,
    body: json({
      error: {
        message: "Invalid image file or mode for image 1, please check your image file.",
        type: "image_generation_user_error",
        param: null,
        code: "invalid_image_file"
      }
    }),
    reason: "BadRequest",
    message: "Invalid image file or mode for image 1, please check your image file.",
    code: "invalid_image_file"
  },
  {
    name: "OpenAI 500 server_error",
    status: 500,
    headers: { "x-request-id": "req_5e7e7e7e7e7e" },
    body: json({
      error: {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null
      }
    }),
    reason: "ServerError",
    message: "The server had an error while processing your request. Sorry about that!",
    code: "server_error",
    requestId: "req_5e7e7e7e7e7e"
  },
  {
    name: "OpenAI 503 'engine is currently overloaded'",
    status: 503,
    body: json({
      error: {
        message: "The engine is currently overloaded, please try again later",
        type: "server_error",
        param: null,
        code: null
      }
    }),
    reason: "Overloaded",
    message: "The engine is currently overloaded, please try again later",
    code: "server_error"
  }
]

// ---------------------------------------------------------------------------
// Google: google.rpc.Status
// ---------------------------------------------------------------------------

const geminiQuotaMessage =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."

const quotaFailure = (quotaId: string) => ({
  "@type": "type.googleapis.com/google.rpc.QuotaFailure",
  violations: [
    {
      quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
      quotaId,
      quotaDimensions: { location: "global", model: "gemini-2.0-flash" },
      quotaValue: "10"
    }
  ]
})
const help = {
  "@type": "type.googleapis.com/google.rpc.Help",
  links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }]
}
const retryInfo = (retryDelay: string) => ({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay })

const googleOverloaded = { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" }

const google: ReadonlyArray<Case> = [
  {
    name: "Google 503 UNAVAILABLE 'The model is overloaded'",
    status: 503,
    headers: { "x-goog-request-id": "g-0123456789" },
    body: json({ error: googleOverloaded }),
    reason: "Overloaded",
    message: "The model is overloaded. Please try again later.",
    code: "UNAVAILABLE",
    requestId: "g-0123456789"
  },
  {
    name: "Google 429 RESOURCE_EXHAUSTED with RetryInfo 34s (per-minute quota)",
    status: 429,
    body: json({
      error: {
        code: 429,
        message: `${geminiQuotaMessage}\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.0-flash\nPlease retry in 34.363014101s.`,
        status: "RESOURCE_EXHAUSTED",
        details: [quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"), help, retryInfo("34s")]
      }
    }),
    reason: "RateLimited",
    message: `${geminiQuotaMessage}\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.0-flash\nPlease retry in 34.363014101s.`,
    code: "RESOURCE_EXHAUSTED",
    retryAfterMs: 34_000
  },
  {
    name: "Google 429 RESOURCE_EXHAUSTED with RetryInfo 1.5s",
    status: 429,
    body: json({
      error: {
        code: 429,
        message: "Resource has been exhausted (e.g. check quota).",
        status: "RESOURCE_EXHAUSTED",
        details: [retryInfo("1.5s")]
      }
    }),
    reason: "RateLimited",
    message: "Resource has been exhausted (e.g. check quota).",
    code: "RESOURCE_EXHAUSTED",
    retryAfterMs: 1500
  },
  {
    name: "Google 429 QuotaFailure PerDay is QuotaExhausted (RetryInfo still reported)",
    status: 429,
    body: json({
      error: {
        code: 429,
        message: geminiQuotaMessage,
        status: "RESOURCE_EXHAUSTED",
        details: [quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"), help, retryInfo("56s")]
      }
    }),
    reason: "QuotaExhausted",
    message: geminiQuotaMessage,
    code: "RESOURCE_EXHAUSTED",
    retryAfterMs: 56_000
  },
  {
    name: "Google 429 QuotaFailure PerMinute without RetryInfo is RateLimited despite 'exceeded your current quota'",
    status: 429,
    body: json({
      error: {
        code: 429,
        message: geminiQuotaMessage,
        status: "RESOURCE_EXHAUSTED",
        details: [quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"), help]
      }
    }),
    reason: "RateLimited",
    message: geminiQuotaMessage,
    code: "RESOURCE_EXHAUSTED"
  },
  {
    name: "Google 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID is Unauthorized",
    status: 400,
    body: json({
      error: {
        code: 400,
        message: "API key not valid. Please pass a valid API key.",
        status: "INVALID_ARGUMENT",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "API_KEY_INVALID",
            domain: "googleapis.com",
            metadata: { service: "generativelanguage.googleapis.com" }
          },
          {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            locale: "en-US",
            message: "API key not valid. Please pass a valid API key."
          }
        ]
      }
    }),
    reason: "Unauthorized",
    message: "API key not valid. Please pass a valid API key.",
    code: "INVALID_ARGUMENT"
  },
  {
    name: "Google 400 INVALID_ARGUMENT with ErrorInfo API_KEY_EXPIRED is Unauthorized",
    status: 400,
    body: json({
      error: {
        code: 400,
        message: "API key expired. Please renew the API key.",
        status: "INVALID_ARGUMENT",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "API_KEY_EXPIRED",
            domain: "googleapis.com",
            metadata: { service: "generativelanguage.googleapis.com" }
          }
        ]
      }
    }),
    reason: "Unauthorized",
    message: "API key expired. Please renew the API key.",
    code: "INVALID_ARGUMENT"
  },
  {
    name: "Google 400 INVALID_ARGUMENT without ErrorInfo stays BadRequest",
    status: 400,
    body: json({
      error: {
        code: 400,
        message:
          "* GenerateContentRequest.generation_config.response_modalities[0]: Invalid value \"VIDEO\"\n",
        status: "INVALID_ARGUMENT"
      }
    }),
    reason: "BadRequest",
    message: "* GenerateContentRequest.generation_config.response_modalities[0]: Invalid value \"VIDEO\"\n",
    code: "INVALID_ARGUMENT"
  },
  {
    name: "Google 404 NOT_FOUND",
    status: 404,
    body: json({
      error: {
        code: 404,
        message:
          "models/gemini-1.0-pro is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
        status: "NOT_FOUND"
      }
    }),
    reason: "NotFound",
    message:
      "models/gemini-1.0-pro is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
    code: "NOT_FOUND"
  },
  {
    name: "Google 500 INTERNAL",
    status: 500,
    body: json({
      error: {
        code: 500,
        message:
          "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        status: "INTERNAL"
      }
    }),
    reason: "ServerError",
    message:
      "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    code: "INTERNAL"
  },
  {
    name: "Google 504 DEADLINE_EXCEEDED is Timeout",
    status: 504,
    body: json({
      error: { code: 504, message: "Deadline expired before operation could complete.", status: "DEADLINE_EXCEEDED" }
    }),
    reason: "Timeout",
    message: "Deadline expired before operation could complete.",
    code: "DEADLINE_EXCEEDED"
  },
  {
    name: "Google array-wrapped error (streamGenerateContent)",
    status: 503,
    body: json([{ error: googleOverloaded }]),
    reason: "Overloaded",
    message: "The model is overloaded. Please try again later.",
    code: "UNAVAILABLE"
  }
]

// ---------------------------------------------------------------------------
// Gateways / aggregators
// ---------------------------------------------------------------------------

const highDemand =
  "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later."
const gatewayBody = json({ error: { message: highDemand, code: "upstream_error", status: 503 } })

const gateway: ReadonlyArray<Case> = [
  ...[503, 502, 500].map((status): Case => ({
    name: `gateway upstream_error 'high demand' (body status 503) with HTTP ${status}`,
    status,
    body: gatewayBody,
    reason: "Overloaded",
    message: highDemand,
    code: "upstream_error"
  })),
  {
    name: "OpenRouter 429 'Provider returned error' with text in metadata.raw",
    status: 429,
    body: json({
      error: {
        message: "Provider returned error",
        code: 429,
        metadata: {
          raw:
            "google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations",
          provider_name: "Google"
        }
      },
      user_id: "user_2abcDEF"
    }),
    reason: "RateLimited",
    message:
      "Provider returned error: google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations"
  },
  {
    name: "OpenRouter 429 with Google's JSON in metadata.raw (inner message, status and RetryInfo used)",
    status: 429,
    body: json({
      error: {
        message: "Provider returned error",
        code: 429,
        metadata: {
          raw: json({
            error: {
              code: 429,
              message: "Resource has been exhausted (e.g. check quota).",
              status: "RESOURCE_EXHAUSTED",
              details: [retryInfo("7s")]
            }
          }),
          provider_name: "Google"
        }
      }
    }),
    reason: "RateLimited",
    message: "Provider returned error: Resource has been exhausted (e.g. check quota).",
    code: "RESOURCE_EXHAUSTED",
    retryAfterMs: 7000
  },
  {
    name: "OpenRouter 502 wrapping Google's UNAVAILABLE is Overloaded",
    status: 502,
    body: json({
      error: {
        message: "Provider returned error",
        code: 502,
        metadata: { raw: json({ error: googleOverloaded }), provider_name: "Google AI Studio" }
      }
    }),
    reason: "Overloaded",
    message: "Provider returned error: The model is overloaded. Please try again later.",
    code: "UNAVAILABLE"
  },
  {
    name: "one-api/new-api gateway: request id taken from '(request id: …)' in the message",
    status: 503,
    body: json({
      error: {
        message: `${highDemand} (request id: 2025112112345678)`,
        type: "new_api_error",
        param: "",
        code: "upstream_error"
      }
    }),
    reason: "Overloaded",
    message: `${highDemand} (request id: 2025112112345678)`,
    code: "upstream_error",
    requestId: "2025112112345678"
  }
]

// ---------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------

const anthropicRateLimitMessage =
  "This request would exceed the rate limit for your organization (0a1b2c3d-0000-1111-2222-333344445555) of 50,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase."

const anthropic: ReadonlyArray<Case> = [
  {
    name: "Anthropic 529 overloaded_error with request-id header",
    status: 529,
    headers: { "request-id": "req_011CSHoEeqs5C35K2UUqR7Fy" },
    body: json({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
    reason: "Overloaded",
    message: "Overloaded",
    code: "overloaded_error",
    requestId: "req_011CSHoEeqs5C35K2UUqR7Fy"
  },
  {
    name: "Anthropic 429 rate_limit_error with retry-after",
    status: 429,
    headers: { "retry-after": "7", "request-id": "req_011CRateLimit" },
    body: json({ type: "error", error: { type: "rate_limit_error", message: anthropicRateLimitMessage } }),
    reason: "RateLimited",
    message: anthropicRateLimitMessage,
    code: "rate_limit_error",
    requestId: "req_011CRateLimit",
    retryAfterMs: 7000
  },
  {
    name: "Anthropic 400 'prompt is too long' is ContextLengthExceeded",
    status: 400,
    body: json({
      type: "error",
      error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" }
    }),
    reason: "ContextLengthExceeded",
    message: "prompt is too long: 210000 tokens > 200000 maximum",
    code: "invalid_request_error"
  },
  {
    name: "Anthropic 400 invalid_request_error (max_tokens) is BadRequest",
    status: 400,
    body: json({
      type: "error",
      error: {
        type: "invalid_request_error",
        message:
          "max_tokens: 300000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-20250514"
      }
    }),
    reason: "BadRequest",
    message:
      "max_tokens: 300000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-20250514",
    code: "invalid_request_error"
  },
  {
    name: "Anthropic 401 authentication_error",
    status: 401,
    body: json({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }),
    reason: "Unauthorized",
    message: "invalid x-api-key",
    code: "authentication_error"
  },
  {
    name: "Anthropic 404 not_found_error with request_id in the body",
    status: 404,
    body: json({
      type: "error",
      error: { type: "not_found_error", message: "model: claude-3-opus-2024" },
      request_id: "req_011CSNotFound"
    }),
    reason: "NotFound",
    message: "model: claude-3-opus-2024",
    code: "not_found_error",
    requestId: "req_011CSNotFound"
  },
  {
    name: "Anthropic 500 api_error",
    status: 500,
    body: json({ type: "error", error: { type: "api_error", message: "Internal server error" } }),
    reason: "ServerError",
    message: "Internal server error",
    code: "api_error"
  }
]

// ---------------------------------------------------------------------------
// Not JSON
// ---------------------------------------------------------------------------

const nginx502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
`
const cloudflare524 = `<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html class="no-js" lang="en-US">
<head>
<title>api.example.com | 524: A timeout occurred</title>
<meta charset="UTF-8" />
<style>body{margin:0;padding:0}</style>
</head>
<body>
<div id="cf-wrapper">
<h1 class="inline-block md:block mr-2 md:mb-2 font-light text-60 md:text-3xl text-black-dark leading-tight">
<span class="inline-block">A timeout occurred</span>
<span class="code-label">Error code 524</span>
</h1>
<p>The origin web server timed out responding to this request. Please try again in a few minutes.</p>
<span>Cloudflare Ray ID: <strong class="font-semibold">8e1c2b3a4d5f6789</strong></span>
</div>
</body>
</html>`
const maintenance503 = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>503 Service Unavailable</title>
</head><body>
<h1>Service Unavailable</h1>
<p>The server is temporarily unable to service your
request due to maintenance downtime or capacity
problems. Please try again later.</p>
</body></html>
`

const nonJson: ReadonlyArray<Case> = [
  {
    name: "nginx 502 HTML page",
    status: 502,
    headers: { "content-type": "text/html" },
    body: nginx502,
    reason: "ServerError",
    message: "HTTP 502: 502 Bad Gateway"
  },
  {
    name: "Cloudflare 524 HTML page is Timeout (cf-ray as request id)",
    status: 524,
    headers: { "content-type": "text/html; charset=UTF-8", "cf-ray": "8e1c2b3a4d5f6789-NRT" },
    body: cloudflare524,
    reason: "Timeout",
    message: "HTTP 524: api.example.com | 524: A timeout occurred",
    requestId: "8e1c2b3a4d5f6789-NRT"
  },
  {
    name: "Apache 503 maintenance HTML page is Overloaded",
    status: 503,
    body: maintenance503,
    reason: "Overloaded",
    message: "HTTP 503: 503 Service Unavailable"
  },
  {
    name: "Envoy plain-text 504 'upstream request timeout'",
    status: 504,
    headers: { "content-type": "text/plain" },
    body: "upstream request timeout",
    reason: "Timeout",
    message: "HTTP 504: upstream request timeout"
  },
  {
    name: "empty 503 body",
    status: 503,
    body: "",
    reason: "Overloaded",
    message: "HTTP 503 Service Unavailable with an empty body"
  },
  {
    name: "null 502 body",
    status: 502,
    body: null,
    reason: "ServerError",
    message: "HTTP 502 Bad Gateway with an empty body"
  },
  {
    name: "truncated JSON does not throw and says it is unparseable",
    status: 500,
    body: "{\"error\": {\"message\": \"trunc",
    reason: "ServerError",
    message: "unparseable error body: {\"error\": {\"message\": \"trunc"
  },
  {
    name: "Google overload body as Uint8Array",
    status: 503,
    body: new TextEncoder().encode(json({ error: googleOverloaded })),
    reason: "Overloaded",
    message: "The model is overloaded. Please try again later.",
    code: "UNAVAILABLE"
  },
  {
    name: "invalid UTF-8 bytes decode with replacement characters",
    status: 502,
    body: new Uint8Array([0xff, 0xfe, 0x42, 0x61, 0x64, 0x20, 0xc3, 0x28, 0x80]),
    reason: "ServerError",
    message: "HTTP 502: \uFFFD\uFFFDBad \uFFFD(\uFFFD"
  }
]

// ---------------------------------------------------------------------------
// Credits, keys and wording that must not be over-read
// ---------------------------------------------------------------------------

const edges: ReadonlyArray<Case> = [
  {
    name: "OpenRouter 402 insufficient credits is QuotaExhausted (another vendor may still run)",
    status: 402,
    body: json({ error: { code: 402, message: "Insufficient credits. Add more using https://openrouter.ai/settings/credits" } }),
    reason: "QuotaExhausted",
    message: "Insufficient credits. Add more using https://openrouter.ai/settings/credits"
  },
  {
    name: "DeepSeek 402 Insufficient Balance is QuotaExhausted",
    status: 402,
    body: json({ error: { message: "Insufficient Balance", type: "unknown_error", param: null, code: "invalid_request_error" } }),
    reason: "QuotaExhausted",
    message: "Insufficient Balance",
    code: "invalid_request_error"
  },
  {
    name: "a gateway's 400 with code invalid_api_key is Unauthorized",
    status: 400,
    body: json({ error: { message: "Invalid API key.", type: "invalid_request_error", param: null, code: "invalid_api_key" } }),
    reason: "Unauthorized",
    message: "Invalid API key.",
    code: "invalid_api_key"
  },
  {
    name: "a 400 about the `moderation` parameter is a BadRequest, not a safety block",
    status: 400,
    body: json({ error: { message: "Invalid value for 'moderation': expected 'auto' or 'low'.", type: "invalid_request_error", param: "moderation", code: "invalid_value" } }),
    reason: "BadRequest",
    message: "Invalid value for 'moderation': expected 'auto' or 'low'.",
    param: "moderation",
    code: "invalid_value"
  },
  {
    name: "a generic 500 that says 'Please try again later' stays ServerError",
    status: 500,
    body: json({ error: { message: "Something went wrong. Please try again later.", type: "server_error", param: null, code: null } }),
    reason: "ServerError",
    message: "Something went wrong. Please try again later.",
    code: "server_error"
  }
]

// Video vendors answer submit errors in their own envelopes.
const videoVendors: ReadonlyArray<Case> = [
  {
    name: "Kling 429 code 1102 (resource pack depleted) is QuotaExhausted",
    status: 429,
    body: json({ code: 1102, message: "Account resource pack depleted or expired", request_id: "kling-req-42" }),
    reason: "QuotaExhausted",
    message: "Account resource pack depleted or expired",
    code: "1102",
    requestId: "kling-req-42"
  },
  {
    name: "Kling 429 code 1302 is RateLimited",
    status: 429,
    body: json({ code: 1302, message: "The API request is too fast, please slow down", request_id: "kling-req-43" }),
    reason: "RateLimited",
    message: "The API request is too fast, please slow down",
    code: "1302",
    requestId: "kling-req-43"
  },
  {
    name: "Kling 400 code 1301 (trust & safety) is ContentFiltered",
    status: 400,
    body: json({ code: 1301, message: "Trigger the content security policy of the platform", request_id: "kling-req-44" }),
    reason: "ContentFiltered",
    message: "Trigger the content security policy of the platform",
    code: "1301",
    requestId: "kling-req-44"
  },
  {
    name: "Kling 401 code 1002 is Unauthorized",
    status: 401,
    body: json({ code: 1002, message: "Authorization is invalid", request_id: "kling-req-45" }),
    reason: "Unauthorized",
    message: "Authorization is invalid",
    code: "1002",
    requestId: "kling-req-45"
  },
  {
    name: "Runway 429 'not enough credits' is QuotaExhausted",
    status: 429,
    body: json({ error: "You do not have enough credits to run this task." }),
    reason: "QuotaExhausted",
    message: "You do not have enough credits to run this task."
  },
  {
    name: "Anthropic 400 'credit balance is too low' is QuotaExhausted",
    status: 400,
    body: json({ type: "error", error: { type: "invalid_request_error", message: "Your credit balance is too low to access the Anthropic API." } }),
    reason: "QuotaExhausted",
    message: "Your credit balance is too low to access the Anthropic API.",
    code: "invalid_request_error"
  }
]

const allCases: ReadonlyArray<Case> = [...openai, ...google, ...gateway, ...anthropic, ...nonJson, ...edges, ...videoVendors]

const bodyText = (body: Case["body"]): string =>
  body === null ? "" : typeof body === "string" ? body : new TextDecoder().decode(body)

describe("classifyResponse: realistic provider payloads", () => {
  it.each(allCases)("$name", (c) => {
    const input: ResponseInput = {
      status: c.status,
      body: c.body,
      provider: "test-provider",
      model: "test-model",
      ...(c.headers === undefined ? {} : { headers: c.headers }),
      ...(c.now === undefined ? {} : { now: c.now }),
      ...(c.secrets === undefined ? {} : { secrets: c.secrets })
    }
    const failure = classifyResponse(input)
    expect(failure._tag).toBe("HardFailure")
    expect(failure.reason).toBe(c.reason)
    expect(failure.status).toBe(c.status)
    expect(failure.provider).toBe("test-provider")
    expect(failure.model).toBe("test-model")
    if (typeof c.message === "string") expect(failure.message).toBe(c.message)
    else expect(failure.message).toMatch(c.message)
    expect(failure.param).toBe(c.param)
    expect(failure.code).toBe(c.code)
    expect(failure.requestId).toBe(c.requestId)
    expect(millis(failure)).toBe(c.retryAfterMs)
    // Small bodies are kept whole (scrubbed of echoed keys).
    const text = bodyText(c.body)
    if (text.length === 0) expect(failure.rawBody).toBeUndefined()
    else if (!text.includes("sk-")) expect(failure.rawBody).toBe(text)
    expectTruthTable(failure)
  })

  it("the 401 echoing a masked key keeps no trace of it in message or rawBody", () => {
    const c = openai.find((x) => x.status === 401)!
    const failure = classifyResponse({ status: 401, body: c.body })
    expect(failure.message).not.toContain("sk-ab")
    expect(failure.rawBody).toBeDefined()
    expect(failure.rawBody).not.toContain("sk-ab")
    expect(failure.rawBody).not.toContain("wxyz")
    expect(failure.rawBody).toContain("[REDACTED]")
  })

  it("the nginx 502 keeps its raw HTML", () => {
    const failure = classifyResponse({ status: 502, body: nginx502 })
    expect(failure.rawBody).toBe(nginx502)
    expect(failure.message).toContain("502 Bad Gateway")
  })

  it("a body that is not an error shape still classifies by status, with a generic message", () => {
    const failure = classifyResponse({ status: 500, body: "{}" })
    expect(failure.reason).toBe("ServerError")
    expect(failure.message).toBe("HTTP 500 Internal Server Error")
    expect(failure.rawBody).toBe("{}")
  })

  it("provider and model default to 'unknown'", () => {
    const failure = classifyResponse({ status: 500 })
    expect(failure.provider).toBe("unknown")
    expect(failure.model).toBe("unknown")
  })
})

describe("Retry-After", () => {
  const date = "Wed, 21 Oct 2015 07:28:00 GMT"
  const dateMs = Date.parse(date)
  const ms = (headers: HeadersInput, now?: number): number | undefined =>
    Option.getOrUndefined(Option.map(retryAfterFromHeaders(headers, now), Duration.toMillis))

  it("delay-seconds, fractional seconds and header-name case", () => {
    expect(ms({ "Retry-After": "20" })).toBe(20_000)
    expect(ms({ "RETRY-AFTER": "0" })).toBe(0)
    expect(ms({ "retry-after": "1.5" })).toBe(1500)
    expect(ms({ "retry-after": ["3", "9"] })).toBe(3000)
  })

  it("HTTP date relative to `now`", () => {
    expect(ms({ "retry-after": date }, dateMs - 90_000)).toBe(90_000)
    // A date already past means "now".
    expect(ms({ "retry-after": date }, dateMs + 5_000)).toBe(0)
  })

  it("HTTP date relative to the Date header when `now` is absent", () => {
    expect(ms({ "retry-after": date, date: "Wed, 21 Oct 2015 07:27:30 GMT" })).toBe(30_000)
    // `now` wins over the Date header.
    expect(ms({ "retry-after": date, date: "Wed, 21 Oct 2015 07:27:30 GMT" }, dateMs - 1000)).toBe(1000)
    // No reference time at all: the date cannot be turned into a delay.
    expect(ms({ "retry-after": date })).toBeUndefined()
  })

  it("obsolete RFC 850 and asctime dates", () => {
    expect(ms({ "retry-after": "Wednesday, 21-Oct-15 07:28:00 GMT" }, dateMs - 10_000)).toBe(10_000)
    expect(ms({ "retry-after": "Wed Oct 21 07:28:00 2015" }, dateMs - 10_000)).toBe(
      Date.parse("Wed Oct 21 07:28:00 2015") - (dateMs - 10_000)
    )
  })

  it.each([
    ["negative seconds", "-5"],
    ["garbage with a number", "garbage 1"],
    ["words", "soon"],
    ["a unit", "20 seconds"],
    ["exponent", "1e3"],
    ["Infinity", "Infinity"],
    ["more than a day", "86401"],
    ["a date years ahead", "Fri, 31 Dec 9999 23:59:59 GMT"],
    ["empty", ""]
  ])("ignores %s (%j)", (_label, value) => {
    expect(ms({ "retry-after": value, date }, dateMs)).toBeUndefined()
    expect(ms({ "retry-after": value, date })).toBeUndefined()
  })

  it("exactly one day is accepted, one more second is not", () => {
    expect(ms({ "retry-after": "86400" })).toBe(86_400_000)
    expect(ms({ "retry-after": "86401" })).toBeUndefined()
  })

  it("retry-after-ms is preferred over Retry-After; an unusable retry-after-ms falls back to it", () => {
    expect(ms({ "retry-after-ms": "1500", "retry-after": "20" })).toBe(1500)
    expect(ms({ "retry-after-ms": "-1", "retry-after": "20" })).toBe(20_000)
    expect(ms({ "retry-after-ms": "soon", "retry-after": "20" })).toBe(20_000)
    expect(ms({ "retry-after-ms": "999999999999", "retry-after": "20" })).toBe(20_000)
  })

  it("classifyResponse uses `now` and the Date header", () => {
    const body = json({ error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } })
    const withNow = classifyResponse({ status: 429, headers: { "retry-after": date }, body, now: dateMs - 45_000 })
    expect(millis(withNow)).toBe(45_000)
    const withDate = classifyResponse({ status: 429, headers: { "retry-after": date, Date: "Wed, 21 Oct 2015 07:27:00 GMT" }, body })
    expect(millis(withDate)).toBe(60_000)
    const garbage = classifyResponse({ status: 429, headers: { "retry-after": "-5" }, body, now: dateMs })
    expect(garbage.retryAfter).toBeUndefined()
  })

  it("headers beat Google RetryInfo", () => {
    const failure = classifyResponse({
      status: 429,
      headers: { "retry-after": "3" },
      body: json({ error: { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED", details: [retryInfo("34s")] } })
    })
    expect(millis(failure)).toBe(3000)
  })

  it("parseProtoDuration", () => {
    const toMs = (s: string) => Option.getOrUndefined(Option.map(parseProtoDuration(s), Duration.toMillis))
    expect(toMs("34s")).toBe(34_000)
    expect(toMs("1.5s")).toBe(1500)
    expect(toMs("0.000001s")).toBe(0)
    expect(toMs("-1s")).toBeUndefined()
    expect(toMs("34")).toBeUndefined()
    expect(toMs("100000s")).toBeUndefined()
  })
})

describe("rawBody bounds and secret scrubbing", () => {
  it("keeps the first 4096 characters of a 1 MB body plus a marker", () => {
    const message = "x".repeat(1024 * 1024)
    const body = json({ error: { message, type: "server_error" } })
    const failure = classifyResponse({ status: 500, body })
    expect(failure.rawBody).toBeDefined()
    const raw = failure.rawBody!
    expect(raw.startsWith(body.slice(0, RAW_BODY_LIMIT))).toBe(true)
    expect(raw.slice(RAW_BODY_LIMIT)).toBe(`…[${body.length - RAW_BODY_LIMIT} more characters]`)
    // The message is bounded too.
    expect(failure.message.length).toBeLessThanOrEqual(RAW_BODY_LIMIT + 1)
  })

  it("a body of exactly the limit is kept whole, without marker", () => {
    const body = "y".repeat(RAW_BODY_LIMIT)
    expect(classifyResponse({ status: 502, body }).rawBody).toBe(body)
  })

  it("scrubs secrets passed in `secrets` from message and rawBody", () => {
    const key = "gw_live_9f8e7d6c5b4a3210"
    const body = json({ error: { message: `Invalid token ${key} for this group`, type: "auth_error", code: "invalid_token" } })
    const failure = classifyResponse({ status: 401, body, secrets: [Redacted.make(key)] })
    expect(failure.reason).toBe("Unauthorized")
    expect(failure.message).toBe("Invalid token [REDACTED] for this group")
    expect(failure.rawBody).not.toContain(key)
    expect(failure.rawBody).toContain("[REDACTED]")
  })

  it("scrubs a Google API key echoed in an HTML error page", () => {
    const body = "<html><head><title>Error 400 (Bad Request) key=AIzaSyD-1234567890abcdefghijklmnopq</title></head></html>"
    const failure = classifyResponse({ status: 400, body })
    expect(failure.message).not.toContain("AIza")
    expect(failure.rawBody).not.toContain("AIza")
  })
})

// ---------------------------------------------------------------------------
// Transport errors
// ---------------------------------------------------------------------------

const sysError = (message: string, fields: Record<string, unknown>): Error => Object.assign(new Error(message), fields)
const fetchFailed = (cause: unknown): TypeError => new TypeError("fetch failed", { cause })

class HeadersTimeoutError extends Error {
  override name = "HeadersTimeoutError"
  code = "UND_ERR_HEADERS_TIMEOUT"
  constructor() {
    super("Headers Timeout Error")
  }
}

interface TransportCase {
  readonly name: string
  readonly error: unknown
  readonly reason: "Network" | "Timeout"
  readonly code?: string
  readonly message: string
}

const transportCases: ReadonlyArray<TransportCase> = [
  {
    name: "undici fetch failed → ECONNREFUSED",
    error: fetchFailed(
      sysError("connect ECONNREFUSED 127.0.0.1:443", { code: "ECONNREFUSED", errno: -111, syscall: "connect", address: "127.0.0.1", port: 443 })
    ),
    reason: "Network",
    code: "ECONNREFUSED",
    message: "fetch failed: connect ECONNREFUSED 127.0.0.1:443"
  },
  {
    name: "undici fetch failed → ECONNRESET",
    error: fetchFailed(sysError("read ECONNRESET", { code: "ECONNRESET", errno: -104, syscall: "read" })),
    reason: "Network",
    code: "ECONNRESET",
    message: "fetch failed: read ECONNRESET"
  },
  {
    name: "undici fetch failed → ENOTFOUND",
    error: fetchFailed(
      sysError("getaddrinfo ENOTFOUND api.example.invalid", { code: "ENOTFOUND", errno: -3008, syscall: "getaddrinfo", hostname: "api.example.invalid" })
    ),
    reason: "Network",
    code: "ENOTFOUND",
    message: "fetch failed: getaddrinfo ENOTFOUND api.example.invalid"
  },
  {
    name: "Node 20 happy-eyeballs AggregateError (empty message) with code ECONNREFUSED",
    error: fetchFailed(
      Object.assign(
        new AggregateError([
          sysError("connect ECONNREFUSED ::1:443", { code: "ECONNREFUSED" }),
          sysError("connect ECONNREFUSED 127.0.0.1:443", { code: "ECONNREFUSED" })
        ], ""),
        { code: "ECONNREFUSED" }
      )
    ),
    reason: "Network",
    code: "ECONNREFUSED",
    message: "fetch failed"
  },
  {
    name: "undici fetch failed → UND_ERR_HEADERS_TIMEOUT",
    error: fetchFailed(new HeadersTimeoutError()),
    reason: "Timeout",
    code: "UND_ERR_HEADERS_TIMEOUT",
    message: "fetch failed: Headers Timeout Error"
  },
  {
    name: "connect ETIMEDOUT",
    error: fetchFailed(sysError("connect ETIMEDOUT 10.0.0.1:443", { code: "ETIMEDOUT", syscall: "connect" })),
    reason: "Timeout",
    code: "ETIMEDOUT",
    message: "fetch failed: connect ETIMEDOUT 10.0.0.1:443"
  },
  {
    name: "AbortSignal.timeout DOMException named TimeoutError",
    error: new DOMException("The operation was aborted due to timeout", "TimeoutError"),
    reason: "Timeout",
    message: "The operation was aborted due to timeout"
  },
  {
    name: "Effect TimeoutException",
    error: new Cause.TimeoutException("timed out after 120 seconds"),
    reason: "Timeout",
    message: "timed out after 120 seconds"
  },
  {
    name: "a plain object named TimeoutError",
    error: { name: "TimeoutError", message: "request timed out" },
    reason: "Timeout",
    message: "request timed out"
  },
  {
    name: "a user abort is Network, not Timeout",
    error: new DOMException("This operation was aborted", "AbortError"),
    reason: "Network",
    message: "This operation was aborted"
  },
  {
    name: "a bare string",
    error: "socket hang up",
    reason: "Network",
    message: "socket hang up"
  },
  {
    name: "undefined",
    error: undefined,
    reason: "Network",
    message: "transport failure"
  }
]

describe("classifyTransportError", () => {
  it.each(transportCases)("$name", (c) => {
    const failure = classifyTransportError(c.error, { provider: "p", model: "m" })
    expect(failure.reason).toBe(c.reason)
    expect(failure.code).toBe(c.code)
    expect(failure.message).toBe(c.message)
    expect(failure.status).toBeUndefined()
    expect(failure.provider).toBe("p")
    expect(failure.model).toBe("m")
    expectTruthTable(failure)
  })

  it("scrubs a key that appears in the error message", () => {
    const key = "AIzaSyD-1234567890abcdefghijklmnopq"
    const failure = classifyTransportError(
      fetchFailed(sysError(`request to https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?key=${key} failed`, { code: "ECONNRESET" })),
      { secrets: [Redacted.make(key)] }
    )
    expect(failure.message).not.toContain(key)
    expect(failure.message).toContain("[REDACTED]")
  })

  it("survives a cyclic cause chain", () => {
    const a = new Error("a") as Error & { cause?: unknown }
    const b = new Error("b", { cause: a })
    a.cause = b
    expect(classifyTransportError(a).reason).toBe("Network")
  })
})

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

const REASONS: ReadonlyArray<string> = HardReason.literals

const statusArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: 400, max: 599 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e21, 429.5, 503.999, Number.MAX_SAFE_INTEGER),
  fc.double()
)

const weirdRetryAfter = fc.oneof(
  fc.constantFrom(
    "-5", "garbage 1", "1e400", "Infinity", "NaN", "99999999999999999999", "0", "20", "1.5", "  7  ",
    "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
    "", " ", "20, 30", "0x10", "1_000"
  ),
  fc.string(),
  fc.integer().map(String),
  fc.double().map(String)
)

const headerValue = fc.oneof(weirdRetryAfter, fc.array(weirdRetryAfter, { maxLength: 3 }))
const headersArb: fc.Arbitrary<HeadersInput> = fc.dictionary(
  fc.oneof(
    fc.constantFrom("retry-after", "Retry-After", "retry-after-ms", "date", "Date", "x-request-id", "request-id", "cf-ray", "content-type"),
    fc.string()
  ),
  headerValue,
  { maxKeys: 6 }
)

const fragments = [
  "{", "}", "[", "]", ",", ":", "\"", "null", "503", "429", "\"error\"", "{\"error\":", "\"message\":", "\"code\":", "\"status\":",
  "\"type\":", "\"param\":", "\"details\":[", "\"metadata\":{\"raw\":", "\"UNAVAILABLE\"", "\"RESOURCE_EXHAUSTED\"",
  "\"overloaded_error\"", "\"insufficient_quota\"", "\"upstream_error\"", "\"The model is overloaded.\"",
  "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"99999999s\"}",
  "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1e400s\"}",
  "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaId\":\"PerDay\"}]}",
  "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}",
  "\"Please retry in 9999999999999s.\"", "\"try again in 12ms\"", "\"(request id: 2025112112345678)\"",
  "\"sk-ab***wxyz\"", "<html>", "<title>", "</title>", "502 Bad Gateway", "\uFEFF", " ", "\n"
]
const jsonish = fc.array(fc.constantFrom(...fragments), { maxLength: 40 }).map((parts) => parts.join(""))
const structured = fc.record(
  {
    message: fc.oneof(fc.string(), fc.constantFrom("The model is overloaded.", highDemand, "Please retry in 34.5s.")),
    type: fc.constantFrom("invalid_request_error", "overloaded_error", "insufficient_quota", "server_error", "api_error"),
    param: fc.oneof(fc.constant(null), fc.string()),
    code: fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.constantFrom("insufficient_quota", "upstream_error")),
    status: fc.oneof(fc.integer(), fc.constantFrom("UNAVAILABLE", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT")),
    details: fc.array(fc.oneof(fc.jsonValue(), fc.constant(retryInfo("86401s")), fc.constant(retryInfo("0.5s")))),
    metadata: fc.record({ raw: fc.oneof(fc.string(), fc.json()) })
  },
  { requiredKeys: [] }
).chain((error) => fc.constantFrom(json({ error }), json([{ error }]), json({ type: "error", error }), json(error)))

const bodyArb = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 200 }),
  jsonish,
  structured,
  fc.json(),
  fc.uint8Array({ maxLength: 300 }),
  fc.constant(null),
  fc.constant(undefined)
)

const nowArb = fc.option(fc.oneof(fc.integer(), fc.double(), fc.constant(Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))), { nil: undefined })

const DAY_MS = 24 * 60 * 60 * 1000

describe("classifyResponse properties", () => {
  it.prop(
    "is total: never throws, always a HardFailure with a valid reason and bounded fields",
    [statusArb, headersArb, bodyArb, nowArb],
    ([status, headers, body, now]) => {
      const failure = classifyResponse({ status, headers, body, now, secrets: [Redacted.make("sk-ab***wxyz")] })
      expect(failure._tag).toBe("HardFailure")
      expect(REASONS).toContain(failure.reason)
      expect(Number.isFinite(failure.status)).toBe(true)
      expect(failure.message.trim().length).toBeGreaterThan(0)
      expect(failure.message.length).toBeLessThanOrEqual(RAW_BODY_LIMIT + 1)
      if (failure.retryAfter !== undefined) {
        const ms = Duration.toMillis(failure.retryAfter)
        expect(Number.isFinite(ms)).toBe(true)
        expect(ms).toBeGreaterThanOrEqual(0)
        expect(ms).toBeLessThanOrEqual(DAY_MS)
      }
      if (failure.rawBody !== undefined) expect(failure.rawBody.length).toBeLessThanOrEqual(RAW_BODY_LIMIT + MARKER_MAX)
      expect(isRetryable(failure)).toBe(RETRYABLE.has(failure.reason))
      expect(isFallbackEligible(failure)).toBe(FALLBACK.has(failure.reason))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "retryAfterFromHeaders is always absent or within [0, 1 day]",
    [headersArb, nowArb],
    ([headers, now]) => {
      const d = retryAfterFromHeaders(headers, now)
      if (Option.isSome(d)) {
        const ms = Duration.toMillis(d.value)
        expect(Number.isFinite(ms)).toBe(true)
        expect(ms).toBeGreaterThanOrEqual(0)
        expect(ms).toBeLessThanOrEqual(DAY_MS)
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  const overloadWords = fc.constantFrom(
    "The model is overloaded. Please try again later.",
    highDemand,
    "Overloaded",
    "The server is currently overloaded with other requests.",
    "We are experiencing high demand right now"
  )
  const noise = fc.stringMatching(/^[A-Za-z0-9 ]{0,40}$/)
  const overloadBody = fc
    .tuple(fc.integer({ min: 500, max: 599 }), noise, overloadWords, noise, fc.integer({ min: 0, max: 8 }))
    .map(([status, pre, words, post, shape]) => {
      const m = `${pre} ${words} ${post}`
      const bodies = [
        json({ error: { message: m, type: "server_error", param: null, code: null } }),
        json({ error: { message: m, code: "upstream_error", status } }),
        json({ error: { code: status, message: m, status: "UNAVAILABLE" } }),
        json({ error: { code: status, message: m, status: "INTERNAL" } }),
        json({ error: { code: status, message: m, status: "DEADLINE_EXCEEDED" } }),
        json({ type: "error", error: { type: "api_error", message: m } }),
        json({ message: m }),
        `<html><head><title>${m}</title></head><body></body></html>`,
        m
      ]
      return { status, body: bodies[shape]!, shape }
    })

  it.prop("any 5xx body saying 'overloaded' / 'high demand' is Overloaded", [overloadBody], ([{ body, status }]) => {
    const failure = classifyResponse({ status, body })
    expect(failure.reason).toBe("Overloaded")
    expect(isRetryable(failure)).toBe(true)
    expect(isFallbackEligible(failure)).toBe(true)
  })

  const quotaBody = fc
    .tuple(fc.integer({ min: 400, max: 499 }), fc.string(), fc.integer({ min: 0, max: 4 }))
    .map(([status, message, shape]) => {
      const bodies = [
        json({ error: { message, type: "insufficient_quota", param: null, code: "insufficient_quota" } }),
        json({ error: { message, type: "invalid_request_error", param: null, code: "insufficient_quota" } }),
        json({ error: { message, type: "insufficient_quota" } }),
        json({ code: "insufficient_quota", message }),
        json([{ error: { message, code: "insufficient_quota" } }])
      ]
      return { status, body: bodies[shape]! }
    })

  it.prop("insufficient_quota with any 4xx status is QuotaExhausted", [quotaBody], ([{ body, status }]) => {
    const failure = classifyResponse({ status, body })
    expect(failure.reason).toBe("QuotaExhausted")
    expect(isRetryable(failure)).toBe(false)
    expect(isFallbackEligible(failure)).toBe(true)
  })

  it.prop(
    "any transport error (arbitrary value, or nested in a cause chain) is Network or Timeout, retryable and fallback-eligible",
    [fc.anything(), fc.constantFrom("ECONNREFUSED", "ETIMEDOUT", "UND_ERR_SOCKET", "EPIPE", "UND_ERR_BODY_TIMEOUT")],
    ([cause, code]) => {
      for (const error of [cause, fetchFailed(cause), fetchFailed(Object.assign(new Error("x"), { code, cause }))]) {
        const failure = classifyTransportError(error)
        expect(["Network", "Timeout"]).toContain(failure.reason)
        expect(isRetryable(failure)).toBe(true)
        expect(isFallbackEligible(failure)).toBe(true)
      }
    }
  )
})
