/**
 * Example: classify raw provider responses without any HTTP at all.
 *
 *   npx tsx examples/classify.ts   (or build and run with node)
 */
import { Duration } from "effect"
import { classifyResponse, isFallbackEligible, isRetryable } from "effect-ai-resilience"

const samples = [
  {
    status: 503,
    body: `{"error":{"message":"This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.","code":"upstream_error","status":503}}`
  },
  {
    status: 429,
    body: `{"error":{"code":429,"message":"Resource has been exhausted.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34s"}]}}`
  },
  { status: 502, headers: { "content-type": "text/html" }, body: "<html><head><title>502 Bad Gateway</title></head></html>" }
]

for (const sample of samples) {
  const failure = classifyResponse({ ...sample, provider: "example", model: "gemini-3-pro-image-preview" })
  console.log(
    failure.reason,
    `retryable=${isRetryable(failure)}`,
    `fallback=${isFallbackEligible(failure)}`,
    failure.retryAfter === undefined ? "" : `retry-after=${Duration.format(failure.retryAfter)}`,
    "—",
    failure.message
  )
}
