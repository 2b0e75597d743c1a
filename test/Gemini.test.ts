import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Redacted, TestClock } from "effect"
import { type GenerationFailure, isFallbackEligible, isRetryable } from "../src/Failure.js"
import * as Gemini from "../src/Gemini.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import * as OutputValidator from "../src/OutputValidator.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { VideoRequest } from "../src/VideoGeneration.js"
import { apiKey, HttpLive, serveJson, startSimulator } from "./support/simulator.js"

const ask = (prompt: string, extra: Partial<ConstructorParameters<typeof TextRequest>[0]> = {}) =>
  TextRequest.make({ model: "gemini-2.5-flash", messages: [Message.make({ role: "user", content: prompt })], ...extra })
const draw = (prompt: string, extra: Partial<ConstructorParameters<typeof ImageRequest>[0]> = {}) =>
  ImageRequest.make({ model: "gemini-2.5-flash-image", prompt, ...extra })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return exit.cause.error
}

describe("Gemini generateContent", () => {
  it.scoped("text: the answer, usage and a normalised finish reason", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const result = yield* gemini.generateText(ask("Say hello [sim:ok]", {
        messages: [Message.make({ role: "system", content: "Be brief." }), Message.make({ role: "user", content: "Say hello [sim:ok]" })]
      }))
      expect(result.content!.length).toBeGreaterThan(0)
      expect(result.finishReason).toBe("stop")
      expect(result.usage?.promptTokens).toBeGreaterThan(0)
      expect(result.provider).toBe("gemini")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("image: inlineData becomes PNG bytes", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const result = yield* gemini.generateImage(draw("A red fox [sim:ok]", { size: "1024x1536" }))
      expect(result.images[0].mimeType).toBe("image/png")
      expect(Array.from(result.images[0].bytes!.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("text: a safety block (promptFeedback or finishReason SAFETY) is SoftFailure(ContentFiltered)", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      // the simulator alternates the two real shapes of a text block
      const first = failureOf(yield* Effect.exit(gemini.generateText(ask("Edgy [sim:contentFilter]"))))
      const second = failureOf(yield* Effect.exit(gemini.generateText(ask("Edgy [sim:contentFilter]"))))
      for (const failure of [first, second]) {
        expect(failure._tag).toBe("SoftFailure")
        expect(failure.reason).toBe("ContentFiltered")
      }
      expect(new Set([first.message.split(" ")[0], second.message.split(" ")[0]])).toEqual(new Set(["prompt", "output"]))
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("image: IMAGE_SAFETY is SoftFailure(ContentFiltered) and NO_IMAGE is SoftFailure(EmptyOutput)", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const blocked = failureOf(yield* Effect.exit(gemini.generateImage(draw("A fox [sim:contentFilter]"))))
      expect([blocked._tag, blocked.reason, blocked._tag === "SoftFailure" && blocked.finishReason]).toEqual(["SoftFailure", "ContentFiltered", "IMAGE_SAFETY"])
      const empty = failureOf(yield* Effect.exit(gemini.generateImage(draw("A fox [sim:emptyOutput]"))))
      expect([empty._tag, empty.reason]).toEqual(["SoftFailure", "EmptyOutput"])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("text: MAX_TOKENS is SoftFailure(Truncated) keeping the partial text", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(ask("Long story [sim:truncated]", { maxTokens: 20 }))))
      expect(failure.reason).toBe("Truncated")
      expect(failure._tag === "SoftFailure" && failure.output!.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("text: a candidate with no parts is SoftFailure(EmptyOutput)", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(ask("Hi [sim:emptyOutput]"))))
      expect([failure._tag, failure.reason]).toEqual(["SoftFailure", "EmptyOutput"])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("validators apply to Gemini answers too", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(ask("Summarise [sim:reply=Too short.]", { validate: [OutputValidator.minWords(10)] }))))
      expect(failure._tag).toBe("SilentFailure")
      expect(failure._tag === "SilentFailure" && failure.output).toBe("Too short.")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("503 UNAVAILABLE 'The model is overloaded' is HardFailure(Overloaded)", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateImage(draw("A fox [sim:overloaded]"))))
      expect([failure.reason, failure.status, failure.code]).toEqual(["Overloaded", 503, "UNAVAILABLE"])
      expect(failure.message).toBe("The model is overloaded. Please try again later.")
      expect(isRetryable(failure)).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("429 RESOURCE_EXHAUSTED with RetryInfo is RateLimited with that retry-after", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(ask("Hi [sim:rateLimited]"))))
      expect(failure.reason).toBe("RateLimited")
      expect(failure.retryAfter && Duration.toMillis(failure.retryAfter)).toBe(20_000)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a per-day quota violation is QuotaExhausted", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(ask("Hi [sim:quotaExhausted]"))))
      expect(failure.reason).toBe("QuotaExhausted")
      expect(isRetryable(failure)).toBe(false)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("Google's 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID is Unauthorized, neither retryable nor fallback-eligible", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const provider = yield* Gemini.make({ baseUrl: sim.url, apiKey: Redacted.make("AIzaWrongKey-0000000000000000") })
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Hi"))))
      expect([failure._tag, failure.reason, failure.status, failure.code]).toEqual(["HardFailure", "Unauthorized", 400, "INVALID_ARGUMENT"])
      expect(failure.message).toBe("API key not valid. Please pass a valid API key.")
      expect(isRetryable(failure)).toBe(false)
      expect(isFallbackEligible(failure)).toBe(false)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each([
    ["connectionReset", "Network", undefined, /closed|reset|socket|terminated/i],
    ["malformedJson", "ServerError", 200, /malformed JSON/],
    ["serverError", "ServerError", 500, /internal error has occurred/],
    ["badGateway", "ServerError", 502, /502 Bad Gateway/],
    ["gatewayTimeout", "Timeout", 504, /upstream request timeout/]
  ] as const)("[sim:%s] on generateContent is HardFailure(%s), status %s", ([fault, reason, status, message]) =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const calls: ReadonlyArray<Effect.Effect<unknown, GenerationFailure>> = [
        gemini.generateText(ask(`Hi [sim:${fault}]`)),
        gemini.generateImage(draw(`A fox [sim:${fault}]`))
      ]
      for (const call of calls) {
        const failure = failureOf(yield* Effect.exit(call))
        expect(failure._tag).toBe("HardFailure")
        expect(failure.reason).toBe(reason)
        expect(failure.status).toBe(status)
        expect(failure.message).toMatch(message)
        expect(failure.provider).toBe("gemini")
        expect(isRetryable(failure)).toBe(true)
        if (status === undefined) {
          expect(failure.rawBody).toBeUndefined()
        } else {
          // every simulator answer carries x-request-id; the body is kept
          expect(failure.requestId).toMatch(/^req_/)
          expect(failure.rawBody?.length).toBeGreaterThan(0)
        }
      }
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("[sim:hang] is HardFailure(Timeout) exactly at the configured time-out (TestClock)", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const provider = yield* Gemini.make({ baseUrl: sim.url, apiKey, timeout: "45 seconds" })
      const fiber = yield* Effect.fork(Effect.exit(provider.generateText(ask("Hi [sim:hang]"))))
      yield* TestClock.adjust("44 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      const failure = failureOf(yield* Fiber.join(fiber))
      expect([failure._tag, failure.reason, failure.status]).toEqual(["HardFailure", "Timeout", undefined])
      expect(failure.message).toContain("45s")
      expect(isRetryable(failure)).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a prompt over the context window is HardFailure(ContextLengthExceeded), fallback-eligible", () =>
    Effect.gen(function*() {
      const { gemini, sim } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(ask("word ".repeat(2000)))))
      expect([failure._tag, failure.reason, failure.status, failure.code]).toEqual(["HardFailure", "ContextLengthExceeded", 400, "INVALID_ARGUMENT"])
      expect(failure.message).toMatch(/input token count \(\d+\) exceeds the maximum number of tokens allowed \(1000\)/)
      expect(isRetryable(failure)).toBe(false)
      expect(isFallbackEligible(failure)).toBe(true)
      // refused by validation: no outcome was drawn
      const state = yield* sim.snapshot
      expect(state.models.find((m) => m.id === "gemini-2.5-flash")?.rejected).toBe(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an unknown model is NotFound", () =>
    Effect.gen(function*() {
      const { gemini } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(gemini.generateText(TextRequest.make({ model: "gemini-9", messages: [Message.make({ role: "user", content: "hi" })] }))))
      expect([failure.reason, failure.status, failure.code]).toEqual(["NotFound", 404, "NOT_FOUND"])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("n > 1 and video are refused up front as BadRequest, without a call", () =>
    Effect.gen(function*() {
      const { gemini, sim } = yield* startSimulator()
      const many = failureOf(yield* Effect.exit(gemini.generateImage(draw("A fox", { n: 2 }))))
      expect([many.reason, many.param]).toEqual(["BadRequest", "n"])
      const video = failureOf(yield* Effect.exit(gemini.submitVideo(VideoRequest.make({ model: "veo-3", prompt: "x" }))))
      expect([video.reason, video.code]).toEqual(["BadRequest", "unsupported_operation"])
      const state = yield* sim.snapshot
      expect(state.models.reduce((n, m) => n + m.requests + m.rejected, 0)).toBe(0)
    }).pipe(Effect.provide(HttpLive)))
})

describe("Gemini against scripted bodies", () => {
  it.scoped("a 200 whose body is an error envelope is a HardFailure carrying the provider's message", () =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, { error: { code: 502, message: "Upstream provider returned an error" } })
      const provider = yield* Gemini.make({ baseUrl: server.url, apiKey })
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Hi"))))
      expect(failure._tag).toBe("HardFailure")
      expect(failure.status).toBe(200)
      expect(failure.message).toContain("Upstream provider returned an error")
      expect((yield* server.received).map((r) => r.url)).toEqual(["/v1beta/models/gemini-2.5-flash:generateContent"])
    }).pipe(Effect.provide(HttpLive)))
})
