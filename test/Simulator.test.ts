import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Duration, Effect, Either, Exit, Fiber, Scope, TestClock } from "effect"
import { classifyResponse } from "../src/Classification.js"
import { formatParseError } from "../src/internal/formatError.js"
import * as Wire from "../src/internal/simulator/wire.js"
import * as Simulator from "../src/Simulator.js"
import { rawRequest } from "./support/rawHttp.js"

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const KEY = "sk-test-0123456789abcdefwxyz"
const AUTH = { authorization: `Bearer ${KEY}` }

const baseModels: Simulator.SimulatorConfigInput["models"] = [
  { id: "chat-a", vendor: "openai", kind: "text", contextWindow: 50 },
  { id: "gem-text", vendor: "google", kind: "text", contextWindow: 50 },
  { id: "gem-image", vendor: "google", kind: "image" },
  { id: "img-url", vendor: "bytedance", kind: "image", capabilities: { maxImages: 2, revisesPrompt: true } },
  {
    id: "gpt-img",
    vendor: "openai",
    kind: "image",
    capabilities: { responseFormat: false, defaultImageOutput: "b64_json" }
  },
  { id: "vid-openai", vendor: "openai", kind: "video", videoDialect: "openai", video: { queueSeconds: 20, renderSeconds: 60 } },
  { id: "vid-kling", vendor: "kuaishou", kind: "video", videoDialect: "kling", video: { queueSeconds: 20, renderSeconds: 60 } },
  { id: "vid-runway", vendor: "runway", kind: "video", videoDialect: "runway", video: { queueSeconds: 20, renderSeconds: 60 } }
]

const config = (input: Partial<Simulator.SimulatorConfigInput> = {}): Simulator.SimulatorConfig =>
  Simulator.makeConfig({ seed: 42, timeScale: 1, models: baseModels, ...input })

interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  readonly bytes: Uint8Array
  readonly json: any
}

const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const bytes = new Uint8Array(yield* response.arrayBuffer)
    const text = new TextDecoder().decode(bytes)
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, bytes, json } as Reply
  })

const post = (url: string, body: unknown, headers: Record<string, string> = AUTH) =>
  send(HttpClientRequest.post(url).pipe(HttpClientRequest.setHeaders(headers), HttpClientRequest.bodyUnsafeJson(body)))

const get = (url: string, headers: Record<string, string> = AUTH) =>
  send(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers)))

/** Run against a fresh simulator (scoped) with a real HTTP client. */
const withSim = <A, E, R>(
  cfg: Simulator.SimulatorConfig,
  f: (sim: Simulator.SimulatorShape) => Effect.Effect<A, E, R>
) =>
  Effect.scoped(Effect.flatMap(Simulator.make(cfg), f)).pipe(Effect.provide(NodeHttpClient.layerUndici))

const chat = (sim: Simulator.SimulatorShape, content: string, extra: Record<string, unknown> = {}, model = "chat-a") =>
  post(`${sim.url}/v1/chat/completions`, { model, messages: [{ role: "user", content }], ...extra })

const image = (sim: Simulator.SimulatorShape, prompt: string, extra: Record<string, unknown> = {}, model = "img-url") =>
  post(`${sim.url}/v1/images/generations`, { model, prompt, ...extra })

const gemini = (
  sim: Simulator.SimulatorShape,
  text: string,
  extra: Record<string, unknown> = {},
  model = "gem-text",
  headers: Record<string, string> = { "x-goog-api-key": KEY }
) =>
  post(`${sim.url}/v1beta/models/${model}:generateContent`, { contents: [{ role: "user", parts: [{ text }] }], ...extra }, headers)

/**
 * Submit a video as multipart/form-data. The body is built by hand: the global
 * `FormData` of Node 20 is not accepted by the npm `undici` behind
 * `NodeHttpClient.layerUndici` ("action is not a function").
 */
