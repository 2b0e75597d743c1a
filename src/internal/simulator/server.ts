/**
 * The simulator's HTTP server: state, outcome selection and routes.
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Headers from "@effect/platform/Headers"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Context, Duration, Effect } from "effect"
import * as Http from "node:http"
import type {
  Fault,
  ModelProfile,
  ModelState,
  Outage,
  Outcome,
  SimulatorConfig,
  SimulatorShape,
  SimulatorState,
  VideoDialect
} from "../../Simulator.js"
import { base64, mp4, png } from "./assets.js"
import {
  type Directives,
  jsonAnswer,
  parseDirectives,
  textAnswer,
  tokens,
  toolArguments,
  truncate
} from "./content.js"
import { FAULTS } from "./faults.js"
import { hash32, hexId, lognormal, Rng } from "./prng.js"
import { forbiddenHostBody, hostCheck } from "../hostCheck.js"
import { SECRET_HEADERS } from "../http.js"
import * as Wire from "./wire.js"

type Response = HttpServerResponse.HttpServerResponse
type Json = Record<string, unknown>

const FAULT_ORDER = FAULTS
const FAULT_SET: ReadonlySet<string> = new Set(FAULT_ORDER)

const emptyOutcomes = (): Record<Outcome, number> => {
  const out = { ok: 0 } as Record<Outcome, number>
  for (const f of FAULT_ORDER) out[f] = 0
  return out
}

// ---------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------

interface ModelRuntime {
  readonly profile: ModelProfile
  readonly rng: Rng
  requests: number
  rejected: number
  readonly outcomes: Record<Outcome, number>
  geminiFilters: number
}

interface StoredFile {
  readonly bytes: Uint8Array
  readonly contentType: string
  readonly createdSimMs: number
  readonly ttlMs: number
}

interface VideoTask {
  readonly id: string
  readonly dialect: VideoDialect
  readonly model: ModelRuntime
  readonly prompt: string
  readonly size: string
  readonly seconds: string
  readonly createdSimMs: number
  readonly failure: "contentFilter" | "serverError" | undefined
  readonly fileName: string
  polls: number
}

interface Decision {
  readonly outcome: Outcome
  readonly directives: Directives
  /** Real milliseconds to wait before a 200 answer. */
  readonly latencyMs: number
  readonly simNow: number
}

class RequestId extends Context.Tag("effect-ai-resilience/Simulator/RequestId")<RequestId, string>() {}

/** Extra `overloaded` probability by simulated hour in JST (the busy hours developers report). */
const dailyOverload = (simNowMs: number): number => {
  const hour = Math.floor(((simNowMs / 3_600_000) + 9) % 24 + 24) % 24
  if (hour >= 1 && hour < 3) return 0.35
  if (hour >= 10 && hour < 12) return 0.4
  if (hour >= 21) return 0.45
  return 0.07
}

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

/** Text of an OpenAI message `content` (a string or an array of parts). */
const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content.map((p) => (isRecord(p) && typeof p["text"] === "string" ? p["text"] : "")).join("\n")
  }
  return ""
}

/** Text of Gemini `parts`. */
const partsText = (parts: unknown): string =>
  Array.isArray(parts) ? parts.map((p) => (isRecord(p) && typeof p["text"] === "string" ? p["text"] : "")).join("\n") : ""

const iso = (ms: number): string => new Date(ms).toISOString()
const unix = (ms: number): number => Math.floor(ms / 1000)

// ---------------------------------------------------------------------------
// the simulator
// ---------------------------------------------------------------------------

