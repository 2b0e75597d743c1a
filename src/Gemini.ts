/**
 * Adapter for the Gemini native API: `POST /v1beta/models/{model}:generateContent`
 * for text and images (`inlineData`), over `@effect/platform` `HttpClient`.
 *
 * Soft failures (HTTP 200 but nothing usable): `promptFeedback.blockReason`, `finishReason`
 * `SAFETY` / `IMAGE_SAFETY` / `PROHIBITED_CONTENT` / `RECITATION` / … →
 * `ContentFiltered`; `MAX_TOKENS` → `Truncated`; `NO_IMAGE` or no usable
 * part → `EmptyOutput`. Video is not offered by this endpoint.
 *
 * @since 0.1.0
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Config, type ConfigError, type Duration, Effect, Layer, Redacted } from "effect"
import { HardFailure, SoftFailure } from "./Failure.js"
import { GeneratedImage, type ImageRequest, ImageResult } from "./ImageGeneration.js"
import { contextFor, decodeBase64, guardImage, guardText, providerClient, resolve, sniffImageType, trusted } from "./internal/adapter.js"
import { type CallContext, decodeJson, hardFailure, joinUrl, omitUndefined, pathSegment, sendJson } from "./internal/http.js"
import * as Wire from "./internal/wire/gemini.js"
import * as Provider from "./Provider.js"
import { type Message, type TextRequest, TextResult, ToolCall } from "./TextGeneration.js"
import { Usage } from "./Usage.js"
import type { VideoRequest } from "./VideoGeneration.js"

/**
 * Options for a Gemini provider.
 *
 * | option | default | source |
 * |---|---|---|
 * | `name` | `"gemini"` | |
 * | `baseUrl` | `https://generativelanguage.googleapis.com` | Gemini API docs |
 * | `timeout` | 180 s per HTTP exchange | a degraded image call takes 60–100+ s; 180 s is the usual read time-out for image generation |
 * | `maxResponseBytes` | 64 MiB | |
 * | `propagateTracing` | `false` (no `traceparent` / `b3` to the provider) | |
 *
 * @since 0.1.0
 */
export interface Options {
  readonly name?: string | undefined
  readonly baseUrl?: string | undefined
  /** Sent as `x-goog-api-key`; never logged. */
  readonly apiKey: Redacted.Redacted
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxResponseBytes?: number | undefined
  /** Extra headers; `Redacted` values are secrets (scrubbed from failures, redacted in spans). */
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted>> | undefined
  /**
   * Send the caller's trace context (`traceparent`, `b3`) to the provider.
   * Off by default: the provider is a third party. Spans are recorded
   * locally either way.
   */
  readonly propagateTracing?: boolean | undefined
}

/** Finish reasons that mean a safety system blocked the output. */
const FILTERED = new Set([
  "SAFETY",
  "IMAGE_SAFETY",
  "PROHIBITED_CONTENT",
  "IMAGE_PROHIBITED_CONTENT",
  "RECITATION",
  "IMAGE_RECITATION",
  "BLOCKLIST",
  "SPII"
])

type Body = typeof Wire.GenerateContentResponse.Type

/** Every field of a Gemini answer is optional; an answer has candidates or prompt feedback. */
const looksLikeAnswer = (json: Readonly<Record<string, unknown>>): boolean => "candidates" in json || "promptFeedback" in json

const softFailure = (
  ctx: CallContext,
  status: number,
  reason: SoftFailure["reason"],
  message: string,
  extra: { finishReason?: string | undefined; code?: string | undefined; output?: string | undefined; completionTokens?: number | undefined; requestId?: string | undefined }
) => new SoftFailure({ reason, provider: ctx.provider, model: ctx.model, status, message, ...omitUndefined(extra) })

const usageOf = (body: Body): Usage | undefined =>
  body.usageMetadata === undefined ? undefined : trusted(Usage, omitUndefined({
    promptTokens: body.usageMetadata.promptTokenCount,
    completionTokens: body.usageMetadata.candidatesTokenCount,
    totalTokens: body.usageMetadata.totalTokenCount
  }))

/**
 * The first candidate's parts, or the soft failure that explains why there is
 * nothing usable. Shared by text and image interpretation.
 */
