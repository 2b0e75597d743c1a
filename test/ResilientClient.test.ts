import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as ImageDelivery from "../src/ImageDelivery.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { settle } from "./support/clock.js"
import { HttpLive, startSimulator } from "./support/simulator.js"

const Policies = Layer.mergeAll(RetryPolicy.layer({ jitter: "none", maxAttempts: 2 }), CircuitBreaker.layer())


describe("ResilientClient", () => {
  it.scoped("fails over, shares identical concurrent calls, and keeps video tasks with the model that took them", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      const client = yield* ResilientClient.make({
        image: [
          { model: "gemini-2.5-flash-image", provider: gemini, price: 0.039 },
          { model: "gpt-image-1.5", provider: openai, price: 0.04 }
        ],
        video: [{ model: "sora-2", provider: openai }],
        load: { requestsPerMinute: 600, concurrency: 4 }
      })
      const requestsTo = (id: string) => Effect.map(sim.snapshot, (s) => s.models.find((m) => m.id === id)!.requests)

      // five identical requests at once → one chain run → one call to the fallback
      const served = yield* settle(Effect.all(
        Array.from({ length: 5 }, () => client.generateImage({ prompt: "a lighthouse", outputFormat: "png" })),
        { concurrency: "unbounded" }
      ))
      expect(served.map((s) => s.model)).toEqual(Array(5).fill("gpt-image-1.5"))
      expect(served.every((s) => s.fellBack)).toBe(true)
      expect(yield* requestsTo("gpt-image-1.5")).toBe(1)
      expect(yield* requestsTo("gemini-2.5-flash-image")).toBe(2) // the primary's own retry, once

      // a different prompt is a different request
      yield* settle(client.generateImage({ prompt: "a harbour", outputFormat: "png" }))
      expect(yield* requestsTo("gpt-image-1.5")).toBe(2)

      const submitted = yield* settle(client.submitVideo({ prompt: "a paper boat [sim:ok]" }))
      expect(submitted.model).toBe("sora-2")
      const polled = yield* client.pollVideo(submitted.value)
      expect(polled.id).toBe(submitted.value.id)
      // a task from a model this client does not know is a typed failure, not a defect
      const unknown = yield* Effect.flip(client.pollVideo({ ...submitted.value, model: "veo-9" }))
      expect([unknown._tag, unknown.reason, unknown.model]).toEqual(["HardFailure", "NotFound", "veo-9"])

      const queues = yield* client.queues
      expect(queues.map((q) => q.model).sort()).toEqual(["gemini-2.5-flash-image", "gpt-image-1.5", "sora-2"])
      expect(queues.every((q) => q.status.waiting === 0 && q.status.running === 0)).toBe(true)
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))

  it.scoped("per-call retry options are laid over the configured ones field by field, not in their place", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      yield* sim.setOverride("gpt-4.1-mini", "overloaded")
      const client = yield* ResilientClient.make({
        text: [{ model: "gpt-4.1-mini", provider: openai }],
        fallback: { retry: { maxAttempts: 4 } }
      })
      const requests = Effect.map(sim.snapshot, (s) => s.models.find((m) => m.id === "gpt-4.1-mini")!.requests)
      // the call changes only the backoff: the configured 4 attempts still hold (the policy's own is 2)
      yield* Effect.flip(settle(client.generateText({ messages: [{ role: "user", content: "hi" } as never] }, { retry: { base: "2 seconds" } })))
      expect(yield* requests).toBe(4)
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))

  it.scoped("an operation with no models configured fails with AllModelsFailed, not a defect", () =>
    Effect.gen(function*() {
      const client = yield* ResilientClient.make({})
      const failure = yield* Effect.flip(client.generateText({ messages: [{ role: "user", content: "hi" } as never] }))
      expect(failure._tag).toBe("AllModelsFailed")
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))

  it.scoped("every image model down: the configured placeholder is served, marked degraded, and never cached", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      yield* sim.setOverride("gpt-image-1.5", "serverError")
      const placeholder = ImageDelivery.ImageDeliveryResult.make({
        provider: "placeholder",
        model: "placeholder",
        requested: 1,
        images: [ImageDelivery.DeliveredImage.make({ index: 0, bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mimeType: "image/png", source: "b64_json" })],
        calls: 0,
        cost: 0,
        requestIds: []
      })
      const client = yield* ResilientClient.make({
        image: [
          { model: "gemini-2.5-flash-image", provider: gemini },
          { model: "gpt-image-1.5", provider: openai }
        ],
        degradeTo: { image: () => Effect.succeed(placeholder) },
        cacheTtl: "1 hour"
      })
      const served = yield* settle(client.generateImage({ prompt: "a lighthouse", outputFormat: "png" }))
      expect([served.degraded, served.model, served.value]).toEqual([true, "degraded", placeholder])
      expect(new Set(served.attempts.map((a) => a.model))).toEqual(new Set(["gemini-2.5-flash-image", "gpt-image-1.5"]))
      // the models come back: the next identical request is really served (the stand-in was not cached)
      yield* sim.setOverride("gpt-image-1.5", undefined)
      const again = yield* settle(client.generateImage({ prompt: "a lighthouse", outputFormat: "png" }))
      expect([again.degraded, again.model]).toEqual([false, "gpt-image-1.5"])
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))

  it.scoped("the client's status follows its own traffic: the overloaded primary turns unavailable and the fallback is noted", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      yield* sim.setOverride("gemini-2.5-flash-image", "overloaded")
      const client = yield* ResilientClient.make({
        image: [
          { model: "gemini-2.5-flash-image", provider: gemini, vendor: "google" },
          { model: "gpt-image-1.5", provider: openai, vendor: "openai" }
        ]
      })
      yield* settle(client.generateImage({ prompt: "a lighthouse", outputFormat: "png" }))
      yield* settle(client.generateImage({ prompt: "a harbour", outputFormat: "png" }))
      const snapshot = yield* client.status.snapshot
      const byModel = Object.fromEntries(snapshot.models.map((m) => [m.model, m]))
      expect(byModel["gemini-2.5-flash-image"]).toMatchObject({ health: "unavailable", reason: "4 consecutive failures" })
      expect(byModel["gpt-image-1.5"]).toMatchObject({ health: "normal", servingAsFallback: true, trafficShare: 1 })
      expect(snapshot.notes).toContain("gpt-image-1.5 is serving in place of gemini-2.5-flash-image")
    }).pipe(Effect.provide(Layer.merge(Policies, HttpLive))))
})
