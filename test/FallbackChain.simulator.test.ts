import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as FallbackChain from "../src/FallbackChain.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { settle } from "./support/clock.js"
import { HttpLive, startSimulator, testConfig } from "./support/simulator.js"

const Policies = Layer.mergeAll(RetryPolicy.layer({ jitter: "none", maxAttempts: 2 }), CircuitBreaker.layer())


describe("FallbackChain through the real adapters and the simulator", () => {
  it.scoped("the primary in an outage (503 'overloaded') → served by the next model over HTTP; then the primary is skipped", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded") // the primary is in an outage
      const chain = (prompt: string) =>
        FallbackChain.run([
          { model: "gemini-2.5-flash-image", price: 0.039, call: () => gemini.generateImage(ImageRequest.make({ model: "gemini-2.5-flash-image", prompt })) },
          { model: "gpt-image-1.5", price: 0.04, call: () => openai.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt, outputFormat: "png" })) }
        ], { deadline: "10 minutes" })
      const requestsTo = (id: string) => Effect.map(sim.snapshot, (s) => s.models.find((m) => m.id === id)!.requests)

      const first = yield* settle(chain("a lighthouse"))
      expect([first.model, first.fellBack, first.cost]).toEqual(["gpt-image-1.5", true, 0.04])
      expect(first.value.images[0].mimeType).toBe("image/png")
      expect(first.attempts.map((a) => [a.model, a.outcome, a.reason, a.status])).toEqual([
        ["gemini-2.5-flash-image", "failure", "Overloaded", 503],
        ["gemini-2.5-flash-image", "failure", "Overloaded", 503],
        ["gpt-image-1.5", "success", undefined, undefined]
      ])
      // two more calls: 6 upstream 503s (≥ 5 calls, 100 % ≥ 30 %) open the primary's breaker
      yield* settle(chain("a harbour"))
      yield* settle(chain("a ship"))
      const breaker = yield* (yield* CircuitBreaker.CircuitBreakers).get("gemini-2.5-flash-image")
      expect(yield* breaker.state).toBe("open")

      const before = yield* requestsTo("gemini-2.5-flash-image")
      const skipped = yield* settle(chain("a gull"))
      expect(skipped.model).toBe("gpt-image-1.5")
      expect(skipped.attempts[0]).toMatchObject({ model: "gemini-2.5-flash-image", outcome: "skipped", reason: "CircuitOpen" })
      expect(yield* requestsTo("gemini-2.5-flash-image")).toBe(before) // no HTTP request for the skipped primary

      // the outage ends; after the open time a probe goes through and traffic returns to the primary
      yield* sim.setOverride("gemini-2.5-flash-image", undefined)
      yield* TestClock.adjust("300 seconds")
      const back = yield* settle(chain("a dune"))
      expect([back.model, back.fellBack]).toEqual(["gemini-2.5-flash-image", false])
      expect(yield* breaker.state).toBe("closed")
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))

  it.scoped("every model rate-limited (429 with Retry-After): AllModelsFailed says to come back when the earliest wait ends; every attempt keeps the provider's request id", () =>
    Effect.gen(function*() {
      const instant = { medianMs: 0, p95Ms: 0 }
      const { gemini, openai, sim } = yield* startSimulator(testConfig({
        models: [
          { id: "gemini-2.5-flash-image", vendor: "google", kind: "image", latency: instant, retryAfterSeconds: 7 },
          { id: "gpt-image-1.5", vendor: "openai", kind: "image", latency: instant, retryAfterSeconds: 20, capabilities: { responseFormat: false, defaultImageOutput: "b64_json" } }
        ]
      }))
      const chain = (prompt: string) =>
        FallbackChain.run([
          { model: "gpt-image-1.5", call: () => openai.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt, outputFormat: "png" })) },
          { model: "gemini-2.5-flash-image", call: () => gemini.generateImage(ImageRequest.make({ model: "gemini-2.5-flash-image", prompt })) }
        ])
      yield* sim.setOverride("gpt-image-1.5", "rateLimited")
      yield* sim.setOverride("gemini-2.5-flash-image", "rateLimited")
      const failure = yield* Effect.flip(settle(chain("a lighthouse"), "1 millis"))
      if (failure._tag !== "AllModelsFailed") return expect.fail(failure.message)
      expect(failure.attempts.map((a) => [a.model, a.status])).toEqual([["gpt-image-1.5", 429], ["gemini-2.5-flash-image", 429]])
      // gemini's 7 s (its RetryInfo), measured from when the chain gave up: the exchanges took a few virtual ms
      const ms = Duration.toMillis(failure.retryAfter ?? Duration.zero)
      expect(ms).toBeGreaterThan(6_900)
      expect(ms).toBeLessThanOrEqual(7_000)
      // the simulator answers every request with an x-request-id of its own
      const ids = failure.attempts.map((a) => a.requestId)
      for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/)
      expect(new Set(ids).size).toBe(ids.length)

      // a success keeps its request id too
      yield* sim.setOverride("gpt-image-1.5", undefined)
      const served = yield* settle(chain("a harbour"), "1 millis")
      expect(served.attempts.map((a) => [a.outcome, a.requestId === served.value.requestId])).toEqual([["success", true]])
      expect(served.attempts[0]!.requestId).toMatch(/^req_[0-9a-f]{32}$/)
    }).pipe(Effect.provide(Layer.merge(Layer.mergeAll(RetryPolicy.layer({ jitter: "none", maxAttempts: 1 }), CircuitBreaker.layer()), HttpLive))))
})