const firstCandidate = (
  ctx: CallContext,
  body: Body,
  requestId: string | undefined,
  status: number
): Effect.Effect<{ readonly parts: ReadonlyArray<typeof Wire.Part.Type>; readonly finishReason: string }, SoftFailure> => {
  const blockReason = body.promptFeedback?.blockReason
  if (blockReason !== undefined && blockReason !== "BLOCK_REASON_UNSPECIFIED") {
    return Effect.fail(softFailure(ctx, status, "ContentFiltered", `prompt blocked (promptFeedback.blockReason: ${blockReason})${body.promptFeedback?.blockReasonMessage === undefined ? "" : `: ${body.promptFeedback.blockReasonMessage}`}; rephrase the prompt`, {
      code: blockReason, requestId
    }))
  }
  const candidate = body.candidates?.[0]
  if (candidate === undefined) {
    return Effect.fail(softFailure(ctx, status, "EmptyOutput", "the response has no candidates", { requestId }))
  }
  const finishReason = candidate.finishReason ?? "STOP"
  const parts = (candidate.content?.parts ?? []).filter((p) => p.thought !== true)
  const text = parts.flatMap((p) => (p.text === undefined ? [] : [p.text])).join("")
  const completionTokens = body.usageMetadata?.candidatesTokenCount
  const output = text.length > 0 ? text : undefined
  if (FILTERED.has(finishReason)) {
    return Effect.fail(softFailure(ctx, status, "ContentFiltered", `output blocked (finishReason: ${finishReason})${candidate.finishMessage === undefined ? "" : `: ${candidate.finishMessage}`}`, {
      finishReason, code: finishReason, output, requestId, completionTokens
    }))
  }
  if (finishReason === "MAX_TOKENS") {
    return Effect.fail(softFailure(ctx, status, "Truncated", `output truncated at the token limit after ${completionTokens ?? "?"} tokens (finishReason: MAX_TOKENS); raise maxOutputTokens or shorten the prompt`, {
      finishReason, output, requestId, completionTokens
    }))
  }
  if (finishReason === "NO_IMAGE") {
    return Effect.fail(softFailure(ctx, status, "EmptyOutput", "the model returned no image (finishReason: NO_IMAGE)", { finishReason, output, requestId }))
  }
  return Effect.succeed({ parts, finishReason })
}

/** @internal */
const interpretText = (
  ctx: CallContext,
  body: Body,
  requestId: string | undefined,
  status: number
): Effect.Effect<TextResult, SoftFailure | HardFailure> =>
  Effect.flatMap(firstCandidate(ctx, body, requestId, status), ({ finishReason, parts }): Effect.Effect<TextResult, SoftFailure | HardFailure> => {
    const text = parts.flatMap((p) => (p.text === undefined ? [] : [p.text])).join("")
    const toolCalls: Array<ToolCall> = []
    for (const [i, p] of parts.entries()) {
      if (p.functionCall === undefined) continue
      // The arguments go on as JSON text, and JSON.stringify runs out of stack
      // at a few thousand levels of nesting, which a response can carry.
      let args: string
      try {
        args = JSON.stringify(p.functionCall.args ?? {})
      } catch {
        return Effect.fail(new HardFailure({
          reason: "ServerError", provider: ctx.provider, model: ctx.model, status,
          message: `functionCall.args of part ${i} is nested too deeply to pass on`, code: "unexpected_response", ...omitUndefined({ requestId })
        }))
      }
      toolCalls.push(trusted(ToolCall, { id: `call_${i}`, name: p.functionCall.name, arguments: args }))
    }
    if (toolCalls.length === 0 && text.trim().length === 0) {
      return Effect.fail(softFailure(ctx, status, "EmptyOutput", `no text and no function call in the answer (finishReason: ${finishReason})`, { finishReason, requestId }))
    }
    return Effect.succeed(trusted(TextResult, omitUndefined({
      provider: ctx.provider,
      model: body.modelVersion !== undefined && body.modelVersion.trim().length > 0 ? body.modelVersion : ctx.model,
      content: text.length > 0 ? text : null,
      toolCalls,
      finishReason: toolCalls.length > 0 ? "tool_calls" : finishReason === "STOP" ? "stop" : finishReason.toLowerCase(),
      usage: usageOf(body),
      requestId: requestId ?? body.responseId
    })))
  })

