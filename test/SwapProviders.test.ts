import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { HardFailure } from "../src/Failure.js"
import * as Observability from "../src/Observability.js"
import * as Provider from "../src/Provider.js"
import * as ResilientClient from "../src/ResilientClient.js"
import * as ScriptedProvider from "../src/ScriptedProvider.js"
import { TextResult } from "../src/TextGeneration.js"
import { settle } from "./support/clock.js"

const Primary = Provider.named("gemini")
const Fallback = Provider.named("openai")

const overloaded = (model: string) =>
  Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model, status: 503, message: "high demand" }))
const answer = (model: string, content: string) =>
  Effect.succeed(TextResult.make({ provider: "scripted", model, content, toolCalls: [], finishReason: "stop" }))

// the primary is overloaded, the fallback answers
const scripts: ScriptedProvider.Scripts = {
  generateText: (request) => request.model === "gemini-2.5-flash" ? overloaded(request.model) : answer(request.model, "from the fallback")
}

// an app's chain: two providers, named by Tags, no provider in hand
const Client = ResilientClient.layer({
  text: [
    { model: "gemini-2.5-flash", provider: Primary },
    { model: "gpt-4.1-mini", provider: Fallback }
  ]
})

const ask = Effect.flatMap(ResilientClient.ResilientClient, (client) => client.generateText({ messages: [{ role: "user", content: "hi" }] }))

describe("swapping a chain's providers", () => {
  it.effect("routes name their providers by Tag; one scripted provider stands in for the whole list in one line", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make(scripts)
      const served = yield* settle(ask.pipe(
        Effect.provide(Client),
        Effect.provide(ScriptedProvider.layerFor([Primary, Fallback], scripted)),
        Effect.provide(ResilientClient.policiesLayer({ retry: { maxAttempts: 1 } }))
      ))
      expect([served.model, served.fellBack, served.value.content]).toEqual(["gpt-4.1-mini", true, "from the fallback"])
      // the call log shows the route taken: the primary once (no retry with maxAttempts 1), then the fallback
      expect((yield* scripted.calls).map((c) => c.model)).toEqual(["gemini-2.5-flash", "gpt-4.1-mini"])
    }))

  it.effect("Provider.as offers a layer's provider under a named Tag", () =>
    Effect.gen(function*() {
      const primary = ScriptedProvider.layer({ name: "primary", generateText: [overloaded("gemini-2.5-flash")] }).pipe(Provider.as(Primary))
      const fallback = ScriptedProvider.layer({ name: "fallback", generateText: [answer("gpt-4.1-mini", "ok")] }).pipe(Provider.as(Fallback))
      const served = yield* settle(ask.pipe(
        Effect.provide(Client),
        Effect.provide(Layer.merge(primary, fallback)),
        Effect.provide(ResilientClient.policiesLayer({ retry: { maxAttempts: 1 } }))
      ))
      expect(served.model).toBe("gpt-4.1-mini")
      expect(served.attempts.map((a) => [a.model, a.outcome])).toEqual([["gemini-2.5-flash", "failure"], ["gpt-4.1-mini", "success"]])
      // Tags of the same name are the same Tag
      const again = yield* Provider.named("openai").pipe(Effect.provide(fallback))
      expect(again.name).toBe("fallback")
    }))

  it.effect("a text client needs no HttpClient (none is provided here; the type of make says so)", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make(scripts)
      const client = yield* ResilientClient.make({ text: [{ model: "gpt-4.1-mini", provider: scripted.provider }] })
      const served = yield* settle(client.generateText({ messages: [{ role: "user", content: "hi" }] }))
      expect(served.value.content).toBe("from the fallback")
    }).pipe(Effect.scoped, Effect.provide(ResilientClient.policiesLayer())))

  it.effect("policiesLayer takes retry and breaker options and still records breaker transitions in the metrics", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({ generateText: (request) => overloaded(request.model) })
      const model = "policies-options-model"
      // no last-resort trial while the only breaker is open, so the third request is not sent
      const client = yield* ResilientClient.make({ text: [{ model, provider: scripted.provider }], fallback: { lastResort: false } })
      const transitions = Metric.value(Observability.breakerTransitions.pipe(Metric.tagged("model", model), Metric.tagged("from", "closed"), Metric.tagged("to", "open")))
      expect((yield* transitions).count).toBe(0)
      // two consecutive failures open this breaker (the default needs more calls); one attempt per request
      yield* settle(Effect.flip(client.generateText({ messages: [{ role: "user", content: "a" }] })))
      yield* settle(Effect.flip(client.generateText({ messages: [{ role: "user", content: "b" }] })))
      expect((yield* scripted.calls)).toHaveLength(2)
      const third = yield* settle(Effect.flip(client.generateText({ messages: [{ role: "user", content: "c" }] })))
      expect(third._tag).toBe("AllModelsFailed")
      expect((yield* scripted.calls)).toHaveLength(2) // skipped: the breaker is open
      expect((yield* transitions).count).toBe(1)
    }).pipe(
      Effect.scoped,
      Effect.provide(ResilientClient.policiesLayer({ retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } }))
    ))
})
