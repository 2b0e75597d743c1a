/**
 * Example: an Effect HTTP backend endpoint on the resilient client.
 *
 * `POST /posters {"prompt": "..."}` generates an image along the image list
 * (retries, breakers, fallback, download) and answers with the image and how
 * it was served. Typed failures become HTTP answers a frontend can act on:
 *
 * - invalid body → 400 naming the field;
 * - the provider refused the request (`BadRequest`) → 400 with its `param`;
 * - a safety block → 422;
 * - every model down, or the deadline passed → 503 with `Retry-After`: when
 *   the chain knows when to come back (`AllModelsFailed.retryAfter`: the
 *   earliest breaker re-open or provider's asked-for wait), in whole seconds
 *   rounded up; otherwise a short default.
 *
 *   npx tsx examples/http-backend.ts   (needs a config: see README "Configuration file")
 */
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { FallbackChain, isGenerationFailure, ResilientClient } from "effect-ai-resilience"

const PosterBody = Schema.Struct({ prompt: Schema.NonEmptyTrimmedString.annotations({ message: () => "prompt: a non-empty string is required" }) })

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

/** `Retry-After` when nothing said when to come back (a deadline passed, 503s without a hint). */
export const DEFAULT_RETRY_AFTER_SECONDS = 5

/** `Retry-After` for a failure: the chain's own `retryAfter`, in whole seconds rounded up, else the default. */
export const retryAfterSeconds = (failure: unknown): number =>
  failure instanceof FallbackChain.AllModelsFailed && failure.retryAfter !== undefined
    ? Math.ceil(Duration.toMillis(failure.retryAfter) / 1000)
    : DEFAULT_RETRY_AFTER_SECONDS

/** The `POST /posters` handler. */
export const posters = Effect.gen(function*() {
  const client = yield* ResilientClient.ResilientClient
  const body = yield* HttpServerRequest.schemaBodyJson(PosterBody).pipe(Effect.either)
  if (body._tag === "Left") {
    const message = body.left._tag === "ParseError" ? body.left.message : "the body must be JSON: {\"prompt\": \"...\"}"
    return yield* HttpServerResponse.json({ error: "invalid_request", message }, { status: 400 })
  }
  const served = yield* client.generateImage({ prompt: body.right.prompt }).pipe(Effect.either)
  if (served._tag === "Right") {
    const { cost, degraded, fellBack, model, value } = served.right
    return yield* HttpServerResponse.json({
      model,
      fellBack,
      degraded,
      cost,
      images: value.images.map((i) => ({ mimeType: i.mimeType, base64: toBase64(i.bytes), revisedPrompt: i.revisedPrompt ?? null }))
    })
  }
  const failure = served.left
  if (isGenerationFailure(failure) && failure.reason === "BadRequest") {
    return yield* HttpServerResponse.json({ error: "rejected_by_provider", param: failure.param ?? null, message: failure.message }, { status: 400 })
  }
  if (isGenerationFailure(failure) && failure.reason === "ContentFiltered") {
    return yield* HttpServerResponse.json({ error: "content_filtered", message: "the prompt was blocked; rephrase it" }, { status: 422 })
  }
  return yield* HttpServerResponse.json(
    { error: "unavailable", message: failure.message },
    { status: 503, headers: { "retry-after": String(retryAfterSeconds(failure)) } }
  )
})

/** The app's routes. */
export const router = HttpRouter.empty.pipe(HttpRouter.post("/posters", posters))

/** The backend on `port` (0 = any free one), given a `ResilientClient`. */
export const BackendLive = (port: number) =>
  HttpServer.serve(router).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port }))
  )
