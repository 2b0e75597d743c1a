import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as FallbackChain from "../src/FallbackChain.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { settle } from "./support/clock.js"
import { HttpLive, startSimulator } from "./support/simulator.js"

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
})
