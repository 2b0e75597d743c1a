import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { HardFailure } from "../src/Failure.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as Provider from "../src/Provider.js"
import * as ScriptedProvider from "../src/ScriptedProvider.js"
import * as Simulator from "../src/Simulator.js"
import { Message, TextRequest, TextResult } from "../src/TextGeneration.js"
import { HttpLive, KEY, testConfig } from "./support/simulator.js"

// Application code depends only on the Provider service...
const summarise = (text: string) =>
  Effect.gen(function*() {
    const provider = yield* Provider.Provider
    const result = yield* provider.generateText(TextRequest.make({
      model: "gpt-4.1-mini",
      messages: [Message.make({ role: "user", content: `Summarise: ${text}` })]
    }))
    return result.content ?? ""
  })

describe("swapping the provider layer", () => {
  it.effect("a scripted layer answers in order and records the calls", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({
        generateText: [
          Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model: "gpt-4.1-mini", status: 503, message: "high demand" })),
          Effect.succeed(TextResult.make({ provider: "scripted", model: "gpt-4.1-mini", content: "short summary", toolCalls: [], finishReason: "stop" }))
        ]
      })
      const program = summarise("a long text").pipe(Effect.provideService(Provider.Provider, scripted.provider))
      const first = yield* Effect.flip(program)
      expect(first.reason).toBe("Overloaded")
      expect(yield* program).toBe("short summary")
      expect(yield* program).toBe("short summary") // past the end: the last step repeats
      const calls = yield* scripted.calls
      expect(calls.map((c) => [c.operation, c.model])).toEqual([
        ["generateText", "gpt-4.1-mini"],
        ["generateText", "gpt-4.1-mini"],
        ["generateText", "gpt-4.1-mini"]
      ])
    }))

  it.effect("an unscripted operation fails with a typed BadRequest, not a defect", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(summarise("x").pipe(Effect.provide(ScriptedProvider.layer({}))))
      expect([failure._tag, failure.reason, failure.code]).toEqual(["HardFailure", "BadRequest", "unsupported_operation"])
    }))

  it.scoped("the same program runs unchanged on the real adapter against the simulator", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(testConfig())
      const live = OpenAICompatible.layer({ baseUrl: sim.url, apiKey: Redacted.make(KEY) }).pipe(Layer.provide(HttpLive))
      const summary = yield* summarise("a long text [sim:reply=a real summary]").pipe(Effect.provide(live))
      expect(summary).toBe("a real summary")
    }))
})
