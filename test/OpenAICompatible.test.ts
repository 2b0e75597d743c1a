import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Redacted, Schema, TestClock } from "effect"
import { GenerationFailure, isFallbackEligible, isRetryable } from "../src/Failure.js"
import { ImageRequest } from "../src/ImageGeneration.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as OutputValidator from "../src/OutputValidator.js"
import { Message, TextRequest, ToolDefinition } from "../src/TextGeneration.js"
import { isTerminal, VideoRequest } from "../src/VideoGeneration.js"
import { HttpLive, KEY, serveFixed, serveJson, startSimulator } from "./support/simulator.js"

const ask = (prompt: string, extra: Partial<ConstructorParameters<typeof TextRequest>[0]> = {}) =>
  TextRequest.make({ model: "gpt-4.1-mini", messages: [Message.make({ role: "user", content: prompt })], ...extra })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

describe("OpenAICompatible text", () => {
  it.scoped("a normal answer carries content, usage, finish reason and request id", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const result = yield* openai.generateText(ask("Say hello [sim:ok]"))
      expect(result.content).toEqual(expect.any(String))
      expect(result.content!.length).toBeGreaterThan(0)
      expect(result.finishReason).toBe("stop")
      expect(result.model).toBe("gpt-4.1-mini")
      expect(result.usage?.completionTokens).toBeGreaterThan(0)
      expect(result.requestId).toMatch(/^req_/)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("null content with tool_calls is a success, not an empty output", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const result = yield* openai.generateText(ask("Weather in Kyoto? [sim:tool]", {
        tools: [ToolDefinition.make({ name: "get_weather", parameters: { type: "object" } })]
      }))
      expect(result.content).toBeNull()
      expect(result.finishReason).toBe("tool_calls")
      expect(result.toolCalls.map((c) => c.name)).toEqual(["get_weather"])
      expect(() => JSON.parse(result.toolCalls[0]!.arguments)).not.toThrow()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each([
    ["[sim:contentFilter]", "ContentFiltered", "content_filter"],
    ["[sim:truncated]", "Truncated", "length"],
    ["[sim:emptyOutput]", "EmptyOutput", "stop"]
  ] as const)("%s on a 200 is SoftFailure(%s)", ([directive, reason, finishReason]) =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask(`Tell me a story ${directive}`, { maxTokens: 24 }))))
      expect(failure._tag).toBe("SoftFailure")
      expect(failure.reason).toBe(reason)
      expect(failure.status).toBe(200)
      expect(failure._tag === "SoftFailure" && failure.finishReason).toBe(finishReason)
      if (reason === "Truncated" && failure._tag === "SoftFailure") {
        expect(failure.completionTokens).toBe(24)
        expect(failure.output?.length).toBeGreaterThan(0)
      }
      expect(isRetryable(failure)).toBe(false)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("validators turn a wrong label into SilentFailure(InvalidOutput) that keeps the whole output", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const validate = [OutputValidator.oneOf(["positive", "negative", "neutral"])]
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask("Sentiment? [sim:reply=Probably positive, I think]", { validate }))))
      expect(failure._tag).toBe("SilentFailure")
      expect(failure.reason).toBe("InvalidOutput")
      expect(failure._tag === "SilentFailure" && failure.output).toBe("Probably positive, I think")
      expect(failure._tag === "SilentFailure" && failure.validator).toBe("oneOf")
      const ok = yield* openai.generateText(ask("Sentiment? [sim:reply=Positive.]", { validate }))
      expect(ok.content).toBe("Positive.")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a JSON validator names the missing field", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const validate = [OutputValidator.json(Schema.Struct({ label: Schema.String, score: Schema.Number }))]
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask(`Classify [sim:reply={"label":"spam"}]`, { validate }))))
      expect(failure.reason).toBe("InvalidOutput")
      expect(failure.message).toContain("score")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each([
    ["overloaded", "Overloaded", 503, /high demand/],
    ["rateLimited", "RateLimited", 429, /Rate limit/],
    ["quotaExhausted", "QuotaExhausted", 429, /quota/],
    ["serverError", "ServerError", 500, /server had an error/],
    ["badGateway", "ServerError", 502, /502 Bad Gateway/],
    ["gatewayTimeout", "Timeout", 504, /upstream request timeout/],
    ["malformedJson", "ServerError", 200, /malformed JSON/]
  ] as const)("[sim:%s] is HardFailure(%s)", ([fault, reason, status, message]) =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask(`Hello [sim:${fault}]`))))
      expect(failure._tag).toBe("HardFailure")
      expect(failure.reason).toBe(reason)
      expect(failure.status).toBe(status)
      expect(failure.message).toMatch(message)
      expect(failure.provider).toBe("gateway")
      expect(failure.model).toBe("gpt-4.1-mini")
      expect(failure.requestId).toMatch(/^req_/)
      expect(failure.rawBody?.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a 429 carries the retry-after the server sent", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask("Hello [sim:rateLimited]"))))
      // retryAfterSeconds defaults to 20 simulated seconds; timeScale 1 → 20 s real
      expect(failure.retryAfter && Duration.toMillis(failure.retryAfter)).toBe(20_000)
      expect(isRetryable(failure)).toBe(true)
      expect(isFallbackEligible(failure)).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a reset connection is HardFailure(Network)", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask("Hello [sim:connectionReset]"))))
      expect(failure.reason).toBe("Network")
      expect(failure.status).toBeUndefined()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a refused connection is HardFailure(Network)", () =>
    Effect.gen(function*() {
      const provider = yield* OpenAICompatible.make({ baseUrl: "http://127.0.0.1:1", apiKey: Redacted.make(KEY) })
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Hello"))))
      expect(failure.reason).toBe("Network")
      expect(failure.message).toMatch(/ECONNREFUSED|fetch failed|connect/i)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a provider that never answers is HardFailure(Timeout) after the configured time-out (TestClock)", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const provider = yield* OpenAICompatible.make({ baseUrl: sim.url, apiKey: Redacted.make(KEY), timeout: "90 seconds" })
      const fiber = yield* Effect.fork(Effect.exit(provider.generateText(ask("Hello [sim:hang]"))))
      yield* TestClock.adjust("89 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      const failure = failureOf(yield* Fiber.join(fiber))
      expect(failure.reason).toBe("Timeout")
      expect(failure.message).toContain("1m 30s")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a wrong key is HardFailure(Unauthorized) and the key appears nowhere in the failure", () =>
    Effect.gen(function*() {
      const { sim } = yield* startSimulator()
      const wrong = "sk-wrong-secret-7777777777"
      const provider = yield* OpenAICompatible.make({ baseUrl: sim.url, apiKey: Redacted.make(wrong) })
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Hello"))))
      expect(failure.reason).toBe("Unauthorized")
      expect(failure.status).toBe(401)
      expect(failure.code).toBe("invalid_api_key")
      const everything = JSON.stringify(Schema.encodeSync(GenerationFailure)(failure)) + String(failure) + failure.stack
      expect(everything).not.toContain(wrong)
      expect(everything).not.toContain("7777")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an unknown model is HardFailure(NotFound) blaming param model", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateText(TextRequest.make({ model: "gpt-9", messages: [Message.make({ role: "user", content: "hi" })] }))))
      expect(failure.reason).toBe("NotFound")
      expect(failure.param).toBe("model")
      expect(isFallbackEligible(failure)).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a prompt over the context window is HardFailure(ContextLengthExceeded)", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateText(ask("word ".repeat(2000)))))
      expect(failure.reason).toBe("ContextLengthExceeded")
      expect(failure.param).toBe("messages")
      expect(isRetryable(failure)).toBe(false)
      expect(isFallbackEligible(failure)).toBe(true)
    }).pipe(Effect.provide(HttpLive)))
})

describe("OpenAICompatible images", () => {
  const draw = (model: string, prompt: string, extra: Partial<ConstructorParameters<typeof ImageRequest>[0]> = {}) =>
    ImageRequest.make({ model, prompt, ...extra })

  it.scoped("b64_json images come back as PNG bytes", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const result = yield* openai.generateImage(draw("gpt-image-1.5", "A red fox [sim:ok]", { n: 2, outputFormat: "png" }))
      expect(result.images).toHaveLength(2)
      for (const image of result.images) {
        expect(image.mimeType).toBe("image/png")
        expect(Array.from(image.bytes!.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47])
      }
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("url images carry the url and the revised prompt", () =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      const result = yield* openai.generateImage(draw("flux-2-pro", "A red fox [sim:ok]"))
      expect(result.images[0].url).toMatch(new RegExp(`^${sim.url}/files/`))
      expect(result.images[0].revisedPrompt).toContain("red fox")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("response_format on a model that does not take it is BadRequest with param", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateImage(draw("gpt-image-1.5", "A fox", { responseFormat: "url" }))))
      expect(failure.reason).toBe("BadRequest")
      expect(failure.param).toBe("response_format")
      expect(isRetryable(failure)).toBe(false)
      expect(isFallbackEligible(failure)).toBe(false)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("n above the model's limit is BadRequest with param n", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateImage(draw("flux-2-pro", "A fox", { n: 3 }))))
      expect(failure.reason).toBe("BadRequest")
      expect(failure.param).toBe("n")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an empty data list is SoftFailure(EmptyOutput)", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateImage(draw("flux-2-pro", "A fox [sim:emptyOutput]"))))
      expect(failure._tag).toBe("SoftFailure")
      expect(failure.reason).toBe("EmptyOutput")
      expect(failure.message).toMatch(/filtered/)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a moderation block is HardFailure(ContentFiltered), fallback only when opted in", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateImage(draw("gpt-image-1.5", "A fox [sim:contentFilter]"))))
      expect(failure._tag).toBe("HardFailure")
      expect(failure.reason).toBe("ContentFiltered")
      expect(failure.code).toBe("moderation_blocked")
      expect(isFallbackEligible(failure)).toBe(false)
      expect(isFallbackEligible(failure, { contentFiltered: true })).toBe(true)
    }).pipe(Effect.provide(HttpLive)))
})

