import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Gemini from "../src/Gemini.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as ScriptedProvider from "../src/ScriptedProvider.js"
import { Message, TextRequest, ToolDefinition } from "../src/TextGeneration.js"
import { HttpLive, KEY, startSimulator } from "./support/simulator.js"

describe("Provider.make checks requests before any I/O", () => {
  it.effect("a structurally typed request with bad fields is BadRequest naming the field, and nothing is called", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({})
      // TypeScript accepts this plain object (the class is structural); the Schema does not.
      const request = {
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
        maxTokens: -5,
        temperature: 99
      } as unknown as TextRequest
      const failure = yield* Effect.flip(scripted.provider.generateText(request))
      expect([failure._tag, failure.reason, failure.code]).toEqual(["HardFailure", "BadRequest", "invalid_request"])
      expect(failure.param).toBe("maxTokens")
      expect(failure.message).toContain("maxTokens")
      expect(failure.message).toContain("temperature")
      expect(yield* scripted.calls).toEqual([])
    }))

  it.effect("an empty model name is BadRequest, not a NotFound that a fallback chain would route around", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({})
      const failure = yield* Effect.flip(scripted.provider.generateImage({ model: "", prompt: "a fox" } as never))
      expect([failure.reason, failure.param]).toEqual(["BadRequest", "model"])
      expect(yield* scripted.calls).toEqual([])
    }))

  it.effect("polling needs a task id", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedProvider.make({})
      const failure = yield* Effect.flip(scripted.provider.pollVideo({ id: " ", model: "sora-2" }))
      expect([failure.reason, failure.param]).toEqual(["BadRequest", "id"])
    }))
})

describe("adapters never throw on bodies they cannot encode", () => {
  it.scoped("tool parameters holding a BigInt are a typed BadRequest, not a synchronous throw", () =>
    Effect.gen(function*() {
      const { gemini, openai, sim } = yield* startSimulator()
      const request = TextRequest.make({
        model: "gpt-4.1-mini",
        messages: [Message.make({ role: "user", content: "hi" })],
        tools: [ToolDefinition.make({ name: "f", parameters: { big: 10n } })]
      })
      for (const provider of [openai, gemini]) {
        const failure = yield* Effect.flip(provider.generateText(request))
        expect([failure.reason, failure.code]).toEqual(["BadRequest", "invalid_request_body"])
        expect(failure.message).toMatch(/BigInt/)
      }
      const state = yield* sim.snapshot
      expect(state.models.reduce((n, m) => n + m.requests + m.rejected, 0)).toBe(0)
    }).pipe(Effect.provide(HttpLive)))
})

describe("adapter options are validated", () => {
  it.effect.each([
    [{ baseUrl: "not a url" }, "baseUrl"],
    [{ baseUrl: "ftp://example.com" }, "baseUrl"],
    [{ baseUrl: "http://127.0.0.1:1", timeout: "0 seconds" }, "timeout"],
    [{ baseUrl: "http://127.0.0.1:1", maxResponseBytes: Number.NaN }, "maxResponseBytes"],
    [{ baseUrl: "http://127.0.0.1:1", maxResponseBytes: -1 }, "maxResponseBytes"],
    [{ baseUrl: "http://127.0.0.1:1", apiKey: Redacted.make("  ") }, "apiKey"]
  ] as const)("%o is InvalidProviderOptions naming %s", ([options, field]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(OpenAICompatible.make({ apiKey: Redacted.make(KEY), ...options }))
      expect(error._tag).toBe("InvalidProviderOptions")
      expect(error.field).toBe(field)
      const gemini = yield* Effect.flip(Gemini.make({ apiKey: Redacted.make(KEY), ...options }))
      expect(gemini.field).toBe(field)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a Redacted extra header is sent but scrubbed from failures", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const routing = "route-secret-123456789"
      const provider = yield* OpenAICompatible.make({
        baseUrl: sim.url,
        apiKey: Redacted.make(KEY),
        headers: { "x-routing-token": Redacted.make(routing), "x-team": "vision" }
      })
      // The simulator rejects an unknown model with a 404 quoting the model name;
      // a model name that contains the secret shows that failures scrub header secrets too.
      const failure = yield* Effect.flip(provider.generateText(TextRequest.make({
        model: `x-${routing}`,
        messages: [Message.make({ role: "user", content: "hi" })]
      })))
      expect(failure.reason).toBe("NotFound")
      // (`model` is the caller's own input and is kept as given)
      expect(failure.message).toContain("[REDACTED]")
      expect(failure.message + (failure.rawBody ?? "") + String(failure)).not.toContain(routing)
    }).pipe(Effect.provide(HttpLive)))
})