const video = (sim: Simulator.SimulatorShape, prompt: string, model: string) => {
  const boundary = "----simulator-test-boundary"
  const fields = { prompt, model, size: "1280x720" }
  const body = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join("") + `--${boundary}--\r\n`
  return send(
    HttpClientRequest.post(`${sim.url}/v1/videos`).pipe(
      HttpClientRequest.setHeaders(AUTH),
      HttpClientRequest.bodyText(body, `multipart/form-data; boundary=${boundary}`)
    )
  )
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const b64Bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"))

// ---------------------------------------------------------------------------
// success shapes
// ---------------------------------------------------------------------------

describe("Simulator wire formats", () => {
  it.effect("chat completion success shape", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const r = yield* chat(sim, "Summarise the plan")
        expect(r.status).toBe(200)
        expect(r.headers["x-request-id"]).toMatch(/^req_[0-9a-f]+$/)
        expect(r.headers["content-type"]).toContain("application/json")
        const body = r.json
        expect(body.id).toMatch(/^chatcmpl-/)
        expect(body.object).toBe("chat.completion")
        expect(typeof body.created).toBe("number")
        expect(body.model).toBe("chat-a")
        expect(body.choices[0].index).toBe(0)
        expect(body.choices[0].message.role).toBe("assistant")
        expect(body.choices[0].message.content.split(" ").length).toBeGreaterThanOrEqual(10)
        expect(body.choices[0].message.refusal).toBeNull()
        expect(body.choices[0].logprobs).toBeNull()
        expect(body.choices[0].finish_reason).toBe("stop")
        expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
        // deterministic content
        const again = yield* chat(sim, "Summarise the plan")
        expect(again.json.choices[0].message.content).toBe(body.choices[0].message.content)
      })))

  it.effect("chat: tool call, json mode and reply directive", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const tools = [{
          type: "function",
          function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } } } }
        }]
        const tool = yield* chat(sim, "weather? [sim:tool]", { tools })
        const choice = tool.json.choices[0]
        expect(choice.finish_reason).toBe("tool_calls")
        expect(choice.message.content).toBeNull()
        expect(choice.message.tool_calls[0].type).toBe("function")
        expect(choice.message.tool_calls[0].id).toMatch(/^call_/)
        expect(choice.message.tool_calls[0].function.name).toBe("get_weather")
        expect(Object.keys(JSON.parse(choice.message.tool_calls[0].function.arguments))).toEqual(["city", "days"])

        const noTools = yield* chat(sim, "weather? [sim:tool]")
        expect(noTools.json.choices[0].finish_reason).toBe("stop")

        const json = yield* chat(sim, "classify", { response_format: { type: "json_object" } })
        expect(typeof JSON.parse(json.json.choices[0].message.content)).toBe("object")

        const reply = yield* chat(sim, "label it [sim:reply=banana split]")
        expect(reply.json.choices[0].message.content).toBe("banana split")
      })))

  it.effect("chat soft faults", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const filtered = yield* chat(sim, "x [sim:contentFilter]")
        expect(filtered.status).toBe(200)
        expect(filtered.json.choices[0].finish_reason).toBe("content_filter")
        expect(filtered.json.choices[0].message.content).toBeNull()

        const truncated = yield* chat(sim, "x [sim:truncated]", { max_tokens: 5 })
        expect(truncated.json.choices[0].finish_reason).toBe("length")
        expect(truncated.json.usage.completion_tokens).toBe(5)
        expect(truncated.json.choices[0].message.content.length).toBeGreaterThan(0)
        const truncated16 = yield* chat(sim, "x [sim:truncated]")
        expect(truncated16.json.usage.completion_tokens).toBe(16)

        const empty = yield* chat(sim, "x [sim:emptyOutput]")
        expect(empty.json.choices[0].finish_reason).toBe("stop")
        expect(empty.json.choices[0].message.content).toBeNull()
        expect(empty.json.choices[0].message.tool_calls).toBeUndefined()
      })))

  it.effect("images: url (downloadable PNG), b64_json, revised_prompt, usage", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const r = yield* image(sim, "a red fox", { n: 2 })
        expect(r.status).toBe(200)
        expect(typeof r.json.created).toBe("number")
        expect(r.json.data).toHaveLength(2)
        expect(r.json.data[0].url).toMatch(new RegExp(`^${sim.url}/files/img_[0-9a-f]+\\.png$`))
        expect(r.json.data[0].revised_prompt).toContain("a red fox")
        const file = yield* get(r.json.data[0].url, {})
        expect(file.status).toBe(200)
        expect(file.headers["content-type"]).toBe("image/png")
        expect([...file.bytes.slice(0, 8)]).toEqual(PNG_SIG)

        const b64 = yield* image(sim, "a red fox", { response_format: "b64_json" })
        expect([...b64Bytes(b64.json.data[0].b64_json).slice(0, 8)]).toEqual(PNG_SIG)

        const gpt = yield* image(sim, "a red fox", { output_format: "webp" }, "gpt-img")
        expect(gpt.status).toBe(200)
        expect(gpt.json.data[0].url).toBeUndefined()
        expect([...b64Bytes(gpt.json.data[0].b64_json).slice(0, 8)]).toEqual(PNG_SIG)
        expect(gpt.json.usage.total_tokens).toBeGreaterThan(0)
      })))

  it.effect("images: parameter rejections and soft faults", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const rf = yield* image(sim, "fox", { response_format: "url" }, "gpt-img")
        expect(rf.status).toBe(400)
        expect(rf.json.error).toEqual({
          message: "Unknown parameter: 'response_format'.",
          type: "invalid_request_error",
          param: "response_format",
          code: "unknown_parameter"
        })
        const n = yield* image(sim, "fox", { n: 3 })
        expect(n.status).toBe(400)
        expect(n.json.error.param).toBe("n")
        const missing = yield* image(sim, "")
        expect(missing.status).toBe(400)
        expect(missing.json.error.param).toBe("prompt")

        const blocked = yield* image(sim, "fox [sim:contentFilter]")
        expect(blocked.status).toBe(400)
        expect(blocked.json.error.code).toBe("moderation_blocked")
        expect(blocked.json.error.type).toBe("image_generation_user_error")
        expect(blocked.json.error.param).toBeNull()
        expect(blocked.json.error.message).toContain(blocked.headers["x-request-id"])

        const empty = yield* image(sim, "fox [sim:emptyOutput]")
        expect(empty.status).toBe(200)
        expect(empty.json.data).toEqual([])
      })))

  it.effect("gemini: text and image success, header and query keys", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const r = yield* gemini(sim, "hello", { systemInstruction: { parts: [{ text: "be brief" }] } })
        expect(r.status).toBe(200)
        const cand = r.json.candidates[0]
        expect(cand.content.role).toBe("model")
        expect(typeof cand.content.parts[0].text).toBe("string")
        expect(cand.finishReason).toBe("STOP")
        expect(cand.index).toBe(0)
        const u = r.json.usageMetadata
        expect(u.totalTokenCount).toBe(u.promptTokenCount + u.candidatesTokenCount)
        expect(r.json.modelVersion).toBe("gem-text")
        expect(typeof r.json.responseId).toBe("string")

        const viaQuery = yield* post(
          `${sim.url}/v1beta/models/gem-text:generateContent?key=${KEY}`,
          { contents: [{ parts: [{ text: "hello" }] }] },
          {}
        )
        expect(viaQuery.status).toBe(200)

        const img = yield* gemini(sim, "a cat", { generationConfig: { responseModalities: ["TEXT", "IMAGE"] } }, "gem-image")
        const parts = img.json.candidates[0].content.parts
        expect(parts[0].text).toBeTypeOf("string")
        expect(parts[1].inlineData.mimeType).toBe("image/png")
        expect([...b64Bytes(parts[1].inlineData.data).slice(0, 8)]).toEqual(PNG_SIG)

        const modal = yield* gemini(sim, "a cat", { generationConfig: { responseModalities: ["IMAGE"] } })
        expect(modal.status).toBe(400)
        expect(modal.json.error.status).toBe("INVALID_ARGUMENT")
      })))

  it.effect("gemini soft faults", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const f1 = yield* gemini(sim, "x [sim:contentFilter]")
        expect(f1.json.candidates).toBeUndefined()
        expect(f1.json.promptFeedback.blockReason).toBe("SAFETY")
        const f2 = yield* gemini(sim, "x [sim:contentFilter]")
        expect(f2.json.candidates[0].finishReason).toBe("SAFETY")
        expect(f2.json.candidates[0].content).toBeUndefined()
        const fi = yield* gemini(sim, "x [sim:contentFilter]", {}, "gem-image")
        expect(fi.json.candidates[0].finishReason).toBe("IMAGE_SAFETY")
        expect(fi.json.candidates[0].content.parts).toBeUndefined()

        const t = yield* gemini(sim, "x [sim:truncated]", { generationConfig: { maxOutputTokens: 4 } })
        expect(t.json.candidates[0].finishReason).toBe("MAX_TOKENS")
        expect(t.json.usageMetadata.candidatesTokenCount).toBe(4)
        expect(t.json.candidates[0].content.parts[0].text.length).toBeGreaterThan(0)

        const e = yield* gemini(sim, "x [sim:emptyOutput]")
        expect(e.json.candidates[0]).toMatchObject({ content: { role: "model" }, finishReason: "STOP" })
        expect(e.json.candidates[0].content.parts).toBeUndefined()
        const ei = yield* gemini(sim, "x [sim:emptyOutput]", {}, "gem-image")
        expect(ei.json.candidates[0].finishReason).toBe("NO_IMAGE")
        expect(ei.json.candidates[0].content.parts.some((p: any) => p.inlineData !== undefined)).toBe(false)

        const tool = yield* gemini(sim, "x [sim:tool]", {
          tools: [{ functionDeclarations: [{ name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } }] }]
        })
        expect(tool.json.candidates[0].content.parts[0].functionCall.name).toBe("lookup")
      })))
})