/** @internal */
export const make = (config: SimulatorConfig) =>
  Effect.gen(function*() {
    const startAtMs = Date.parse(config.startAt)
    const realStartMs = yield* Clock.currentTimeMillis
    const models = new Map<string, ModelRuntime>()
    for (const profile of config.models) {
      models.set(profile.id, {
        profile,
        rng: new Rng(hash32(config.seed, profile.id)),
        requests: 0,
        rejected: 0,
        outcomes: emptyOutcomes(),
        geminiFilters: 0
      })
    }
    const overrides = new Map<string, Fault>()
    const files = new Map<string, StoredFile>()
    const tasks = new Map<string, VideoTask>()
    let requestCounter = 0
    let taskCounter = 0
    let fileCounter = 0
    let baseUrl = ""

    const simNow: Effect.Effect<number> = Effect.map(
      Clock.currentTimeMillis,
      (now) => startAtMs + (now - realStartMs) * config.timeScale
    )

    const activeOutage = (profile: ModelProfile, now: number): Outage | undefined => {
      const minute = (now - startAtMs) / 60_000
      return profile.outages.find((o) => minute >= o.startMinute && minute < o.startMinute + o.durationMinutes)
    }

    const retryAfterMs = (m: ModelRuntime): number => (m.profile.retryAfterSeconds * 1000) / config.timeScale

    const storeFile = (prefix: string, ext: string, bytes: Uint8Array, contentType: string, createdSimMs: number, m: ModelRuntime) => {
      const name = `${prefix}_${hexId(24, config.seed, "file", ++fileCounter)}.${ext}`
      files.set(name, { bytes, contentType, createdSimMs, ttlMs: m.profile.urlTtlSeconds * 1000 })
      return name
    }

    /** Pick the outcome of a request (override → outage → directive → draw → ok). */
    const decide = (m: ModelRuntime, promptText: string): Effect.Effect<Decision> =>
      Effect.map(simNow, (now) => {
        const r = new Rng(m.rng.nextU32())
        const uOutage = r.next()
        const uFault = r.next()
        const u1 = r.next()
        const u2 = r.next()
        const directives = parseDirectives(promptText)
        const profile = m.profile
        const override = overrides.get(profile.id)
        const outage = activeOutage(profile, now)
        let outcome: Outcome | undefined
        if (override !== undefined) outcome = override
        else if (outage !== undefined && uOutage < outage.probability) outcome = outage.fault
        else if (directives.outcome !== undefined) outcome = directives.outcome
        else {
          let acc = 0
          for (const f of FAULT_ORDER) {
            let p = profile.faults[f]
            if (f === "overloaded" && profile.dailyProfile) p = 1 - (1 - p) * (1 - dailyOverload(now))
            acc += p
            if (uFault < acc) {
              outcome = f
              break
            }
          }
        }
        outcome ??= "ok"
        const degraded = override !== undefined || outage !== undefined
        const latencySim = lognormal(profile.latency.medianMs, profile.latency.p95Ms, u1, u2) *
          (degraded ? profile.outageLatencyFactor : 1)
        m.requests++
        m.outcomes[outcome]++
        return { outcome, directives, latencyMs: Math.round(latencySim / config.timeScale), simNow: now }
      })

    const sleepLatency = (d: Decision): Effect.Effect<void> =>
      d.latencyMs > 0 ? Effect.sleep(Duration.millis(d.latencyMs)) : Effect.void

    /**
     * The answer to the transport-level and HTTP-error outcomes, or undefined
     * when the route must build a 200 answer.
     */
    const hardOutcome = (
      route: Wire.Route,
      outcome: Outcome,
      m: ModelRuntime,
      request: HttpServerRequest.HttpServerRequest,
      requestId: string
    ): Effect.Effect<Response> | undefined => {
      if (outcome === "ok") return undefined
      if (outcome === "hang") return Effect.never
      if (outcome === "connectionReset") {
        return Effect.suspend(() => {
          NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
          return Effect.never
        })
      }
      const response = Wire.hardFaultResponse(route, outcome, {
        model: m.profile.id,
        retryAfterMs: retryAfterMs(m),
        requestId
      })
      return response === undefined ? undefined : Effect.succeed(response)
    }

    /** 200 with a body cut off mid-JSON. */
    const malformed = (body: unknown): Response => {
      const text = JSON.stringify(body)
      return HttpServerResponse.text(text.slice(0, Math.max(1, Math.floor(text.length / 2))), {
        status: 200,
        contentType: "application/json"
      })
    }

    /**
     * A 200 answer with `body`, or the body-level fault the decision asks for
     * (`malformedJson`, `oversizedBody`, `slowDrip`, `midResponseDisconnect`).
     */
    const answer = (d: Decision, m: ModelRuntime, request: HttpServerRequest.HttpServerRequest, body: unknown): Response => {
      switch (d.outcome) {
        case "malformedJson":
          return malformed(body)
        case "oversizedBody":
          // odd occurrences (per model) chunked, even ones with a Content-Length: both of a client's bounding paths
          return Wire.oversizedJson(body, m.outcomes.oversizedBody % 2 === 0)
        case "slowDrip":
          return Wire.slowDripJson(body)
        case "midResponseDisconnect": {
          const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
          // flush what was written, then close: the client sees the body end early
          return Wire.midResponseDisconnectJson(body, () => socket.end(() => socket.destroy()))
        }
        default:
          return Wire.json(200, body)
      }
    }

    /** Whether the decision is a body-level fault (the answer is not delivered whole). */
    const isBodyFault = (outcome: Outcome): boolean =>
      outcome === "malformedJson" || outcome === "oversizedBody" || outcome === "slowDrip" ||
      outcome === "midResponseDisconnect"

    const readJson = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Json | undefined> =>
      request.text.pipe(
        Effect.map((text) => {
          try {
            const parsed: unknown = JSON.parse(text)
            return isRecord(parsed) ? parsed : undefined
          } catch {
            return undefined
          }
        }),
        Effect.orElseSucceed(() => undefined)
      )

    const keyAccepted = (key: string): boolean => config.apiKeys === undefined || config.apiKeys.includes(key)

    const openaiAuth = (request: HttpServerRequest.HttpServerRequest): Response | undefined => {
      const header = request.headers["authorization"]
      const match = header === undefined ? null : /^Bearer\s+(.*)$/i.exec(header.trim())
      const key = match?.[1]?.trim() ?? ""
      if (key.length === 0) return Wire.openaiMissingKey()
      return keyAccepted(key) ? undefined : Wire.openaiInvalidKey(key)
    }

    const geminiAuth = (request: HttpServerRequest.HttpServerRequest, url: URL): Response | undefined => {
      const key = (request.headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? "").trim()
      if (key.length === 0) return Wire.geminiMissingKey()
      return keyAccepted(key) ? undefined : Wire.geminiInvalidKey()
    }

    const reject = (m: ModelRuntime, response: Response): Response => {
      m.rejected++
      return response
    }

    /**
     * The model an OpenAI-route request names, or the error the real API
     * gives: missing `model` (400), unknown model (404), wrong kind (400).
     */
    const openaiModel = (
      fields: Json,
      kind: ModelProfile["kind"],
      wrongKind: (id: string) => Response
    ): ModelRuntime | Response => {
      const modelId = str(fields["model"])
      if (modelId === undefined || modelId.length === 0) return Wire.openaiMissingParam("model")
      const m = models.get(modelId)
      if (m === undefined) return Wire.openaiModelNotFound(modelId)
      return m.profile.kind === kind ? m : reject(m, wrongKind(modelId))
    }

    // -------------------------------------------------------------------------
    // POST /v1/chat/completions
    // -------------------------------------------------------------------------

    const chatCompletions = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = yield* RequestId
      const denied = openaiAuth(request)
      if (denied !== undefined) return denied
      const body = yield* readJson(request)
      if (body === undefined) return Wire.openaiInvalidJson()
      const m = openaiModel(body, "text", (id) =>
        Wire.openaiError(
          400,
          `The model \`${id}\` is not a chat model and is not supported in the v1/chat/completions endpoint.`,
          { param: "model", code: "model_not_supported" }
        ))
      if (HttpServerResponse.isServerResponse(m)) return m
      const modelId = m.profile.id
      const messages = body["messages"]
      if (!Array.isArray(messages) || messages.length === 0) {
        return reject(m, Wire.openaiMissingParam("messages"))
      }
      const promptTokens = tokens(messages.map((msg) => (isRecord(msg) ? contentText(msg["content"]) : "")).join("\n"))
      if (promptTokens > m.profile.contextWindow) {
        return reject(m, Wire.openaiContextLength(m.profile.contextWindow, promptTokens))
      }
      const lastUser = [...messages].reverse().find((msg) => isRecord(msg) && msg["role"] === "user")
      const prompt = isRecord(lastUser) ? contentText(lastUser["content"]) : ""
      const d = yield* decide(m, prompt)
      const hard = hardOutcome("openai", d.outcome, m, request, requestId)
      if (hard !== undefined) return yield* hard
      yield* sleepLatency(d)

      const maxTokens = typeof body["max_completion_tokens"] === "number"
        ? body["max_completion_tokens"]
        : typeof body["max_tokens"] === "number"
        ? body["max_tokens"]
        : undefined
      const responseFormat = body["response_format"]
      const jsonMode = isRecord(responseFormat) &&
        (responseFormat["type"] === "json_object" || responseFormat["type"] === "json_schema")
      const tools = Array.isArray(body["tools"]) ? body["tools"] : []
      const firstTool = tools.find((t) => isRecord(t) && isRecord(t["function"]))
      const fullText = d.directives.reply ?? (jsonMode ? jsonAnswer(modelId, prompt) : textAnswer(modelId, prompt))

      let message: Json = { role: "assistant", content: fullText, refusal: null }
      let finishReason = "stop"
      let completionTokens = Math.max(1, tokens(fullText))
      if (d.outcome === "contentFilter") {
        message = { role: "assistant", content: null, refusal: null }
        finishReason = "content_filter"
        completionTokens = 0
      } else if (d.outcome === "truncated") {
        completionTokens = maxTokens ?? 16
        message = { role: "assistant", content: truncate(fullText, completionTokens * 4), refusal: null }
        finishReason = "length"
      } else if (d.outcome === "emptyOutput") {
        message = { role: "assistant", content: null, refusal: null }
        completionTokens = 0
      } else if (d.directives.tool && isRecord(firstTool)) {
        const fn = firstTool["function"] as Json
        const name = str(fn["name"]) ?? "tool"
        const args = JSON.stringify(toolArguments(fn["parameters"], `${requestId}:${name}`))
        message = {
          role: "assistant",
          content: null,
          tool_calls: [{ id: `call_${hexId(24, requestId, "call")}`, type: "function", function: { name, arguments: args } }],
          refusal: null
        }
        finishReason = "tool_calls"
        completionTokens = Math.max(1, tokens(args))
      }
      const response = {
        id: `chatcmpl-${hexId(29, requestId, "chat")}`,
        object: "chat.completion",
        created: unix(d.simNow),
        model: modelId,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        service_tier: "default",
        system_fingerprint: `fp_${hexId(10, modelId)}`
      }
      return answer(d, m, request, response)
    })

    // -------------------------------------------------------------------------
    // POST /v1/images/generations
    // -------------------------------------------------------------------------

    const imageGenerations = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = yield* RequestId
      const denied = openaiAuth(request)
      if (denied !== undefined) return denied
      const body = yield* readJson(request)
      if (body === undefined) return Wire.openaiInvalidJson()
      const m = openaiModel(body, "image", (id) =>
        Wire.openaiError(400, `Invalid value for 'model': \`${id}\` is not an image generation model.`, {
          param: "model",
          code: "invalid_value"
        }))
      if (HttpServerResponse.isServerResponse(m)) return m
      const modelId = m.profile.id
      const caps = m.profile.capabilities
      const prompt = str(body["prompt"])
      if (prompt === undefined || prompt.length === 0) return reject(m, Wire.openaiMissingParam("prompt"))
      const responseFormat = body["response_format"]
      if (responseFormat !== undefined && responseFormat !== null) {
        if (!caps.responseFormat) {
          return reject(
            m,
            Wire.openaiError(400, "Unknown parameter: 'response_format'.", { param: "response_format", code: "unknown_parameter" })
          )
        }
        if (responseFormat !== "url" && responseFormat !== "b64_json") {
          return reject(
            m,
            Wire.openaiError(
              400,
              `Invalid value: '${String(responseFormat)}'. Supported values are: 'url' and 'b64_json'.`,
              { param: "response_format", code: "invalid_value" }
            )
          )
        }
      }
      const outputFormat = body["output_format"]
      if (outputFormat !== undefined && outputFormat !== "png" && outputFormat !== "jpeg" && outputFormat !== "webp") {
        return reject(
          m,
          Wire.openaiError(
            400,
            `Invalid value: '${String(outputFormat)}'. Supported values are: 'png', 'jpeg', and 'webp'.`,
            { param: "output_format", code: "invalid_value" }
          )
        )
      }
      const nRaw = body["n"]
      const n = nRaw === undefined || nRaw === null ? 1 : nRaw
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
        return reject(
          m,
          Wire.openaiError(400, `Invalid 'n': expected an integer >= 1, but got ${JSON.stringify(n)} instead.`, {
            param: "n",
            code: "invalid_value"
          })
        )
      }
      if (n > caps.maxImages) {
        return reject(
          m,
          Wire.openaiError(
            400,
            `Invalid 'n': integer above maximum value. Expected a value <= ${caps.maxImages}, but got ${n} instead.`,
            { param: "n", code: "integer_above_max_value" }
          )
        )
      }
      const promptTokens = tokens(prompt)
      if (promptTokens > m.profile.contextWindow) {
        return reject(m, Wire.openaiContextLength(m.profile.contextWindow, promptTokens, "prompt"))
      }
      const d = yield* decide(m, prompt)
      const hard = hardOutcome("openai", d.outcome, m, request, requestId)
      if (hard !== undefined) return yield* hard
      if (d.outcome === "contentFilter") return Wire.imageModerationBlocked(requestId)
      yield* sleepLatency(d)

      const created = unix(d.simNow)
      if (d.outcome === "emptyOutput") return Wire.json(200, { created, data: [] })
      const output = caps.responseFormat
        ? (responseFormat === "url" || responseFormat === "b64_json" ? responseFormat : caps.defaultImageOutput)
        : "b64_json"
      const data: Array<Json> = []
      for (let i = 0; i < n; i++) {
        const bytes = png(`${modelId}:${prompt}:${i}`)
        const item: Json = output === "url"
          ? { url: `${baseUrl}/files/${storeFile("img", "png", bytes, "image/png", d.simNow, m)}` }
          : { b64_json: base64(bytes) }
        if (caps.revisesPrompt) item["revised_prompt"] = `${prompt.replace(/\[sim:[^\]]*\]/g, "").trim()}, highly detailed`
        data.push(item)
      }
      const response: Json = { created, data }
      if (m.profile.vendor === "openai") {
        response["background"] = "opaque"
        response["output_format"] = outputFormat ?? "png"
        response["quality"] = str(body["quality"]) ?? "medium"
        response["size"] = str(body["size"]) ?? "1024x1024"
        response["usage"] = {
          input_tokens: promptTokens,
          input_tokens_details: { image_tokens: 0, text_tokens: promptTokens },
          output_tokens: 1056 * n,
          total_tokens: promptTokens + 1056 * n
        }
      }
      return answer(d, m, request, response)
    })

    // -------------------------------------------------------------------------
    // POST /v1beta/models/{model}:generateContent
    // -------------------------------------------------------------------------

    const generateContent = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = yield* RequestId
      const url = new URL(request.url, "http://simulator.local")
      const match = /^\/v1beta\/models\/([^/]+):([A-Za-z]+)$/.exec(url.pathname)
      if (match === null) return Wire.geminiError(404, "NOT_FOUND", "Method not found.")
      const denied = geminiAuth(request, url)
      if (denied !== undefined) return denied
      const modelId = decodeURIComponent(match[1] ?? "")
      const method = match[2] ?? ""
      const m = models.get(modelId)
      if (m === undefined || method !== "generateContent") return Wire.geminiModelNotFound(modelId)
      const body = yield* readJson(request)
      if (body === undefined) return reject(m, Wire.geminiInvalidJson())
      if (m.profile.kind === "video") {
        return reject(m, Wire.geminiError(400, "INVALID_ARGUMENT", `Model models/${modelId} does not support generateContent.`))
      }
      const contents = body["contents"]
      if (!Array.isArray(contents) || contents.length === 0) {
        return reject(
          m,
          Wire.geminiError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n", [{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            fieldViolations: [{ field: "contents", description: "contents is not specified" }]
          }])
        )
      }
      const generationConfig = isRecord(body["generationConfig"]) ? body["generationConfig"] : {}
      const modalities = Array.isArray(generationConfig["responseModalities"])
        ? generationConfig["responseModalities"].map((x) => String(x).toUpperCase())
        : []
      const isImage = m.profile.kind === "image"
      if (!isImage && modalities.includes("IMAGE")) {
        return reject(
          m,
          Wire.geminiError(400, "INVALID_ARGUMENT", "Model does not support the requested response modalities: image")
        )
      }
      const system = isRecord(body["systemInstruction"]) ? partsText(body["systemInstruction"]["parts"]) : ""
      const allText = [system, ...contents.map((c) => (isRecord(c) ? partsText(c["parts"]) : ""))]
        .filter((t) => t.length > 0)
        .join("\n")
      const promptTokens = tokens(allText)
      if (promptTokens > m.profile.contextWindow) {
        return reject(m, Wire.geminiContextLength(m.profile.contextWindow, promptTokens))
      }
      const lastUser = [...contents].reverse().find((c) => isRecord(c) && (c["role"] === undefined || c["role"] === "user"))
      const prompt = isRecord(lastUser) ? partsText(lastUser["parts"]) : ""
      const d = yield* decide(m, prompt)
      const hard = hardOutcome("gemini", d.outcome, m, request, requestId)
      if (hard !== undefined) return yield* hard
      yield* sleepLatency(d)

      const maxTokens = typeof generationConfig["maxOutputTokens"] === "number"
        ? generationConfig["maxOutputTokens"]
        : undefined
      const jsonMode = generationConfig["responseMimeType"] === "application/json"
      const fullText = d.directives.reply ?? (jsonMode ? jsonAnswer(modelId, prompt) : textAnswer(modelId, prompt))
      const tools = Array.isArray(body["tools"]) ? body["tools"] : []
      const declaration = tools.flatMap((t) =>
        isRecord(t) && Array.isArray(t["functionDeclarations"]) ? t["functionDeclarations"] : []
      ).find(isRecord)

      const usage = (candidates: number): Json => ({
        promptTokenCount: promptTokens,
        candidatesTokenCount: candidates,
        totalTokenCount: promptTokens + candidates
      })
      const envelope = (candidate: Json | undefined, candidatesTokens: number, extra: Json = {}): Json => ({
        ...(candidate === undefined ? {} : { candidates: [{ ...candidate, index: 0 }] }),
        ...extra,
        usageMetadata: usage(candidatesTokens),
        modelVersion: modelId,
        responseId: hexId(22, requestId, "gemini").replace(/[0-9]/g, (c) => "ABCDEFGHIJ"[Number(c)] ?? c)
      })
      const SAFETY_RATINGS = [
        { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true },
        { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" }
      ]

      let response: Json
      if (d.outcome === "contentFilter") {
        if (isImage) {
          response = envelope({ content: { role: "model" }, finishReason: "IMAGE_SAFETY" }, 0)
        } else if (m.geminiFilters++ % 2 === 0) {
          response = envelope(undefined, 0, { promptFeedback: { blockReason: "SAFETY", safetyRatings: SAFETY_RATINGS } })
        } else {
          response = envelope({ finishReason: "SAFETY", safetyRatings: SAFETY_RATINGS }, 0)
        }
      } else if (d.outcome === "truncated") {
        const limit = maxTokens ?? 16
        response = envelope(
          { content: { parts: [{ text: truncate(fullText, limit * 4) }], role: "model" }, finishReason: "MAX_TOKENS" },
          limit
        )
      } else if (d.outcome === "emptyOutput") {
        response = isImage
          ? envelope({
            content: { parts: [{ text: "I'm unable to create that image right now. Please try a different prompt." }], role: "model" },
            finishReason: "NO_IMAGE"
          }, 16)
          : envelope({ content: { role: "model" }, finishReason: "STOP" }, 0)
      } else if (d.directives.tool && declaration !== undefined) {
        const name = str(declaration["name"]) ?? "tool"
        const args = toolArguments(declaration["parameters"], `${requestId}:${name}`)
        response = envelope(
          { content: { parts: [{ functionCall: { name, args } }], role: "model" }, finishReason: "STOP" },
          Math.max(1, tokens(JSON.stringify(args)))
        )
      } else if (isImage) {
        const parts: Array<Json> = []
        const caption = d.directives.reply ?? "Here is the image you asked for."
        if (modalities.length === 0 || modalities.includes("TEXT")) parts.push({ text: caption })
        parts.push({ inlineData: { mimeType: "image/png", data: base64(png(`${modelId}:${prompt}:0`)) } })
        response = envelope({ content: { parts, role: "model" }, finishReason: "STOP" }, 1290 + tokens(caption))
      } else {
        response = envelope(
          { content: { parts: [{ text: fullText }], role: "model" }, finishReason: "STOP" },
          Math.max(1, tokens(fullText))
        )
      }
      return answer(d, m, request, response)
    })

    // -------------------------------------------------------------------------
    // videos
    // -------------------------------------------------------------------------

    const readVideoFields = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Json | undefined> => {
      const contentType = request.headers["content-type"] ?? ""
      if (/multipart\/form-data|application\/x-www-form-urlencoded/i.test(contentType)) {
        return request.arrayBuffer.pipe(
          Effect.flatMap((buffer) =>
            Effect.tryPromise(() => new Response(buffer, { headers: { "content-type": contentType } }).formData())
          ),
          Effect.map((form) => {
            const out: Json = {}
            form.forEach((value, key) => {
              if (typeof value === "string") out[key] = value
            })
            return out
          }),
          Effect.orElseSucceed(() => undefined)
        )
      }
      return readJson(request)
    }

    const taskPhase = (task: VideoTask, now: number) => {
      const timing = task.model.profile.video
      const elapsed = (now - task.createdSimMs) / 1000
      const doneAt = task.createdSimMs + (timing.queueSeconds + timing.renderSeconds) * 1000
      if (elapsed < timing.queueSeconds) return { phase: "queued" as const, progress: 0, doneAt }
      if (elapsed < timing.queueSeconds + timing.renderSeconds) {
        return { phase: "running" as const, progress: (elapsed - timing.queueSeconds) / timing.renderSeconds, doneAt }
      }
      return { phase: task.failure === undefined ? "succeeded" as const : "failed" as const, progress: 1, doneAt }
    }

    const ensureVideoFile = (task: VideoTask, doneAt: number): string => {
      if (!files.has(task.fileName)) {
        files.set(task.fileName, {
          bytes: mp4(task.id),
          contentType: "video/mp4",
          createdSimMs: doneAt,
          ttlMs: task.model.profile.urlTtlSeconds * 1000
        })
      }
      return `${baseUrl}/files/${task.fileName}`
    }

    const openaiVideo = (task: VideoTask, now: number): Json => {
      const { doneAt, phase, progress } = taskPhase(task, now)
      const status = phase === "queued" ? "queued" : phase === "running" ? "in_progress" : phase === "succeeded" ? "completed" : "failed"
      return {
        id: task.id,
        object: "video",
        created_at: unix(task.createdSimMs),
        status,
        model: task.model.profile.id,
        progress: Math.floor(progress * 100),
        seconds: task.seconds,
        size: task.size,
        quality: "standard",
        ...(phase === "succeeded"
          ? { completed_at: unix(doneAt), expires_at: unix(doneAt + task.model.profile.urlTtlSeconds * 1000) }
          : {}),
        ...(phase === "failed"
          ? {
            completed_at: unix(doneAt),
            error: task.failure === "contentFilter"
              ? { code: "moderation_blocked", message: "Your request was blocked by our moderation system." }
              : { code: "internal_error", message: "The video could not be generated because of an internal error." }
          }
          : {})
      }
    }

    const klingTask = (task: VideoTask, now: number, requestId: string): Json => {
      const { doneAt, phase } = taskPhase(task, now)
      const status = phase === "queued" ? "submitted" : phase === "running" ? "processing" : phase === "succeeded" ? "succeed" : "failed"
      const data: Json = {
        task_id: task.id,
        task_status: status,
        created_at: Math.floor(task.createdSimMs),
        updated_at: Math.floor(phase === "succeeded" || phase === "failed" ? doneAt : now)
      }
      if (phase === "failed") {
        data["task_status_msg"] = task.failure === "contentFilter"
          ? "Failure to pass the risk control system"
          : "Internal error, please try again later"
      }
      if (phase === "succeeded") {
        data["task_result"] = {
          videos: [{ id: hexId(32, task.id, "kling-video"), url: ensureVideoFile(task, doneAt), duration: task.seconds }]
        }
      }
      return { code: 0, message: "SUCCEED", request_id: requestId, data }
    }

    const runwayTask = (task: VideoTask, now: number): Json => {
      const { doneAt, phase, progress } = taskPhase(task, now)
      const profile = task.model.profile
      const busy = overrides.has(profile.id) || activeOutage(profile, now) !== undefined
      const base: Json = { id: task.id, createdAt: iso(task.createdSimMs) }
      switch (phase) {
        case "queued":
          return { ...base, status: busy ? "THROTTLED" : "PENDING" }
        case "running":
          return { ...base, status: "RUNNING", progress: Math.round(progress * 100) / 100 }
        case "succeeded":
          return { ...base, status: "SUCCEEDED", output: [ensureVideoFile(task, doneAt)] }
        case "failed":
          return task.failure === "contentFilter"
            ? {
              ...base,
              status: "FAILED",
              failure: "Your prompt did not pass our content moderation. Please revise it and try again.",
              failureCode: "SAFETY.INPUT.TEXT"
            }
            : {
              ...base,
              status: "FAILED",
              failure: "An unexpected error occurred while generating the video.",
              failureCode: "INTERNAL.BAD_OUTPUT.CODE01"
            }
      }
    }

    const unknownTask = (id: string, requestId: string): Response => {
      if (/^\d+$/.test(id)) return Wire.json(404, { code: 1203, message: "Requested resource does not exist", request_id: requestId })
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(id)) return Wire.json(404, { code: "task_not_exist", message: "Task does not exist" })
      return Wire.openaiError(404, `Video with id '${id}' not found.`, { param: "video_id", code: "not_found" })
    }

    /** A submit without a prompt, in the model's dialect. */
    const missingPrompt = (dialect: VideoDialect, requestId: string): Response => {
      switch (dialect) {
        case "openai":
          return Wire.openaiMissingParam("prompt")
        case "kling":
          return Wire.klingError(400, 1201, "Invalid request parameters: prompt must not be empty", requestId)
        case "runway":
          return Wire.runwayError(400, "Validation of body failed", {
            issues: [{ code: "invalid_type", expected: "string", received: "undefined", path: ["prompt"], message: "Required" }]
          })
      }
    }

    const videoSubmit = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = yield* RequestId
      const denied = openaiAuth(request)
      if (denied !== undefined) return denied
      const fields = yield* readVideoFields(request)
      if (fields === undefined) return Wire.openaiInvalidJson()
      const m = openaiModel(fields, "video", (id) =>
        Wire.openaiError(400, `Invalid value for 'model': \`${id}\` is not a video generation model.`, {
          param: "model",
          code: "invalid_value"
        }))
      if (HttpServerResponse.isServerResponse(m)) return m
      // From here on the model is known, so errors take the shape of its dialect
      // (an unknown model or a non-video model has no dialect: OpenAI shape above).
      const dialect = m.profile.videoDialect ?? "openai"
      const prompt = str(fields["prompt"])
      if (prompt === undefined || prompt.length === 0) return reject(m, missingPrompt(dialect, requestId))
      const d = yield* decide(m, prompt)
      // A video task's safety block or internal error shows when the task fails.
      const taskFailure = d.outcome === "contentFilter" || d.outcome === "serverError" ? d.outcome : undefined
      const hard = taskFailure === undefined ? hardOutcome(dialect, d.outcome, m, request, requestId) : undefined
      if (hard !== undefined) return yield* hard
      yield* sleepLatency(d)

      const n = ++taskCounter
      const id = dialect === "openai"
        ? `video_${hexId(32, config.seed, "task", n)}`
        : dialect === "kling"
        ? String(700_000_000_000_000_000n + BigInt(hash32(config.seed, "task", n)) * 1_000_000n + BigInt(n % 1_000_000))
        : hexId(32, config.seed, "task", n).replace(/^(.{8})(.{4}).(.{3}).(.{3})(.{12})$/, "$1-$2-4$3-a$4-$5")
      const seconds = str(fields["seconds"]) ?? (typeof fields["seconds"] === "number" ? String(fields["seconds"]) : undefined) ??
        str(fields["duration"]) ?? (dialect === "kling" ? "5" : dialect === "runway" ? "10" : "4")
      const task: VideoTask = {
        id,
        dialect,
        model: m,
        prompt,
        size: str(fields["size"]) ?? "1280x720",
        seconds,
        createdSimMs: d.simNow,
        failure: taskFailure,
        fileName: `vid_${hexId(24, config.seed, "video-file", n)}.mp4`,
        polls: 0
      }
      const response = dialect === "openai"
        ? openaiVideo(task, d.simNow)
        : dialect === "kling"
        ? klingTask(task, d.simNow, requestId)
        : { id }
      if (isBodyFault(d.outcome)) return answer(d, m, request, response)
      tasks.set(id, task)
      return Wire.json(200, response)
    })

    const videoGet = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = yield* RequestId
      const denied = openaiAuth(request)
      if (denied !== undefined) return denied
      const params = yield* HttpRouter.params
      const id = params["id"] ?? ""
      const task = tasks.get(id)
      if (task === undefined) return unknownTask(id, requestId)
      const now = yield* simNow
      task.polls++
      switch (task.dialect) {
        case "openai":
          return Wire.json(200, openaiVideo(task, now))
        case "kling":
          return Wire.json(200, klingTask(task, now, requestId))
        case "runway":
          return task.polls === 1
            ? Wire.json(404, { code: "task_not_exist", message: "Task does not exist" })
            : Wire.json(200, runwayTask(task, now))
      }
    })

    const videoContent = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = yield* RequestId
      const denied = openaiAuth(request)
      if (denied !== undefined) return denied
      const params = yield* HttpRouter.params
      const id = params["id"] ?? ""
      const task = tasks.get(id)
      if (task === undefined) return unknownTask(id, requestId)
      const { phase } = taskPhase(task, yield* simNow)
      if (phase !== "succeeded") {
        return Wire.openaiError(404, `Video '${id}' has no content: its status is ${phase}.`, {
          param: "video_id",
          code: "video_not_ready"
        })
      }
      return HttpServerResponse.uint8Array(mp4(task.id), { status: 200, contentType: "video/mp4" })
    })

    // -------------------------------------------------------------------------
    // files, models, admin
    // -------------------------------------------------------------------------

    const fileGet = Effect.gen(function*() {
      const params = yield* HttpRouter.params
      const file = files.get(params["name"] ?? "")
      if (file === undefined) return Wire.s3Error(404, "NoSuchKey", "The specified key does not exist.")
      const now = yield* simNow
      if (now - file.createdSimMs >= file.ttlMs) return Wire.s3Error(403, "AccessDenied", "Request has expired")
      return HttpServerResponse.uint8Array(file.bytes, { status: 200, contentType: file.contentType })
    })

    const listModels = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const denied = openaiAuth(request)
      if (denied !== undefined) return denied
      return Wire.json(200, {
        object: "list",
        data: config.models.map((p) => ({ id: p.id, object: "model", created: unix(startAtMs), owned_by: p.vendor }))
      })
    })

    const modelState = (m: ModelRuntime, now: number): ModelState => ({
      id: m.profile.id,
      vendor: m.profile.vendor,
      kind: m.profile.kind,
      requests: m.requests,
      rejected: m.rejected,
      outcomes: { ...m.outcomes },
      override: overrides.get(m.profile.id) ?? null,
      outage: activeOutage(m.profile, now)?.fault ?? null
    })

    const snapshot: Effect.Effect<SimulatorState> = Effect.map(simNow, (now) => ({
      simulatedNow: iso(now),
      simulatedElapsedMs: now - startAtMs,
      models: [...models.values()].map((m) => modelState(m, now))
    }))

    const setOverride = (modelId: string, fault: Fault | undefined): Effect.Effect<void> =>
      Effect.sync(() => {
        if (fault === undefined) overrides.delete(modelId)
        else overrides.set(modelId, fault)
      })

    const adminState = Effect.map(snapshot, (state) =>
      Wire.json(200, {
        config: {
          seed: config.seed,
          timeScale: config.timeScale,
          startAt: config.startAt,
          port: config.port,
          authRequired: config.apiKeys !== undefined,
          models: config.models.length
        },
        url: baseUrl,
        ...state
      }))

    const adminOverride = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* HttpRouter.params
      const id = params["id"] ?? ""
      const m = models.get(id)
      if (m === undefined) return Wire.json(404, { error: { message: `unknown model ${id}` } })
      const body = yield* readJson(request)
      const fault = body?.["fault"]
      if (body === undefined || !(fault === null || (typeof fault === "string" && FAULT_SET.has(fault)))) {
        return Wire.json(400, {
          error: { message: `"fault" must be null or one of: ${FAULT_ORDER.join(", ")}` }
        })
      }
      yield* setOverride(id, fault === null ? undefined : fault as Fault)
      return Wire.json(200, modelState(m, yield* simNow))
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.get("/_simulator/health", Effect.succeed(Wire.json(200, { ok: true }))),
      HttpRouter.get("/_simulator/state", adminState),
      HttpRouter.put("/_simulator/models/:id/override", adminOverride),
      HttpRouter.get("/v1/models", listModels),
      HttpRouter.post("/v1/chat/completions", chatCompletions),
      HttpRouter.post("/v1/images/generations", imageGenerations),
      HttpRouter.post("/v1/videos", videoSubmit),
      HttpRouter.get("/v1/videos/:id", videoGet),
      HttpRouter.get("/v1/videos/:id/content", videoContent),
      HttpRouter.get("/files/:name", fileGet),
      HttpRouter.post("/v1beta/*", generateContent)
    )

    const hostAllowed = hostCheck("127.0.0.1", config.allowedHosts)
    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!hostAllowed(request.headers["host"])) return HttpServerResponse.text(forbiddenHostBody, { status: 403 })
      const requestId = `req_${hexId(32, config.seed, "request", ++requestCounter)}`
      const response = yield* router.pipe(
        Effect.provideService(RequestId, requestId),
        Effect.catchTag("RouteNotFound", () =>
          Effect.succeed(
            request.url.startsWith("/v1beta/")
              ? Wire.geminiError(404, "NOT_FOUND", "Method not found.")
              : Wire.openaiError(404, `Invalid URL (${request.method} ${request.url.split("?")[0]})`)
          ))
      )
      return HttpServerResponse.setHeader(response, "x-request-id", requestId)
    })

    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { host: "127.0.0.1", port: config.port })
    // Runs before the server's own close: drop pending (hanging) connections.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    baseUrl = `http://127.0.0.1:${port}`
    // Keys arrive in request headers: keep them out of the server's spans.
    yield* server.serve(app).pipe(
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...SECRET_HEADERS])
    )

    const shape: SimulatorShape = {
      url: baseUrl,
      port,
      config,
      setOverride,
      snapshot,
      simulatedNow: simNow
    }
    return shape
  })
