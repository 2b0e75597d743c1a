/**
 * Trace context (`traceparent`, `b3`) tells whoever receives it which
 * requests belong together and where they came from. A provider is a third
 * party: the adapters send it only when `propagateTracing` says so.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import * as ClientConfig from "../src/ClientConfig.js"
import * as Gemini from "../src/Gemini.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import type { ProviderService } from "../src/Provider.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { apiKey, HttpLive, KEY, serveJson } from "./support/simulator.js"

const CHAT = { id: "c1", model: "gpt-4.1-mini", choices: [{ index: 0, message: { role: "assistant", content: "Fine." }, finish_reason: "stop" }] }
const GEMINI = { candidates: [{ content: { parts: [{ text: "Fine." }] }, finishReason: "STOP" }] }

const ask = (model: string) => TextRequest.make({ model, messages: [Message.make({ role: "user", content: "hello" })] })

/** One call inside an application span; the headers the provider received, and that span's trace id. */
const callInSpan = (provider: ProviderService, model: string, received: Effect.Effect<ReadonlyArray<{ readonly headers: Readonly<Record<string, string>> }>>) =>
  Effect.gen(function*() {
    const traceId = yield* Effect.withSpan(
      Effect.gen(function*() {
        yield* provider.generateText(ask(model))
        return Option.map(yield* Effect.option(Effect.currentSpan), (span) => span.traceId)
      }),
      "app.request"
    )
    const requests = yield* received
    expect(requests).toHaveLength(1)
    return { headers: requests[0]!.headers, traceId: Option.getOrThrow(traceId) }
  })

describe("trace context to providers", () => {
  it.scoped.each(["openai-compatible", "gemini"] as const)("%s: off by default, even inside a span", (kind) =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, kind === "gemini" ? GEMINI : CHAT)
      const provider = kind === "gemini"
        ? yield* Gemini.make({ baseUrl: server.url, apiKey })
        : yield* OpenAICompatible.make({ baseUrl: server.url, apiKey })
      const { headers } = yield* callInSpan(provider, kind === "gemini" ? "gemini-2.5-flash" : "gpt-4.1-mini", server.received)
      expect(headers["traceparent"]).toBeUndefined()
      expect(headers["b3"]).toBeUndefined()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each(["openai-compatible", "gemini"] as const)("%s: with propagateTracing: true the caller's trace goes along", (kind) =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, kind === "gemini" ? GEMINI : CHAT)
      const provider = kind === "gemini"
        ? yield* Gemini.make({ baseUrl: server.url, apiKey, propagateTracing: true })
        : yield* OpenAICompatible.make({ baseUrl: server.url, apiKey, propagateTracing: true })
      const { headers, traceId } = yield* callInSpan(provider, kind === "gemini" ? "gemini-2.5-flash" : "gpt-4.1-mini", server.received)
      expect(headers["traceparent"]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`))
      expect(headers["b3"]).toMatch(new RegExp(`^${traceId}-[0-9a-f]{16}-[01]`))
    }).pipe(Effect.provide(HttpLive)))

  it.effect("a propagateTracing that is not a boolean is InvalidProviderOptions naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(OpenAICompatible.make({ baseUrl: "http://127.0.0.1:9", apiKey, propagateTracing: "yes" as unknown as boolean }))
      expect([error._tag, error.field]).toEqual(["InvalidProviderOptions", "propagateTracing"])
    }).pipe(Effect.provide(HttpLive)))
})

describe("trace context in the client config file", () => {
  const env = Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["GATEWAY_KEY", KEY]])))
  const entry = (baseUrl: string, extra: Record<string, unknown> = {}) => ({
    model: "gpt-4.1-mini", provider: "openai-compatible", baseUrl, apiKeyEnv: "GATEWAY_KEY", ...extra
  })

  it.scoped.each([
    ["absent", {}, false],
    ["false", { propagateTracing: false }, false],
    ["true", { propagateTracing: true }, true]
  ] as const)("an entry's propagateTracing %s", ([, extra, sent]) =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, CHAT)
      const file = yield* ClientConfig.decode({ text: [entry(server.url, extra)] })
      const built = yield* ClientConfig.build(file).pipe(env)
      const { headers } = yield* callInSpan(built.text![0]!.provider, "gpt-4.1-mini", server.received)
      expect(headers["traceparent"] !== undefined).toBe(sent)
      expect(headers["b3"] !== undefined).toBe(sent)
    }).pipe(Effect.provide(HttpLive)))

  it.effect("a propagateTracing that is not a boolean names the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ClientConfig.decode({ text: [entry("http://127.0.0.1:9", { propagateTracing: "yes" })] }, "models.json"))
      expect(error.message).toContain("models.json")
      expect(error.message).toMatch(/text.*\[0\].*propagateTracing/s)
    }))
})