describe("OpenAICompatible video", () => {
  const pollToEnd = (provider: Effect.Effect.Success<ReturnType<typeof startSimulator>>["openai"], model: string) =>
    Effect.gen(function*() {
      let task = yield* provider.submitVideo(VideoRequest.make({ model, prompt: "A paper boat [sim:ok]", seconds: 5 }))
      const statuses: Array<string> = [task.status]
      const notYet: Array<string> = []
      for (let i = 0; i < 20 && !isTerminal(task.status); i++) {
        yield* TestClock.adjust("10 seconds")
        const polled = yield* Effect.either(provider.pollVideo({ id: task.id, model }))
        if (polled._tag === "Left") {
          notYet.push(`${polled.left.reason}:${polled.left.code}`)
          continue
        }
        task = polled.right
        if (statuses[statuses.length - 1] !== task.status) statuses.push(task.status)
      }
      return { task, statuses, notYet }
    })

  it.scoped.each([
    ["sora-2", "completed"],
    ["kling-v2", "succeed"],
    ["gen4_turbo", "SUCCEEDED"]
  ] as const)("%s: submit, poll through queued → running → succeeded (raw %s)", ([model, raw]) =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const { notYet, statuses, task } = yield* pollToEnd(openai, model)
      expect(statuses).toEqual(["queued", "running", "succeeded"])
      expect(task.rawStatus).toBe(raw)
      expect(task.videoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)
      expect(task.error).toBeUndefined()
      // Runway says task_not_exist on the first poll; the others never do.
      expect(notYet).toEqual(model === "gen4_turbo" ? ["NotFound:task_not_exist"] : [])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a filtered video task ends failed with the vendor's error", () =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      let task = yield* openai.submitVideo(VideoRequest.make({ model: "sora-2", prompt: "Something [sim:contentFilter]" }))
      for (let i = 0; i < 20 && !isTerminal(task.status); i++) {
        yield* TestClock.adjust("10 seconds")
        task = yield* openai.pollVideo({ id: task.id, model: "sora-2" })
      }
      expect(task.status).toBe("failed")
      expect(task.error?.message.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(HttpLive)))
})

