import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { HardFailure, ResilientClient, TextGeneration } from "effect-ai-resilience"
import { ScriptedProvider } from "effect-ai-resilience/testing"
import { Fallback, Primary, summarize, SummaryClient } from "./swap-provider.js"

const text = (model: string, content: string) =>
  Effect.succeed(TextGeneration.TextResult.make({ provider: "scripted", model, content, toolCalls: [], finishReason: "stop" }))
const overloaded = (model: string) =>
  Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model, status: 503, message: "high demand" }))

// one attempt per model keeps the call log short; the chain is the app's own
const Policies = ResilientClient.policiesLayer({ retry: { maxAttempts: 1 } })

describe("example: swapping a two-provider chain for one scripted provider", () => {
  it.effect("the primary overloaded, the fallback's summary too short, then a good one: the app gets the good one", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({
        generateText: (request, call) =>
          request.model === "gemini-2.5-flash"
            ? overloaded(request.model)
            : call < 3
            ? text(request.model, "Too short.")
            : text(request.model, "Preview models fail for long stretches, so the client retries with backoff and falls over to other models.")
      })
      const first = yield* summarize("…").pipe(
        Effect.provide(SummaryClient),
        Effect.provide(ScriptedProvider.layerFor([Primary, Fallback], scripted)), // the one line that swaps both providers
        Effect.provide(Policies),
        Effect.flip
      )
      // a too-short summary is a silent failure of the model that wrote it (the last one the chain tried)
      expect(first).toMatchObject({ _tag: "SilentFailure", reason: "InvalidOutput", model: "gpt-4.1-mini" })
      const second = yield* summarize("…").pipe(
        Effect.provide(SummaryClient),
        Effect.provide(ScriptedProvider.layerFor([Primary, Fallback], scripted)),
        Effect.provide(Policies)
      )
      expect(second.model).toBe("gpt-4.1-mini")
      expect(second.summary).toMatch(/^Preview models fail/)
      const calls = yield* scripted.calls
      expect(calls.map((c) => c.model)).toEqual(["gemini-2.5-flash", "gpt-4.1-mini", "gemini-2.5-flash", "gpt-4.1-mini"])
    }))

  it.effect("a refused request (400) is not fallen over: the app sees it at once", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({
        generateText: [Effect.fail(new HardFailure({ reason: "BadRequest", provider: "scripted", model: "gemini-2.5-flash", status: 400, param: "messages", message: "bad messages" }))]
      })
      const failure = yield* summarize("…").pipe(
        Effect.provide(SummaryClient),
        Effect.provide(ScriptedProvider.layerFor([Primary, Fallback], scripted)),
        Effect.provide(Policies),
        Effect.flip
      )
      expect(failure).toMatchObject({ _tag: "HardFailure", reason: "BadRequest", param: "messages" })
      expect(yield* scripted.calls).toHaveLength(1)
    }))
})