/** @internal */
const interpretImage = (
  ctx: CallContext,
  body: Body,
  requestId: string | undefined,
  status: number
): Effect.Effect<ImageResult, SoftFailure | HardFailure> =>
  Effect.flatMap(firstCandidate(ctx, body, requestId, status), ({ finishReason, parts }): Effect.Effect<ImageResult, SoftFailure | HardFailure> => {
    const images: Array<GeneratedImage> = []
    for (const part of parts) {
      if (part.inlineData === undefined) continue
      const bytes = decodeBase64(part.inlineData.data)
      if (bytes === undefined) {
        return Effect.fail(new HardFailure({
          reason: "ServerError", provider: ctx.provider, model: ctx.model, status,
          message: "inlineData.data is not valid base64", code: "unexpected_response", ...omitUndefined({ requestId })
        }))
      }
      images.push(trusted(GeneratedImage, { bytes, mimeType: sniffImageType(bytes) ?? part.inlineData.mimeType }))
    }
    const [first, ...rest] = images
    if (first === undefined) {
      const text = parts.flatMap((p) => (p.text === undefined ? [] : [p.text])).join("")
      return Effect.fail(softFailure(ctx, status, "EmptyOutput", `no image in the answer (finishReason: ${finishReason})${text.length > 0 ? `; the model said: ${text.slice(0, 200)}` : ""}`, {
        finishReason, requestId, ...(text.length > 0 ? { output: text } : {})
      }))
    }
    return Effect.succeed(trusted(ImageResult, omitUndefined({
      provider: ctx.provider,
      model: body.modelVersion !== undefined && body.modelVersion.trim().length > 0 ? body.modelVersion : ctx.model,
      images: [first, ...rest],
      usage: usageOf(body),
      requestId: requestId ?? body.responseId
    })))
  })

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

/** "1024x1536" → "2:3" (Gemini `imageConfig.aspectRatio`). @internal */
const aspectRatioOf = (size: string | undefined): string | undefined => {
  const m = size === undefined ? null : /^(\d+)x(\d+)$/.exec(size)
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined
  const w = Number(m[1])
  const h = Number(m[2])
  if (w === 0 || h === 0) return undefined
  const d = gcd(w, h)
  return `${w / d}:${h / d}`
}

const parseArguments = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return { arguments: text }
  }
}

/** OpenAI-style turns → Gemini `contents`, including function calls and their responses. */
const contentsOf = (messages: ReadonlyArray<Message>) => {
  const toolNames = new Map<string, string>()
  return messages.filter((m) => m.role !== "system").map((m) => {
    if (m.role === "assistant") {
      for (const call of m.toolCalls ?? []) toolNames.set(call.id, call.name)
      const parts = [
        ...(m.content === null || m.content.length === 0 ? [] : [{ text: m.content }]),
        ...(m.toolCalls ?? []).map((call) => ({ functionCall: { name: call.name, args: parseArguments(call.arguments) } }))
      ]
      return { role: "model", parts: parts.length === 0 ? [{ text: "" }] : parts }
    }
    if (m.role === "tool") {
      const name = m.name ?? (m.toolCallId === undefined ? undefined : toolNames.get(m.toolCallId)) ?? "tool"
      const result = parseArguments(m.content ?? "null")
      return {
        role: "user",
        parts: [{ functionResponse: { name, response: typeof result === "object" && result !== null ? result : { result } } }]
      }
    }
    return { role: "user", parts: [{ text: m.content ?? "" }] }
  })
}

const textBody = (request: TextRequest) => {
  const system = request.messages.filter((m) => m.role === "system" && m.content !== null).map((m) => ({ text: m.content ?? "" }))
  return omitUndefined({
    contents: contentsOf(request.messages),
    systemInstruction: system.length > 0 ? { parts: system } : undefined,
    tools: request.tools === undefined || request.tools.length === 0
      ? undefined
      : [{ functionDeclarations: request.tools.map((t) => omitUndefined({ name: t.name, description: t.description, parameters: t.parameters })) }],
    generationConfig: omitUndefined({
      maxOutputTokens: request.maxTokens,
      temperature: request.temperature,
      responseMimeType: request.responseFormat === "json" ? "application/json" : undefined
    })
  })
}

const imageBody = (request: ImageRequest) => {
  const aspectRatio = aspectRatioOf(request.size)
  return {
    contents: [{ role: "user", parts: [{ text: request.prompt }] }],
    generationConfig: omitUndefined({
      responseModalities: ["TEXT", "IMAGE"],
      imageConfig: aspectRatio === undefined ? undefined : { aspectRatio }
    })
  }
}