describe("OpenAICompatible images: hard faults through the adapter", () => {
  const draw = (prompt: string) => ImageRequest.make({ model: "gpt-image-1.5", prompt })

  it.scoped.each([
    ["overloaded", "Overloaded", 503, /high demand/],
    ["rateLimited", "RateLimited", 429, /Rate limit reached/],
    ["badGateway", "ServerError", 502, /502 Bad Gateway/]
  ] as const)("[sim:%s] on /v1/images/generations is HardFailure(%s), status %s", ([fault, reason, status, message]) =>
    Effect.gen(function*() {
      const { openai } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.generateImage(draw(`A red fox [sim:${fault}]`))))
      expect(failure._tag).toBe("HardFailure")
      expect(failure.reason).toBe(reason)
      expect(failure.status).toBe(status)
      expect(failure.message).toMatch(message)
      expect([failure.provider, failure.model]).toEqual(["gateway", "gpt-image-1.5"])
      expect(failure.requestId).toMatch(/^req_/)
      expect(isRetryable(failure)).toBe(true)
      expect(isFallbackEligible(failure)).toBe(true)
      if (fault === "rateLimited") {
        // retry-after-ms from the images route (retryAfterSeconds 20, timeScale 1)
        expect(failure.retryAfter && Duration.toMillis(failure.retryAfter)).toBe(20_000)
      } else {
        expect(failure.retryAfter).toBeUndefined()
      }
    }).pipe(Effect.provide(HttpLive)))
})

