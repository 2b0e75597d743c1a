import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { CircuitBreaker, ResilientClient, RetryPolicy } from "effect-ai-resilience"
import { HttpLive, startSimulator, testConfig } from "../test/support/simulator.js"
import { DEFAULT_RETRY_AFTER_SECONDS, router } from "./http-backend.js"

const Policies = Layer.mergeAll(RetryPolicy.layer({ jitter: "none", base: "5 millis", maxAttempts: 2 }), CircuitBreaker.layer())

/** The backend over the simulator (its config given, or the tests' default), on a free port; returns its base URL. */
const startBackendWith = (config?: ReturnType<typeof testConfig>) => Effect.gen(function*() {
  const { gemini, openai, sim } = yield* startSimulator(config)
  const client = yield* ResilientClient.make({
    image: [
      { model: "gemini-2.5-flash-image", provider: gemini, price: 0.039 },
      { model: "gpt-image-1.5", provider: openai, price: 0.04 }
    ]
  })
  const server = yield* NodeHttpServer.make(createServer, { host: "127.0.0.1", port: 0 })
  yield* server.serve(router.pipe(Effect.provideService(ResilientClient.ResilientClient, client)))
  const address = server.address
  return { client, sim, url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}` }
})
const startBackend = startBackendWith()

const post = (url: string, body: unknown) =>
  HttpClientRequest.post(`${url}/posters`).pipe(
    HttpClientRequest.bodyUnsafeJson(body),
    HttpClient.execute,
    Effect.flatMap((r) => Effect.map(r.json, (json) => ({ status: r.status, headers: r.headers, json: json as Record<string, unknown> })))
  )

describe("example: an HTTP backend endpoint on the resilient client", () => {
  it.live("the primary overloaded: the poster is served by the fallback, and the answer says so", () =>
    Effect.gen(function*() {
      const { sim, url } = yield* startBackend
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      const answer = yield* post(url, { prompt: "A lighthouse at dusk" })
      expect(answer.status).toBe(200)
      expect(answer.json).toMatchObject({ model: "gpt-image-1.5", fellBack: true, degraded: false, cost: 0.04 })
      const [image] = answer.json["images"] as Array<{ mimeType: string; base64: string }>
      expect(image?.mimeType).toBe("image/png")
      expect(Buffer.from(image!.base64, "base64").subarray(1, 4).toString()).toBe("PNG")
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))))

  it.live("a body without a prompt is a 400 naming the field; every model down with nothing said about when is a 503 with the default Retry-After", () =>
    Effect.gen(function*() {
      const { sim, url } = yield* startBackend
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      yield* sim.setOverride("gpt-image-1.5", "overloaded")
      const missing = yield* post(url, { title: "no prompt" })
      expect(missing.status).toBe(400)
      expect(String(missing.json["message"])).toContain("prompt")
      const down = yield* post(url, { prompt: "A lighthouse" })
      expect(down.status).toBe(503)
      expect(down.headers["retry-after"]).toBe(String(DEFAULT_RETRY_AFTER_SECONDS)) // 503s without a hint
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))))

  it.live("every model rate-limited: the 503's Retry-After is the earliest wait a provider asked for, in whole seconds", () =>
    Effect.gen(function*() {
      const instant = { medianMs: 0, p95Ms: 0 }
      const { sim, url } = yield* startBackendWith(testConfig({
        models: [
          { id: "gemini-2.5-flash-image", vendor: "google", kind: "image", latency: instant, retryAfterSeconds: 7 },
          { id: "gpt-image-1.5", vendor: "openai", kind: "image", latency: instant, retryAfterSeconds: 20, capabilities: { responseFormat: false, defaultImageOutput: "b64_json" } }
        ]
      }))
      yield* sim.setOverride("gemini-2.5-flash-image", "rateLimited")
      yield* sim.setOverride("gpt-image-1.5", "rateLimited")
      const down = yield* post(url, { prompt: "A lighthouse" })
      expect(down.status).toBe(503)
      expect(down.headers["retry-after"]).toBe("7") // a few ms under 7 s, rounded up
      // one attempt each: a retry would wait out the provider's 7 s (and 20 s) on the real clock
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Layer.merge(RetryPolicy.layer({ jitter: "none", maxAttempts: 1 }), CircuitBreaker.layer()), HttpLive))))

  it.live("every model's breaker open: the 503's Retry-After is when the first of them re-opens", () =>
    Effect.gen(function*() {
      const { client, sim, url } = yield* startBackend
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      yield* sim.setOverride("gpt-image-1.5", "overloaded")
      // requests until 5 failures in a row have opened both breakers (for 300 s); the retry budget decides how many
      const bothOpen = Effect.map(client.status.snapshot, (s) => s.models.every((m) => m.breaker === "open"))
      for (let i = 0; i < 10 && !(yield* bothOpen); i++) yield* post(url, { prompt: `A lighthouse ${i}` })
      expect(yield* bothOpen).toBe(true)
      const down = yield* post(url, { prompt: "A lighthouse" })
      expect(down.status).toBe(503)
      // both skipped; the last-resort trial of the first to open fails and re-opens it for 600 s, so the other's 300 s counts
      expect(down.headers["retry-after"]).toBe("300")
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))))

  it.live("a prompt the safety filter blocks is a 422, not routed around to another model", () =>
    Effect.gen(function*() {
      const { sim, url } = yield* startBackend
      const blocked = yield* post(url, { prompt: "Something risky [sim:contentFilter]" })
      expect(blocked.status).toBe(422)
      expect(blocked.json["error"]).toBe("content_filtered")
      const state = yield* sim.snapshot
      expect(state.models.find((m) => m.id === "gpt-image-1.5")!.requests).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(Policies, HttpLive))))
})