// ---------------------------------------------------------------------------
// validation and auth
// ---------------------------------------------------------------------------

describe("Simulator validation", () => {
  it.effect("auth failures on both route families", () =>
    withSim(config({ apiKeys: [KEY] }), (sim) =>
      Effect.gen(function*() {
        const missing = yield* post(`${sim.url}/v1/chat/completions`, { model: "chat-a" }, {})
        expect(missing.status).toBe(401)
        expect(missing.json.error.type).toBe("invalid_request_error")

        const wrongKey = "sk-abcdefghijklmnopqrstuvwxyz"
        const wrong = yield* post(`${sim.url}/v1/chat/completions`, { model: "chat-a" }, { authorization: `Bearer ${wrongKey}` })
        expect(wrong.status).toBe(401)
        expect(wrong.json.error).toEqual({
          message:
            "Incorrect API key provided: sk-ab***wxyz. You can find your API key at https://platform.openai.com/account/api-keys.",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key"
        })
        expect(wrong.text).not.toContain(wrongKey)

        const gWrong = yield* gemini(sim, "hi", {}, "gem-text", { "x-goog-api-key": "AIzaWrongWrongWrong" })
        expect(gWrong.status).toBe(400)
        expect(gWrong.json.error.status).toBe("INVALID_ARGUMENT")
        expect(gWrong.json.error.details[0].reason).toBe("API_KEY_INVALID")
        const gMissing = yield* gemini(sim, "hi", {}, "gem-text", {})
        expect(gMissing.status).toBe(401)

        const ok = yield* chat(sim, "hi")
        expect(ok.status).toBe(200)
      })))

  it.effect("unknown model, wrong kind, missing fields, bad JSON, context length", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const unknown = yield* chat(sim, "hi", {}, "nope")
        expect(unknown.status).toBe(404)
        expect(unknown.json.error).toEqual({
          message: "The model `nope` does not exist or you do not have access to it.",
          type: "invalid_request_error",
          param: "model",
          code: "model_not_found"
        })
        const gUnknown = yield* gemini(sim, "hi", {}, "nope")
        expect(gUnknown.status).toBe(404)
        expect(gUnknown.json.error).toEqual({
          code: 404,
          message: "models/nope is not found for API version v1beta, or is not supported for generateContent.",
          status: "NOT_FOUND"
        })
        const kind = yield* chat(sim, "hi", {}, "img-url")
        expect(kind.status).toBe(400)
        expect(kind.json.error.param).toBe("model")

        const noMessages = yield* post(`${sim.url}/v1/chat/completions`, { model: "chat-a" })
        expect(noMessages.status).toBe(400)
        expect(noMessages.json.error).toMatchObject({ param: "messages", type: "invalid_request_error" })

        const noContents = yield* post(`${sim.url}/v1beta/models/gem-text:generateContent`, {}, { "x-goog-api-key": KEY })
        expect(noContents.status).toBe(400)
        expect(noContents.json.error.status).toBe("INVALID_ARGUMENT")
        expect(noContents.json.error.details[0].fieldViolations[0].field).toBe("contents")

        const badJson = yield* send(
          HttpClientRequest.post(`${sim.url}/v1/chat/completions`).pipe(
            HttpClientRequest.setHeaders(AUTH),
            HttpClientRequest.bodyText("{not json", "application/json")
          )
        )
        expect(badJson.status).toBe(400)
        expect(badJson.json.error.type).toBe("invalid_request_error")

        const long = "x".repeat(400) // 100 tokens > 50
        const ctx = yield* chat(sim, long)
        expect(ctx.status).toBe(400)
        expect(ctx.json.error).toEqual({
          message:
            "This model's maximum context length is 50 tokens. However, your messages resulted in 100 tokens. Please reduce the length of the messages.",
          type: "invalid_request_error",
          param: "messages",
          code: "context_length_exceeded"
        })
        const gCtx = yield* gemini(sim, long)
        expect(gCtx.status).toBe(400)
        expect(gCtx.json.error.message).toBe("The input token count (100) exceeds the maximum number of tokens allowed (50).")

        const route = yield* get(`${sim.url}/v1/nothing`)
        expect(route.status).toBe(404)
        expect(route.headers["x-request-id"]).toBeDefined()

        const state = yield* sim.snapshot
        expect(state.models.find((m) => m.id === "chat-a")?.rejected).toBeGreaterThanOrEqual(2)
      })))

  it("decodeConfig errors name the field", () => {
    const bad = Effect.runSync(Effect.either(Simulator.decodeConfig({ timeScale: 0 })))
    expect(Either.isLeft(bad) && bad.left.message).toContain("timeScale")
    const badModel = Effect.runSync(Effect.either(Simulator.decodeConfig({
      models: [{ id: "m", vendor: "v", kind: "text", faults: { overloaded: 2 } }]
    })))
    expect(Either.isLeft(badModel) && badModel.left.message).toContain("overloaded")
    const typo = Effect.runSync(Effect.either(Simulator.decodeConfig({ timescale: 5 })))
    expect(Either.isLeft(typo) && typo.left.message).toContain("timescale")
    const good = Effect.runSync(Simulator.decodeConfig({ models: [{ id: "m", vendor: "v", kind: "image" }] }))
    expect(good.timeScale).toBe(1)
    expect(good.seed).toBe(1)
    expect(good.models[0]?.capabilities.maxImages).toBe(10)
    expect(good.models[0]?.urlTtlSeconds).toBe(3600)
  })

  it("defaultScenario is the image priority list (the primary overloaded for 90 min), GPT Image without response_format, a video model per dialect, at 600x", () => {
    const s = Simulator.defaultScenario
    expect(s.timeScale).toBe(600)
    expect(s.models.filter((m) => m.kind === "image").map((m) => m.id)).toEqual([
      "gemini-3-pro-image-preview",
      "gemini-2.5-flash-image",
      "seedream-4.5",
      "gpt-image-1.5",
      "flux-2-pro"
    ])
    expect(s.models.find((m) => m.id === "gpt-image-1.5")?.capabilities.responseFormat).toBe(false)
    expect(s.models.filter((m) => m.kind === "video").map((m) => m.videoDialect)).toEqual(["openai", "kling", "runway"])
    expect(s.models[0]?.outages[0]?.durationMinutes).toBe(90)
  })

  const decodeError = (input: unknown): string => {
    const result = Effect.runSync(Effect.either(Simulator.decodeConfig(input)))
    if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`)
    return formatParseError(result.left)
  }

  it("duplicate model ids are rejected, naming the id", () => {
    const message = decodeError({
      models: [
        { id: "dup", vendor: "openai", kind: "text" },
        { id: "other", vendor: "openai", kind: "text" },
        { id: "dup", vendor: "google", kind: "image" }
      ]
    })
    expect(message).toBe(`models: duplicate model id "dup" (models[0] and models[2]): model ids must be unique`)
    expect(() => Simulator.makeConfig({ models: [{ id: "m", vendor: "a", kind: "text" }, { id: "m", vendor: "b", kind: "text" }] }))
      .toThrow(/duplicate model id "m"/)
    // the same id twice is fine when it is only the vendor that repeats
    const ok = Simulator.makeConfig({ models: [{ id: "a", vendor: "v", kind: "text" }, { id: "b", vendor: "v", kind: "text" }] })
    expect(ok.models.map((m) => m.id)).toEqual(["a", "b"])
  })

  it("startAt must be an ISO 8601 date-time with an offset", () => {
    for (const startAt of ["1", "2026", "2026-01-15", "2026-01-15T10:00:00", "tomorrow", "2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-15 10:00:00Z"]) {
      expect(decodeError({ startAt })).toBe(
        `startAt: Expected an ISO 8601 date-time such as "2026-01-15T10:00:00+09:00" (with a Z or ±hh:mm offset), actual ${JSON.stringify(startAt)}`
      )
    }
    for (const startAt of ["2026-01-15T10:00:00+09:00", "2026-01-15T01:00Z", "2026-01-15T01:00:00.250Z", "2028-02-29T23:59:59-05:30"]) {
      const config = Effect.runSync(Simulator.decodeConfig({ startAt }))
      expect(config.startAt).toBe(startAt)
    }
  })

  it("fault probabilities must sum to at most 1", () => {
    const message = decodeError({
      models: [{ id: "m", vendor: "v", kind: "text", faults: { overloaded: 0.6, rateLimited: 0.3, hang: 0.2 } }]
    })
    expect(message).toBe("models[0].faults: fault probabilities must sum to at most 1, but they sum to 1.1")
    expect(() => Simulator.FaultProfile.make({ serverError: 0.7, badGateway: 0.7 })).toThrow(/sum to 1.4/)
    // exactly 1, also when floating point adds up to a hair above it
    const exact = Effect.runSync(Simulator.decodeConfig({
      models: [
        { id: "a", vendor: "v", kind: "text", faults: { overloaded: 0.1, rateLimited: 0.2, serverError: 0.7 } },
        { id: "b", vendor: "v", kind: "text", faults: { connectionReset: 1 } }
      ]
    }))
    expect(exact.models[0]?.faults.serverError).toBe(0.7)
    expect(exact.models[1]?.faults.overloaded).toBe(0)
  })
})

// ---------------------------------------------------------------------------
// hard faults on every route
// ---------------------------------------------------------------------------

type RouteName = "chat" | "images" | "gemini" | "videos"
const routes: ReadonlyArray<RouteName> = ["chat", "images", "gemini", "videos"]

const callRoute = (sim: Simulator.SimulatorShape, route: RouteName, directive: string) => {
  switch (route) {
    case "chat":
      return chat(sim, `hi ${directive}`)
    case "images":
      return image(sim, `fox ${directive}`)
    case "gemini":
      return gemini(sim, `hi ${directive}`)
    case "videos":
      return video(sim, `waves ${directive}`, "vid-openai")
  }
}

describe("Simulator hard faults", () => {
  it.effect("every HTTP fault on every route", () =>
    withSim(config({ timeScale: 60 }), (sim) =>
      Effect.gen(function*() {
        for (const route of routes) {
          const google = route === "gemini"
          const overloaded = yield* callRoute(sim, route, "[sim:overloaded]")
          expect(overloaded.status).toBe(503)
          expect(overloaded.json).toEqual(
            google
              ? { error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } }
              : {
                error: {
                  message:
                    "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.",
                  code: "upstream_error",
                  status: 503
                }
              }
          )

          // retryAfterSeconds 20 simulated at timeScale 60 = 333 ms real
          const limited = yield* callRoute(sim, route, "[sim:rateLimited]")
          expect(limited.status).toBe(429)
          expect(limited.headers["retry-after"]).toBe("1")
          expect(limited.headers["retry-after-ms"]).toBe("333")
          if (google) {
            expect(limited.json.error.status).toBe("RESOURCE_EXHAUSTED")
            const details = limited.json.error.details
            expect(details.find((d: any) => d["@type"].endsWith("QuotaFailure")).violations[0].quotaId).toBe(
              "GenerateRequestsPerMinutePerProjectPerModel"
            )
            expect(details.find((d: any) => d["@type"].endsWith("RetryInfo")).retryDelay).toBe("0.333s")
          } else {
            expect(limited.json.error).toMatchObject({ type: "requests", param: null, code: "rate_limit_exceeded" })
            expect(limited.json.error.message).toContain("Please try again in 0.333s.")
          }

          const quota = yield* callRoute(sim, route, "[sim:quotaExhausted]")
          expect(quota.status).toBe(429)
          if (google) {
            expect(quota.json.error.details[0].violations[0].quotaId).toBe("GenerateRequestsPerDayPerProjectPerModel-FreeTier")
          } else {
            expect(quota.json.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" })
          }

          const server = yield* callRoute(sim, route, "[sim:serverError]")
          if (route === "videos") {
            // a server error of a video task surfaces when the task fails, not at submit
            expect(server.status).toBe(200)
          } else {
            expect(server.status).toBe(500)
            expect(google ? server.json.error.status : server.json.error.type).toBe(google ? "INTERNAL" : "server_error")
          }

          const badGateway = yield* callRoute(sim, route, "[sim:badGateway]")
          expect(badGateway.status).toBe(502)
          expect(badGateway.headers["content-type"]).toContain("text/html")
          expect(badGateway.text).toContain("<title>502 Bad Gateway</title>")

          const timeout = yield* callRoute(sim, route, "[sim:gatewayTimeout]")
          expect(timeout.status).toBe(504)
          expect(timeout.text).toBe("upstream request timeout")

          const malformed = yield* callRoute(sim, route, "[sim:malformedJson]")
          expect(malformed.status).toBe(200)
          expect(malformed.headers["content-type"]).toContain("application/json")
          expect(malformed.text.startsWith("{")).toBe(true)
          expect(malformed.json).toBeUndefined()
        }
      })))

  it.effect("connectionReset destroys the socket; hang never answers", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        for (const route of routes) {
          const reset = yield* Effect.either(callRoute(sim, route, "[sim:connectionReset]"))
          expect(Either.isLeft(reset) && reset.left._tag).toBe("RequestError")
        }
        const fibers = []
        for (const route of routes) fibers.push(yield* Effect.fork(callRoute(sim, route, "[sim:hang]")))
        // wait (on real I/O, not on the clock) until the server has seen all four
        let hangs = 0
        while (hangs < 4) {
          yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          const state = yield* sim.snapshot
          hangs = state.models.reduce((n, m) => n + m.outcomes.hang, 0)
        }
        for (const fiber of fibers) expect(fiber.unsafePoll()).toBeNull()
        for (const fiber of fibers) yield* Fiber.interrupt(fiber)
      })))

  it.live("the server shuts down while a hang request is pending", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const sim = yield* Simulator.make(config()).pipe(Scope.extend(scope))
      const pending = yield* Effect.fork(chat(sim, "wait [sim:hang]"))
      let seen = 0
      while (seen === 0) {
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        seen = (yield* sim.snapshot).models.find((m) => m.id === "chat-a")?.outcomes.hang ?? 0
      }
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "close hung" }))
      const result = yield* Fiber.await(pending)
      expect(Exit.isFailure(result)).toBe(true)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

// ---------------------------------------------------------------------------
// video dialects: submit-time errors in the vendor's own shape
// ---------------------------------------------------------------------------

const classify = (r: Reply, model: string) => classifyResponse({ status: r.status, headers: r.headers, body: r.text, model })

/** The body of a response built by the wire module (without a server). */
const bodyText = (response: HttpServerResponse.HttpServerResponse): string => {
  const body = response.body
  if (body._tag !== "Uint8Array") throw new Error(`unexpected body ${body._tag}`)
  return new TextDecoder().decode(body.body)
}

describe("Simulator video dialect errors", () => {
  // retryAfterSeconds 20 simulated at timeScale 60 = 333 ms real
  it.effect("kling: submit-time hard faults answer {code, message, request_id} with the HTTP status", () =>
    withSim(config({ timeScale: 60 }), (sim) =>
      Effect.gen(function*() {
        const overloaded = yield* video(sim, "waves [sim:overloaded]", "vid-kling")
        expect(overloaded.status).toBe(503)
        expect(overloaded.json).toEqual({
          code: 5001,
          message: "Server temporarily unavailable, please try again later",
          request_id: overloaded.headers["x-request-id"]
        })
        expect(classify(overloaded, "vid-kling")).toMatchObject({ reason: "Overloaded", status: 503, code: "5001" })

        const limited = yield* video(sim, "waves [sim:rateLimited]", "vid-kling")
        expect(limited.status).toBe(429)
        expect(limited.headers["retry-after"]).toBe("1")
        expect(limited.headers["retry-after-ms"]).toBe("333")
        expect(Object.keys(limited.json)).toEqual(["code", "message", "request_id"])
        expect(limited.json.code).toBe(1302)
        expect(limited.json.request_id).toBe(limited.headers["x-request-id"])
        const limitedFailure = classify(limited, "vid-kling")
        expect(limitedFailure).toMatchObject({ reason: "RateLimited", status: 429, code: "1302" })
        expect(limitedFailure.retryAfter && Duration.toMillis(limitedFailure.retryAfter)).toBe(333)

        const quota = yield* video(sim, "waves [sim:quotaExhausted]", "vid-kling")
        expect(quota.status).toBe(429)
        expect(quota.json).toMatchObject({ code: 1102, request_id: quota.headers["x-request-id"] })
        expect(quota.json.error).toBeUndefined()

        const noPrompt = yield* post(`${sim.url}/v1/videos`, { model: "vid-kling" })
        expect(noPrompt.status).toBe(400)
        expect(noPrompt.json).toEqual({
          code: 1201,
          message: "Invalid request parameters: prompt must not be empty",
          request_id: noPrompt.headers["x-request-id"]
        })
        expect(classify(noPrompt, "vid-kling")).toMatchObject({ reason: "BadRequest", status: 400, code: "1201" })

        // gateway faults come from the proxy in front, not from the vendor
        expect((yield* video(sim, "waves [sim:badGateway]", "vid-kling")).text).toContain("<title>502 Bad Gateway</title>")
        expect((yield* video(sim, "waves [sim:gatewayTimeout]", "vid-kling")).text).toBe("upstream request timeout")
        // a server error still surfaces when the task fails, not at submit
        const server = yield* video(sim, "waves [sim:serverError]", "vid-kling")
        expect(server.status).toBe(200)
        expect(server.json.code).toBe(0)
      })))

  it.effect("runway: submit-time hard faults answer {error} with the HTTP status", () =>
    withSim(config({ timeScale: 60 }), (sim) =>
      Effect.gen(function*() {
        const overloaded = yield* video(sim, "waves [sim:overloaded]", "vid-runway")
        expect(overloaded.status).toBe(503)
        expect(overloaded.json).toEqual({ error: "The service is currently overloaded. Please try again later." })
        expect(classify(overloaded, "vid-runway")).toMatchObject({ reason: "Overloaded", status: 503 })

        const limited = yield* video(sim, "waves [sim:rateLimited]", "vid-runway")
        expect(limited.status).toBe(429)
        expect(limited.headers["retry-after"]).toBe("1")
        expect(limited.headers["retry-after-ms"]).toBe("333")
        expect(limited.json).toEqual({ error: "You have exceeded the rate limit. Please slow down your requests." })
        const limitedFailure = classify(limited, "vid-runway")
        expect(limitedFailure).toMatchObject({ reason: "RateLimited", status: 429 })
        expect(limitedFailure.retryAfter && Duration.toMillis(limitedFailure.retryAfter)).toBe(333)

        const quota = yield* video(sim, "waves [sim:quotaExhausted]", "vid-runway")
        expect(quota.status).toBe(429)
        expect(quota.json).toEqual({ error: "You do not have enough credits to run this task." })

        const noPrompt = yield* post(`${sim.url}/v1/videos`, { model: "vid-runway" })
        expect(noPrompt.status).toBe(400)
        expect(noPrompt.json).toMatchObject({ error: "Validation of body failed", issues: [{ path: ["prompt"], message: "Required" }] })
        expect(classify(noPrompt, "vid-runway")).toMatchObject({ reason: "BadRequest", status: 400 })

        expect((yield* video(sim, "waves [sim:gatewayTimeout]", "vid-runway")).status).toBe(504)
        const server = yield* video(sim, "waves [sim:serverError]", "vid-runway")
        expect(server.status).toBe(200)
        expect(Object.keys(server.json)).toEqual(["id"])
      })))

  it.effect("unknown and non-video models keep the OpenAI shape (no dialect to speak)", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const unknown = yield* video(sim, "waves", "kling-v9")
        expect(unknown.status).toBe(404)
        expect(unknown.json.error).toMatchObject({ param: "model", code: "model_not_found" })
        const notVideo = yield* video(sim, "waves", "chat-a")
        expect(notVideo.status).toBe(400)
        expect(notVideo.json.error).toMatchObject({ param: "model", code: "invalid_value" })
      })))

  it.effect("the openai dialect keeps the OpenAI shapes", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const noPrompt = yield* post(`${sim.url}/v1/videos`, { model: "vid-openai" })
        expect(noPrompt.status).toBe(400)
        expect(noPrompt.json.error).toMatchObject({ param: "prompt", code: "missing_required_parameter" })
        const limited = yield* video(sim, "waves [sim:rateLimited]", "vid-openai")
        expect(limited.json.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" })
      })))

  it("vendor server errors (500) in each dialect's shape classify as ServerError", () => {
    const ctx = { model: "m", retryAfterMs: 1000, requestId: "req_1" }
    const kling = Wire.hardFaultResponse("kling", "serverError", ctx)
    const runway = Wire.hardFaultResponse("runway", "serverError", ctx)
    if (kling === undefined || runway === undefined) throw new Error("expected responses")
    expect(kling.status).toBe(500)
    expect(JSON.parse(bodyText(kling))).toEqual({ code: 5000, message: "Server internal error", request_id: "req_1" })
    expect(runway.status).toBe(500)
    expect(JSON.parse(bodyText(runway))).toEqual({ error: "An unexpected error occurred." })
    expect(classifyResponse({ status: 500, body: bodyText(kling) })).toMatchObject({ reason: "ServerError", code: "5000", requestId: "req_1" })
    expect(classifyResponse({ status: 500, body: bodyText(runway) })).toMatchObject({ reason: "ServerError" })
    // every vendor-level fault has a vendor shape; gateway faults and the rest do not
    for (const route of ["kling", "runway"] as const) {
      for (const fault of Simulator.FAULTS) {
        const response = Wire.hardFaultResponse(route, fault, ctx)
        const text = response === undefined ? "" : bodyText(response)
        if (fault === "overloaded" || fault === "rateLimited" || fault === "quotaExhausted" || fault === "serverError") {
          const parsed = JSON.parse(text)
          expect(route === "kling" ? typeof parsed.code : typeof parsed.error).toBe(route === "kling" ? "number" : "string")
        } else if (fault === "badGateway" || fault === "gatewayTimeout") {
          expect(text.startsWith("{")).toBe(false)
        } else {
          expect(response).toBeUndefined()
        }
      }
    }
  })
})

// ---------------------------------------------------------------------------
// videos
// ---------------------------------------------------------------------------

describe("Simulator videos", () => {
  it.effect("openai dialect: queued → in_progress → completed, content is MP4", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const submit = yield* video(sim, "waves", "vid-openai")
        expect(submit.status).toBe(200)
        expect(submit.json).toMatchObject({ object: "video", status: "queued", model: "vid-openai", progress: 0, size: "1280x720" })
        expect(submit.json.id).toMatch(/^video_[0-9a-f]+$/)
        const id = submit.json.id
        yield* TestClock.adjust("50 seconds")
        const running = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(running.json.status).toBe("in_progress")
        expect(running.json.progress).toBe(50)
        yield* TestClock.adjust("40 seconds")
        const done = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(done.json.status).toBe("completed")
        expect(done.json.progress).toBe(100)
        const content = yield* get(`${sim.url}/v1/videos/${id}/content`)
        expect(content.headers["content-type"]).toBe("video/mp4")
        expect(new TextDecoder().decode(content.bytes.slice(4, 8))).toBe("ftyp")

        const json = yield* post(`${sim.url}/v1/videos`, { model: "vid-openai", prompt: "x [sim:contentFilter]" })
        yield* TestClock.adjust("90 seconds")
        const failed = yield* get(`${sim.url}/v1/videos/${json.json.id}`)
        expect(failed.json.status).toBe("failed")
        expect(failed.json.error.code).toBe("moderation_blocked")

        const unknown = yield* get(`${sim.url}/v1/videos/video_nope`)
        expect(unknown.status).toBe(404)
        expect(unknown.json.error).toBeDefined()
      })))

  it.effect("kling dialect: submitted → processing → succeed with a video URL", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const submit = yield* video(sim, "waves", "vid-kling")
        expect(submit.json).toMatchObject({ code: 0, message: "SUCCEED", data: { task_status: "submitted" } })
        expect(typeof submit.json.request_id).toBe("string")
        expect(typeof submit.json.data.created_at).toBe("number")
        const id = submit.json.data.task_id
        yield* TestClock.adjust("30 seconds")
        expect((yield* get(`${sim.url}/v1/videos/${id}`)).json.data.task_status).toBe("processing")
        yield* TestClock.adjust("60 seconds")
        const done = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(done.json.data.task_status).toBe("succeed")
        const v = done.json.data.task_result.videos[0]
        expect(v.duration).toBe("5")
        const file = yield* get(v.url, {})
        expect(file.headers["content-type"]).toBe("video/mp4")

        const bad = yield* video(sim, "x [sim:contentFilter]", "vid-kling")
        yield* TestClock.adjust("90 seconds")
        const failed = yield* get(`${sim.url}/v1/videos/${bad.json.data.task_id}`)
        expect(failed.json.data.task_status).toBe("failed")
        expect(failed.json.data.task_status_msg).toBeTypeOf("string")

        const unknown = yield* get(`${sim.url}/v1/videos/123456`)
        expect(unknown.status).toBe(404)
        expect(unknown.json.code).not.toBe(0)
      })))

  it.effect("runway dialect: first poll is task_not_exist, then PENDING → RUNNING → SUCCEEDED", () =>
    withSim(config(), (sim) =>
      Effect.gen(function*() {
        const submit = yield* video(sim, "waves", "vid-runway")
        expect(Object.keys(submit.json)).toEqual(["id"])
        const id = submit.json.id
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        const first = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(first.status).toBe(404)
        expect(first.json).toEqual({ code: "task_not_exist", message: "Task does not exist" })
        const pending = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(pending.json).toMatchObject({ id, status: "PENDING" })
        expect(pending.json.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/)
        yield* TestClock.adjust("35 seconds")
        const running = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(running.json.status).toBe("RUNNING")
        expect(running.json.progress).toBe(0.25)
        yield* TestClock.adjust("60 seconds")
        const done = yield* get(`${sim.url}/v1/videos/${id}`)
        expect(done.json.status).toBe("SUCCEEDED")
        expect(done.json.output[0]).toMatch(/\/files\/vid_[0-9a-f]+\.mp4$/)

        const bad = yield* video(sim, "x [sim:contentFilter]", "vid-runway")
        yield* sim.setOverride("vid-runway", "overloaded")
        yield* get(`${sim.url}/v1/videos/${bad.json.id}`)
        const throttled = yield* get(`${sim.url}/v1/videos/${bad.json.id}`)
        expect(throttled.json.status).toBe("THROTTLED")
        yield* sim.setOverride("vid-runway", undefined)
        yield* TestClock.adjust("90 seconds")
        const failed = yield* get(`${sim.url}/v1/videos/${bad.json.id}`)
        expect(failed.json).toMatchObject({ status: "FAILED", failureCode: "SAFETY.INPUT.TEXT" })
      })))
})

// ---------------------------------------------------------------------------
// time, determinism, admin
// ---------------------------------------------------------------------------

describe("Simulator time and state", () => {
  it.effect("outage windows follow simulated time (timeScale)", () =>
    withSim(
      config({
        timeScale: 60,
        models: [{ id: "m", vendor: "google", kind: "text", outages: [{ startMinute: 10, durationMinutes: 5 }] }]
      }),
      (sim) =>
        Effect.gen(function*() {
          expect((yield* gemini(sim, "hi", {}, "m")).status).toBe(200)
          yield* TestClock.adjust("10 seconds") // = 10 simulated minutes
          const during = yield* gemini(sim, "hi [sim:ok]", {}, "m")
          expect(during.status).toBe(503)
          const state = yield* sim.snapshot
          expect(state.models[0]?.outage).toBe("overloaded")
          expect(state.simulatedNow).toBe("2026-01-15T01:10:00.000Z")
          yield* TestClock.adjust("5 seconds")
          expect((yield* gemini(sim, "hi", {}, "m")).status).toBe(200)
          expect((yield* sim.snapshot).models[0]?.outcomes).toMatchObject({ ok: 2, overloaded: 1 })
        })
    ))

  it.effect("daily profile raises overload at peak hours (JST)", () =>
    withSim(
      config({ timeScale: 3600, models: [{ id: "m", vendor: "google", kind: "text", dailyProfile: true }] }),
      (sim) =>
        Effect.gen(function*() {
          const count = Effect.gen(function*() {
            let n = 0
            for (let i = 0; i < 40; i++) if ((yield* chat(sim, "hi", {}, "m")).status === 503) n++
            return n
          })
          const peak = yield* count // 10:00 JST ≈ 40 %
          yield* TestClock.adjust("5 seconds") // 15:00 JST ≈ 7 %
          const quiet = yield* count
          expect(peak).toBeGreaterThan(quiet)
          expect(peak).toBeGreaterThanOrEqual(8)
        })
    ))

  it.effect("file URLs expire after urlTtlSeconds (403 S3 XML)", () =>
    withSim(config({ timeScale: 60 }), (sim) =>
      Effect.gen(function*() {
        const r = yield* image(sim, "fox")
        const url = r.json.data[0].url
        yield* TestClock.adjust("59 seconds") // 59 simulated minutes
        expect((yield* get(url, {})).status).toBe(200)
        yield* TestClock.adjust("1 second")
        const expired = yield* get(url, {})
        expect(expired.status).toBe(403)
        expect(expired.text).toBe(
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        )
        expect((yield* get(`${sim.url}/files/none.png`, {})).status).toBe(404)
      })))

  const faulty = (seed: number) =>
    config({
      seed,
      models: [{
        id: "m",
        vendor: "openai",
        kind: "text",
        faults: { overloaded: 0.15, rateLimited: 0.15, serverError: 0.15, truncated: 0.15 }
      }]
    })
  const sequence = (seed: number) =>
    withSim(faulty(seed), (sim) =>
      Effect.gen(function*() {
        const out: Array<string> = []
        for (let i = 0; i < 30; i++) {
          const r = yield* chat(sim, `q${i}`, {}, "m")
          out.push(`${r.status}:${r.json?.choices?.[0]?.finish_reason ?? ""}:${r.headers["x-request-id"]}`)
        }
        return out
      }))

  it.effect("deterministic under a seed", () =>
    Effect.gen(function*() {
      const a = yield* sequence(7)
      const b = yield* sequence(7)
      const c = yield* sequence(8)
      expect(a).toEqual(b)
      expect(new Set(a.map((s) => s.split(":")[0])).size).toBeGreaterThan(2)
      expect(c.map((s) => s.split(":").slice(0, 2).join(":"))).not.toEqual(a.map((s) => s.split(":").slice(0, 2).join(":")))
    }))

  it.effect("admin routes: health, state, override", () =>
    withSim(config({ apiKeys: [KEY] }), (sim) =>
      Effect.gen(function*() {
        expect((yield* get(`${sim.url}/_simulator/health`, {})).json).toEqual({ ok: true })
        const put = yield* send(
          HttpClientRequest.put(`${sim.url}/_simulator/models/chat-a/override`).pipe(
            HttpClientRequest.bodyUnsafeJson({ fault: "serverError" })
          )
        )
        expect(put.status).toBe(200)
        expect(put.json.override).toBe("serverError")
        expect((yield* chat(sim, "hi [sim:ok]")).status).toBe(500)

        const state = yield* get(`${sim.url}/_simulator/state`, {})
        expect(state.text).not.toContain(KEY)
        expect(state.json.config).toMatchObject({ seed: 42, timeScale: 1, authRequired: true })
        const model = state.json.models.find((m: any) => m.id === "chat-a")
        expect(model).toMatchObject({ requests: 1, override: "serverError", outage: null })
        expect(model.outcomes.serverError).toBe(1)

        yield* send(
          HttpClientRequest.put(`${sim.url}/_simulator/models/chat-a/override`).pipe(
            HttpClientRequest.bodyUnsafeJson({ fault: null })
          )
        )
        expect((yield* chat(sim, "hi")).status).toBe(200)
        const bad = yield* send(
          HttpClientRequest.put(`${sim.url}/_simulator/models/chat-a/override`).pipe(
            HttpClientRequest.bodyUnsafeJson({ fault: "explode" })
          )
        )
        expect(bad.status).toBe(400)

        yield* sim.setOverride("gem-text", "quotaExhausted")
        expect((yield* gemini(sim, "hi")).status).toBe(429)
        expect((yield* sim.snapshot).models.find((m) => m.id === "gem-text")?.override).toBe("quotaExhausted")
      })))

  it.effect("a request whose Host is a foreign name is refused (403) on every route, before auth or state; loopback names and allowedHosts are answered", () =>
    withSim(config({ apiKeys: [KEY], allowedHosts: ["sim.internal"] }), (sim) =>
      Effect.gen(function*() {
        const chatBody = JSON.stringify({ model: "chat-a", messages: [{ role: "user", content: "hi [sim:ok]" }] })
        const routes = [
          { path: "/_simulator/state" },
          { path: "/_simulator/health" },
          { path: "/v1/chat/completions", method: "POST", body: chatBody },
          { path: "/v1beta/models/gem-text:generateContent", method: "POST", body: JSON.stringify({ contents: [{ parts: [{ text: "hi" }] }] }) }
        ]
        for (const route of routes) {
          const refused = yield* rawRequest(sim.port, route.path, {
            ...route,
            headers: { host: `evil.example:${sim.port}`, ...AUTH, "x-goog-api-key": KEY, "content-type": "application/json" }
          })
          expect([route.path, refused.status]).toEqual([route.path, 403])
          expect(refused.body).not.toContain("chat-a")
        }
        // nothing reached outcome selection
        expect((yield* sim.snapshot).models.find((m) => m.id === "chat-a")?.requests).toBe(0)
        for (const host of [`127.0.0.1:${sim.port}`, `localhost:${sim.port}`, `[::1]:${sim.port}`, "sim.internal:8080"]) {
          const answered = yield* rawRequest(sim.port, "/v1/chat/completions", {
            method: "POST",
            body: chatBody,
            headers: { host, ...AUTH, "content-type": "application/json" }
          })
          expect([host, answered.status]).toEqual([host, 200])
        }
        expect((yield* rawRequest(sim.port, "/_simulator/health", { headers: { host: "sim.internal.evil.example" } })).status).toBe(403)
      })))

  it.effect("allowedHosts must be host names: a blank one names the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Simulator.decodeConfig({ allowedHosts: [" "] }))
      expect(formatParseError(error)).toContain("allowedHosts[0]")
    }))
})