describe("OpenAICompatible video submit: hard faults", () => {
  // The simulator answers submit-time faults in each vendor's own error shape:
  // OpenAI {"error":{...}}, Kling {"code":5001,"message",...}, Runway {"error":"..."}.
  it.scoped.each([
    ["sora-2", "overloaded", "Overloaded", 503, /high demand/, undefined],
    ["kling-v2", "overloaded", "Overloaded", 503, /Server temporarily unavailable/, "5001"],
    ["gen4_turbo", "overloaded", "Overloaded", 503, /currently overloaded/, undefined],
    ["sora-2", "rateLimited", "RateLimited", 429, /Rate limit reached/, "rate_limit_exceeded"],
    ["kling-v2", "rateLimited", "RateLimited", 429, /exceeding the rate limit/, "1302"],
    ["gen4_turbo", "rateLimited", "RateLimited", 429, /exceeded the rate limit/, undefined]
  ] as const)("%s: [sim:%s] on submit is HardFailure(%s) %s in the vendor's shape", ([model, fault, reason, status, message, code]) =>
    Effect.gen(function*() {
      const { openai, sim } = yield* startSimulator()
      const failure = failureOf(yield* Effect.exit(openai.submitVideo(VideoRequest.make({ model, prompt: `A paper boat [sim:${fault}]` }))))
      expect([failure._tag, failure.reason, failure.status]).toEqual(["HardFailure", reason, status])
      expect(failure.message).toMatch(message)
      if (code !== undefined) expect(failure.code).toBe(code)
      expect(failure.model).toBe(model)
      expect(isRetryable(failure)).toBe(true)
      if (fault === "rateLimited") expect(failure.retryAfter && Duration.toMillis(failure.retryAfter)).toBe(20_000)
      const state = yield* sim.snapshot
      expect(state.models.find((m) => m.id === model)?.outcomes[fault]).toBe(1)
    }).pipe(Effect.provide(HttpLive)))
})