/**
 * Build a Gemini provider.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Redacted } from "effect"
 * import { Gemini } from "effect-ai-resilience"
 *
 * const provider = Gemini.make({ apiKey: Redacted.make("AIza-test") }).pipe(
 *   Effect.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Provider.ProviderService, Provider.InvalidProviderOptions, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const resolved = yield* resolve({ name: "gemini", baseUrl: "https://generativelanguage.googleapis.com" }, options)
    const client = providerClient(yield* HttpClient.HttpClient, resolved)
    // The key goes in a header, never in the URL (URLs end up in logs).
    // The model id is a path segment: one that is not well-formed Unicode cannot be sent.
    const generateContent = (ctx: CallContext, model: string): Effect.Effect<HttpClientRequest.HttpClientRequest, HardFailure> => {
      const segment = pathSegment(model)
      return segment === undefined
        ? Effect.fail(hardFailure(ctx, "BadRequest", `the model id ${JSON.stringify(model)} is not well-formed Unicode: it cannot be sent in a URL (nothing was sent)`, {
          code: "invalid_request",
          param: "model"
        }))
        : Effect.succeed(HttpClientRequest.post(joinUrl(resolved.baseUrl, `/v1beta/models/${segment}:generateContent`)).pipe(
          HttpClientRequest.setHeaders(resolved.headers),
          HttpClientRequest.setHeader("x-goog-api-key", Redacted.value(resolved.apiKey)),
          HttpClientRequest.acceptJson
        ))
    }

    const generateText = (request: TextRequest) => {
      const ctx = contextFor(resolved, request.model)
      return generateContent(ctx, request.model).pipe(
        Effect.flatMap((post) => sendJson(client, post, textBody(request), ctx)),
        Effect.flatMap((raw) =>
          decodeJson(Wire.GenerateContentResponse, raw, ctx, looksLikeAnswer).pipe(Effect.flatMap((body) => interpretText(ctx, body, raw.requestId, raw.status)))
        ),
        guardText(ctx),
        Effect.withSpan("Gemini.generateText", { captureStackTrace: false, attributes: { provider: resolved.name, model: request.model } })
      )
    }

    const generateImage = (request: ImageRequest) => {
      const ctx = contextFor(resolved, request.model)
      if (request.n !== undefined && request.n > 1) {
        return Effect.fail(new HardFailure({
          reason: "BadRequest", provider: resolved.name, model: request.model, param: "n", code: "unsupported_parameter",
          message: "generateContent returns one image per call; send n = 1 and repeat the call"
        }))
      }
      return generateContent(ctx, request.model).pipe(
        Effect.flatMap((post) => sendJson(client, post, imageBody(request), ctx)),
        Effect.flatMap((raw) =>
          decodeJson(Wire.GenerateContentResponse, raw, ctx, looksLikeAnswer).pipe(Effect.flatMap((body) => interpretImage(ctx, body, raw.requestId, raw.status)))
        ),
        guardImage(ctx),
        Effect.withSpan("Gemini.generateImage", { captureStackTrace: false, attributes: { provider: resolved.name, model: request.model } })
      )
    }

    const unsupported = (model: string) =>
      Effect.fail(new HardFailure({
        reason: "BadRequest", provider: resolved.name, model, code: "unsupported_operation",
        message: "video generation is not available through generateContent; use an OpenAI-compatible video endpoint"
      }))

    return Provider.make({
      name: resolved.name,
      generateText,
      generateImage,
      submitVideo: (request: VideoRequest) => unsupported(request.model),
      pollVideo: (task) => unsupported(task.model)
    })
  })

/**
 * The adapter as the `Provider` service.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Provider.Provider, Provider.InvalidProviderOptions, HttpClient.HttpClient> =>
  Layer.effect(Provider.Provider, make(options))

/**
 * Options from configuration: `<prefix>_API_KEY` (redacted) and optional
 * `<prefix>_BASE_URL`, e.g. `GEMINI_API_KEY`.
 *
 * @since 0.1.0
 */
export const config = (prefix = "GEMINI"): Config.Config<Options> =>
  Config.all({
    baseUrl: Config.string(`${prefix}_BASE_URL`).pipe(Config.withDefault("https://generativelanguage.googleapis.com")),
    apiKey: Config.redacted(`${prefix}_API_KEY`)
  })

/**
 * The adapter as the `Provider` service, configured from `Config`.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Config<Options> = config()
): Layer.Layer<Provider.Provider, ConfigError.ConfigError | Provider.InvalidProviderOptions, HttpClient.HttpClient> =>
  Layer.effect(Provider.Provider, Effect.flatMap(options, make))
