import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { HardFailure, Provider, TextGeneration } from "effect-ai-resilience"
import { ScriptedProvider } from "effect-ai-resilience/testing"
import { summarize } from "./swap-provider.js"

const text = (content: string) =>
  Effect.succeed(TextGeneration.TextResult.make({ provider: "scripted", model: "gpt-4.1-mini", content, toolCalls: [], finishReason: "stop" }))

describe("example: swapping the provider layer for a scripted one", () => {
  it.effect("an overload, then a too-short summary, then a good one: the app returns the good one after three calls", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({
        generateText: [
          Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model: "gpt-4.1-mini", status: 503, message: "high demand" })),
          text("Too short."),
          text("Preview models fail for long stretches, so the client retries with backoff and falls over to other models.")
        ]
      })
      const summary = yield* summarize("…").pipe(Effect.provideService(Provider.Provider, scripted.provider))
      expect(summary).toMatch(/^Preview models fail/)
      const calls = yield* scripted.calls
      expect(calls.map((c) => [c.operation, c.model])).toEqual(Array(3).fill(["generateText", "gpt-4.1-mini"]))
    }))

  it.effect("a refused request (400) is not retried: the app sees it at once", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({
        generateText: [Effect.fail(new HardFailure({ reason: "BadRequest", provider: "scripted", model: "gpt-4.1-mini", status: 400, param: "messages", message: "bad messages" }))]
      })
      const failure = yield* Effect.flip(summarize("…").pipe(Effect.provideService(Provider.Provider, scripted.provider)))
      expect(failure).toMatchObject({ _tag: "HardFailure", reason: "BadRequest", param: "messages" })
      expect(yield* scripted.calls).toHaveLength(1)
    }))
})