const chatBody = (message: Record<string, unknown>, finishReason: string) => ({
  id: "chatcmpl-fixed",
  object: "chat.completion",
  created: 1_768_438_800,
  model: "gpt-4.1-mini",
  choices: [{ index: 0, message: { role: "assistant", ...message }, logprobs: null, finish_reason: finishReason }],
  usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 }
})

/** An OpenAI-compatible provider pointed at a fixed server. */
const fixedProvider = (url: string, extra: Partial<OpenAICompatible.Options> = {}) =>
  OpenAICompatible.make({ name: "fixed", baseUrl: url, apiKey: Redacted.make(KEY), timeout: "30 seconds", ...extra })

describe("OpenAICompatible against scripted bodies", () => {
  it.scoped("a refusal with null content is SoftFailure(ContentFiltered) code refusal, keeping the refusal text", () =>
    Effect.gen(function*() {
      const refusal = "I'm sorry, but I can't help with that request."
      const server = yield* serveJson(200, chatBody({ content: null, refusal }, "stop"))
      const provider = yield* fixedProvider(server.url)
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Something dubious"))))
      expect([failure._tag, failure.reason, failure.status, failure.code]).toEqual(["SoftFailure", "ContentFiltered", 200, "refusal"])
      expect(failure.message).toContain(refusal)
      expect(failure._tag === "SoftFailure" && failure.output).toBe(refusal)
      expect(isRetryable(failure)).toBe(false)
      expect(isFallbackEligible(failure)).toBe(false)
      expect((yield* server.received).map((r) => [r.method, r.url])).toEqual([["POST", "/v1/chat/completions"]])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a 10 KB body with a content-length over maxResponseBytes 1024 is HardFailure(ServerError) naming the limit", () =>
    Effect.gen(function*() {
      const big = JSON.stringify(chatBody({ content: "x".repeat(10_000), refusal: null }, "stop"))
      const server = yield* serveFixed(200, { "content-type": "application/json" }, big)
      const client = yield* HttpClient.HttpClient
      const probe = yield* client.get(server.url)
      expect(probe.headers["content-length"]).toBe(String(big.length))
      const provider = yield* fixedProvider(server.url, { maxResponseBytes: 1024 })
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Hello"))))
      expect([failure._tag, failure.reason, failure.status]).toEqual(["HardFailure", "ServerError", 200])
      expect(failure.message).toMatch(/1024/)
      expect(failure.message).toMatch(/limit/)
      // the same body under the default limit is a normal answer
      const ok = yield* (yield* fixedProvider(server.url)).generateText(ask("Hello"))
      expect(ok.content).toHaveLength(10_000)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a 10 KB chunked body (no content-length) over maxResponseBytes 1024 is HardFailure(ServerError) naming the limit", () =>
    Effect.gen(function*() {
      const big = JSON.stringify(chatBody({ content: "x".repeat(10_000), refusal: null }, "stop"))
      const server = yield* serveFixed(200, { "content-type": "application/json" }, big, { chunked: true })
      const client = yield* HttpClient.HttpClient
      const probe = yield* client.get(server.url)
      expect(probe.headers["content-length"]).toBeUndefined()
      expect(probe.headers["transfer-encoding"]).toBe("chunked")
      const provider = yield* fixedProvider(server.url, { maxResponseBytes: 1024 })
      const failure = failureOf(yield* Effect.exit(provider.generateText(ask("Hello"))))
      expect([failure._tag, failure.reason, failure.status]).toEqual(["HardFailure", "ServerError", 200])
      expect(failure.message).toMatch(/1024/)
      expect(failure.message).toMatch(/limit/)
      const ok = yield* (yield* fixedProvider(server.url)).generateText(ask("Hello"))
      expect(ok.content).toHaveLength(10_000)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("b64_json that is not base64 is HardFailure(ServerError) status 200", () =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, { created: 1_768_438_800, data: [{ b64_json: "this is *not* base64!" }] })
      const provider = yield* fixedProvider(server.url)
      const failure = failureOf(yield* Effect.exit(provider.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt: "A fox" }))))
      expect([failure._tag, failure.reason, failure.status]).toEqual(["HardFailure", "ServerError", 200])
      expect(failure.message).toMatch(/base64/)
      expect(isRetryable(failure)).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("an unknown video status is HardFailure(ServerError) naming the status", () =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, { id: "x", object: "video", status: "melting" })
      const provider = yield* fixedProvider(server.url)
      const failure = failureOf(yield* Effect.exit(provider.pollVideo({ id: "x", model: "sora-2" })))
      expect([failure._tag, failure.reason, failure.status]).toEqual(["HardFailure", "ServerError", 200])
      expect(failure.message).toContain("melting")
      expect((yield* server.received).map((r) => [r.method, r.url])).toEqual([["GET", "/v1/videos/x"]])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a failed Kling task is normalised to failed with task_status_msg as the error", () =>
    Effect.gen(function*() {
      const server = yield* serveJson(200, {
        code: 0,
        message: "SUCCEED",
        request_id: "kling-req-1",
        data: {
          task_id: "788866120013107299",
          task_status: "failed",
          task_status_msg: "Failure to pass the risk control system",
          created_at: 1_768_438_800_000,
          updated_at: 1_768_438_880_000
        }
      })
      const provider = yield* fixedProvider(server.url)
      const task = yield* provider.pollVideo({ id: "788866120013107299", model: "kling-v2" })
      expect([task.id, task.status, task.rawStatus]).toEqual(["788866120013107299", "failed", "failed"])
      expect(task.error?.message).toBe("Failure to pass the risk control system")
      expect(task.videoUrl).toBeUndefined()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a FAILED Runway task is normalised to failed with failure and failureCode as the error", () =>
    Effect.gen(function*() {
      const id = "17f20503-6c24-4c16-946b-35dbbce2af2f"
      const server = yield* serveJson(200, {
        id,
        createdAt: "2026-01-15T01:00:00.000Z",
        status: "FAILED",
        failure: "Your prompt did not pass our content moderation. Please revise it and try again.",
        failureCode: "SAFETY.INPUT.TEXT"
      })
      const provider = yield* fixedProvider(server.url)
      const task = yield* provider.pollVideo({ id, model: "gen4_turbo" })
      expect([task.id, task.status, task.rawStatus]).toEqual([id, "failed", "FAILED"])
      expect(task.error).toEqual({
        code: "SAFETY.INPUT.TEXT",
        message: "Your prompt did not pass our content moderation. Please revise it and try again."
      })
      expect(task.videoUrl).toBeUndefined()
    }).pipe(Effect.provide(HttpLive)))

  it.scoped.each(["generateText", "generateImage"] as const)(
    "%s: a 200 whose body is an error envelope is a HardFailure carrying the provider's message",
    (operation) =>
      Effect.gen(function*() {
        const server = yield* serveJson(200, { error: { code: 502, message: "Upstream provider returned an error" } })
        const provider = yield* fixedProvider(server.url)
        const call: Effect.Effect<unknown, GenerationFailure> = operation === "generateText"
          ? provider.generateText(ask("Hello"))
          : provider.generateImage(ImageRequest.make({ model: "gpt-image-1.5", prompt: "A fox" }))
        const failure = failureOf(yield* Effect.exit(call))
        expect(failure._tag).toBe("HardFailure")
        expect(failure.status).toBe(200)
        expect(failure.message).toContain("Upstream provider returned an error")
      }).pipe(Effect.provide(HttpLive))
  )
})
