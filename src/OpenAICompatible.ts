/**
 * Adapter for OpenAI-compatible APIs (OpenAI itself and the gateways that
 * speak its API): `/v1/chat/completions`, `/v1/images/generations`,
 * `/v1/videos` and `/v1/videos/{id}`, over `@effect/platform` `HttpClient`.
 *
 * Every outcome is classified: non-2xx → `HardFailure` (via
 * `classifyResponse`); HTTP 200 with `finish_reason: content_filter` /
 * `length`, null content without tool calls, or an empty image list →
 * `SoftFailure`; a request's validators → `SilentFailure`.
 *
 * @since 0.1.0
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Config, type Duration, Effect, Layer, Option, type Redacted, Schema } from "effect"
import { HardFailure, SoftFailure } from "./Failure.js"
import { GeneratedImage, type ImageRequest, ImageResult } from "./ImageGeneration.js"
import { contextFor, decodeBase64, guardFailure, guardImage, guardTask, guardText, providerClient, refuseSecret, resolve, type ResolvedOptions, sniffImageType, trusted } from "./internal/adapter.js"
import { type CallContext, decodeJson, hardFailure, joinUrl, omitUndefined, pathSegment, send, sendForBytes, sendJson } from "./internal/http.js"
import * as Wire from "./internal/wire/openai.js"
import * as Provider from "./Provider.js"
import { type TextRequest, TextResult, ToolCall } from "./TextGeneration.js"
import { Usage } from "./Usage.js"
import { normalizeStatus, type VideoRequest, VideoStatus, VideoTask } from "./VideoGeneration.js"

/**
 * Options for an OpenAI-compatible provider.
 *
 * | option | default | source |
 * |---|---|---|
 * | `name` | `"openai-compatible"` | |
 * | `timeout` | 180 s per HTTP exchange | a degraded image call takes 60–100+ s; 180 s is the usual read time-out for image generation |
 * | `maxResponseBytes` | 64 MiB | |
 * | `propagateTracing` | `false` (no `traceparent` / `b3` to the provider) | |
 *
 * @since 0.1.0
 */
export interface Options {
  /** Name used in failures and reports. */
  readonly name?: string | undefined
  /** e.g. `"https://api.openai.com"`; a trailing `/v1` is tolerated. */
  readonly baseUrl: string
  /** Sent as `Authorization: Bearer …`; never logged. */
  readonly apiKey: Redacted.Redacted
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxResponseBytes?: number | undefined
  /** Extra headers (e.g. a gateway's routing header). */
  /** Extra headers; `Redacted` values are secrets (scrubbed from failures, redacted in spans). */
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted>> | undefined
  /**
   * Send the caller's trace context (`traceparent`, `b3`) to the provider.
   * Off by default: the provider is a third party. Spans are recorded
   * locally either way.
   */
  readonly propagateTracing?: boolean | undefined
}

const isVideoStatus = Schema.is(VideoStatus)

const finishReasonOf = (raw: string | null | undefined): string => raw ?? "stop"

const usageOf = (u: typeof Wire.ChatUsage.Type | null | undefined): Usage | undefined =>
  u === null || u === undefined
    ? undefined
    : trusted(Usage, omitUndefined({
      promptTokens: u.prompt_tokens ?? undefined,
      completionTokens: u.completion_tokens ?? undefined,
      totalTokens: u.total_tokens ?? undefined
    }))

const soft = (
  ctx: CallContext,
  status: number,
  reason: SoftFailure["reason"],
  message: string,
  extra: { finishReason?: string | undefined; completionTokens?: number | undefined; output?: string | undefined; requestId?: string | undefined; code?: string | undefined }
) =>
  new SoftFailure({
    reason,
    provider: ctx.provider,
    model: ctx.model,
    status,
    message,
    ...omitUndefined(extra)
  })

/**
 * Turn a decoded chat completion into a result or a soft failure (HTTP 200 but nothing usable).
 */
const interpretChatCompletion = (
  ctx: CallContext,
  body: typeof Wire.ChatCompletion.Type,
  requestId: string | undefined,
  status: number
): Effect.Effect<TextResult, SoftFailure> => {
  const choice = body.choices[0]
  if (choice === undefined) {
    return Effect.fail(soft(ctx, status, "EmptyOutput", "the response has no choices (the prompt may have been filtered)", { requestId }))
  }
  const usage = usageOf(body.usage)
  const finishReason = finishReasonOf(choice.finish_reason)
  const content = choice.message.content ?? null
  const toolCalls = (choice.message.tool_calls ?? []).map((call) =>
    trusted(ToolCall, { id: call.id, name: call.function.name, arguments: call.function.arguments })
  )
  const output = content ?? undefined
  if (finishReason === "content_filter") {
    return Effect.fail(soft(ctx, status, "ContentFiltered", "blocked by the provider's safety policy (finish_reason: content_filter); rephrase the prompt", {
      finishReason, output, requestId, completionTokens: usage?.completionTokens
    }))
  }
  const refusal = choice.message.refusal
  if (typeof refusal === "string" && refusal.length > 0 && (content === null || content.length === 0)) {
    return Effect.fail(soft(ctx, status, "ContentFiltered", `the model refused: ${refusal}`, { finishReason, output: refusal, requestId, code: "refusal" }))
  }
  if (finishReason === "length") {
    return Effect.fail(soft(ctx, status, "Truncated", `output truncated at the token limit after ${usage?.completionTokens ?? "?"} completion tokens; raise max_tokens or shorten the prompt`, {
      finishReason, output, requestId, completionTokens: usage?.completionTokens
    }))
  }
  if (toolCalls.length === 0 && (content === null || content.trim().length === 0)) {
    return Effect.fail(soft(ctx, status, "EmptyOutput", `empty content with finish_reason ${finishReason} and no tool calls`, {
      finishReason, requestId, completionTokens: usage?.completionTokens
    }))
  }
  return Effect.succeed(trusted(TextResult, omitUndefined({
    provider: ctx.provider,
    // the model that answered, if it says (a blank name is no name)
    model: body.model !== undefined && body.model.trim().length > 0 ? body.model : ctx.model,
    content,
    toolCalls,
    finishReason: toolCalls.length > 0 && finishReason === "stop" ? "tool_calls" : finishReason,
    usage,
    requestId
  })))
}

const chatBody = (request: TextRequest) =>
  omitUndefined({
    model: request.model,
    messages: request.messages.map((m) =>
      omitUndefined({
        role: m.role,
        content: m.content,
        tool_calls: m.toolCalls === undefined || m.toolCalls.length === 0
          ? undefined
          : m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
        tool_call_id: m.toolCallId,
        name: m.role === "tool" ? m.name : undefined
      })
    ),
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    response_format: request.responseFormat === "json" ? { type: "json_object" } : undefined,
    tools: request.tools?.map((t) => ({
      type: "function",
      function: omitUndefined({ name: t.name, description: t.description, parameters: t.parameters })
    }))
  })

const imageBody = (request: ImageRequest) =>
  omitUndefined({
    model: request.model,
    prompt: request.prompt,
    n: request.n,
    size: request.size,
    quality: request.quality,
    response_format: request.responseFormat,
    output_format: request.outputFormat
  })

/**
 * Turn a decoded images response into a result, or `EmptyOutput` when no
 * image came back (an empty `data` means the prompt was filtered).
 */
const interpretImages = (
  ctx: CallContext,
  body: typeof Wire.ImagesResponse.Type,
  requestId: string | undefined,
  status: number
): Effect.Effect<ImageResult, SoftFailure | HardFailure> => {
  const images: Array<GeneratedImage> = []
  for (const item of body.data) {
    const revisedPrompt = item.revised_prompt ?? undefined
    if (typeof item.b64_json === "string" && item.b64_json.length > 0) {
      const bytes = decodeBase64(item.b64_json)
      if (bytes === undefined) {
        return Effect.fail(new HardFailure({
          reason: "ServerError", provider: ctx.provider, model: ctx.model, status,
          message: "b64_json is not valid base64", code: "unexpected_response", ...omitUndefined({ requestId })
        }))
      }
      const mimeType = sniffImageType(bytes) ?? (body.output_format === undefined ? undefined : `image/${body.output_format}`)
      images.push(trusted(GeneratedImage, omitUndefined({ bytes, mimeType, revisedPrompt })))
    } else if (typeof item.url === "string" && item.url.length > 0) {
      const refused = refuseSecret(ctx, "image URL", item.url, { status, requestId })
      if (refused !== undefined) return Effect.fail(refused)
      images.push(trusted(GeneratedImage, omitUndefined({ url: item.url, revisedPrompt })))
    }
  }
  const [first, ...rest] = images
  if (first === undefined) {
    return Effect.fail(soft(ctx, status, "EmptyOutput", "no image in the response (`data` is empty): the prompt was probably filtered; check revised_prompt and rephrase", { requestId }))
  }
  const u = body.usage
  return Effect.succeed(trusted(ImageResult, omitUndefined({
    provider: ctx.provider,
    model: ctx.model,
    images: [first, ...rest],
    requestId,
    usage: u === null || u === undefined ? undefined : trusted(Usage, omitUndefined({
      promptTokens: u.input_tokens ?? undefined,
      completionTokens: u.output_tokens ?? undefined,
      totalTokens: u.total_tokens ?? undefined
    }))
  })))
}

/**
 * Normalise a video task body of any of the three dialects.
 */
const interpretVideoTask = (
  ctx: CallContext,
  options: ResolvedOptions,
  body: typeof Wire.VideoTaskBody.Type,
  requestId: string | undefined,
  httpStatus: number
): Effect.Effect<VideoTask, HardFailure> => {
  let id: string
  let rawStatus: string
  let progress: number | undefined
  let videoUrl: string | undefined
  let error: { code?: string; message: string } | undefined
  if ("data" in body) {
    // Kling-like
    id = body.data.task_id
    rawStatus = body.data.task_status
    videoUrl = body.data.task_result?.videos?.[0]?.url
    const msg = body.data.task_status_msg
    if (typeof msg === "string" && msg.length > 0) error = { message: msg }
  } else if ("object" in body) {
    // OpenAI-like
    id = body.id
    rawStatus = body.status
    progress = body.progress ?? undefined
    if (body.error !== null && body.error !== undefined) {
      error = omitUndefined({ code: body.error.code ?? undefined, message: body.error.message ?? "the task failed without detail" })
    }
  } else {
    // Runway-like; the submit answer is just {"id"}
    id = body.id
    rawStatus = body.status ?? "PENDING"
    progress = body.progress === null || body.progress === undefined ? undefined : Math.round(body.progress * 100)
    videoUrl = body.output?.[0]
    if (typeof body.failure === "string") error = omitUndefined({ code: body.failureCode ?? undefined, message: body.failure })
  }
  // The id is what the next poll sends: one that cannot be sent (blank, padded,
  // not well-formed Unicode) is the provider's fault now, not the caller's later.
  const segment = id.length > 0 && id.trim() === id ? pathSegment(id) : undefined
  if (segment === undefined) {
    return Effect.fail(new HardFailure({
      reason: "ServerError", provider: ctx.provider, model: ctx.model, status: httpStatus,
      message: `the task id ${JSON.stringify(id)} cannot be polled (blank, padded or not well-formed Unicode)`, code: "unexpected_response",
      ...omitUndefined({ requestId })
    }))
  }
  // The id is sent back on every poll and the URL fetched: neither can be scrubbed.
  const refused = refuseSecret(ctx, "video task id", id, { status: httpStatus, requestId }) ??
    (videoUrl === undefined ? undefined : refuseSecret(ctx, "video URL", videoUrl, { status: httpStatus, requestId }))
  if (refused !== undefined) return Effect.fail(refused)
  // Only the five statuses: a vendor's "constructor" or "__proto__" must not
  // find a property of the lookup table's prototype.
  const status = Option.filter(normalizeStatus(rawStatus), isVideoStatus)
  if (Option.isNone(status)) {
    return Effect.fail(new HardFailure({
      reason: "ServerError", provider: ctx.provider, model: ctx.model, status: httpStatus,
      message: `unknown video task status ${JSON.stringify(rawStatus)} for task ${id}`, code: "unexpected_response",
      ...omitUndefined({ requestId })
    }))
  }
  if (status.value === "succeeded" && videoUrl === undefined) {
    // OpenAI serves the finished video from the task itself.
    videoUrl = joinUrl(options.baseUrl, `/v1/videos/${segment}/content`)
  }
  if (status.value === "failed" || status.value === "cancelled") {
    error ??= { message: `task ${status.value} without detail (often a filtered prompt)` }
  } else {
    error = undefined
  }
  return Effect.succeed(trusted(VideoTask, omitUndefined({
    provider: ctx.provider, model: ctx.model, id, status: status.value, rawStatus, progress, videoUrl, error, requestId
  })))
}

/**
 * Build an OpenAI-compatible provider.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Redacted } from "effect"
 * import { OpenAICompatible } from "effect-ai-resilience"
 *
 * const provider = OpenAICompatible.make({
 *   baseUrl: "http://127.0.0.1:8080",
 *   apiKey: Redacted.make("sk-test")
 * }).pipe(Effect.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Provider.ProviderService, Provider.InvalidProviderOptions, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const resolved = yield* resolve({ name: "openai-compatible" }, options)
    const client = providerClient(yield* HttpClient.HttpClient, resolved)
    // requests are immutable: each endpoint's is built once
    const posts = new Map<string, HttpClientRequest.HttpClientRequest>()
    const post = (path: string) => {
      const known = posts.get(path)
      if (known !== undefined) return known
      const made = HttpClientRequest.post(joinUrl(resolved.baseUrl, path)).pipe(
        HttpClientRequest.setHeaders(resolved.headers),
        HttpClientRequest.bearerToken(resolved.apiKey),
        HttpClientRequest.acceptJson
      )
      posts.set(path, made)
      return made
    }

    const generateText = (request: TextRequest) => {
      const ctx = contextFor(resolved, request.model)
      return sendJson(client, post("/v1/chat/completions"), chatBody(request), ctx).pipe(
        Effect.flatMap((raw) =>
          decodeJson(Wire.ChatCompletion, raw, ctx).pipe(
            Effect.flatMap((body) => interpretChatCompletion(ctx, body, raw.requestId, raw.status))
          )
        ),
        guardText(ctx),
        Effect.withSpan("OpenAICompatible.generateText", { captureStackTrace: false, attributes: { provider: resolved.name, model: request.model } })
      )
    }

    const generateImage = (request: ImageRequest) => {
      const ctx = contextFor(resolved, request.model)
      return sendJson(client, post("/v1/images/generations"), imageBody(request), ctx).pipe(
        Effect.flatMap((raw) =>
          decodeJson(Wire.ImagesResponse, raw, ctx).pipe(
            Effect.flatMap((body) => interpretImages(ctx, body, raw.requestId, raw.status))
          )
        ),
        guardImage(ctx),
        Effect.withSpan("OpenAICompatible.generateImage", { captureStackTrace: false, attributes: { provider: resolved.name, model: request.model } })
      )
    }

    const submitVideo = (request: VideoRequest) => {
      const ctx = contextFor(resolved, request.model)
      const form = new FormData()
      form.append("model", request.model)
      form.append("prompt", request.prompt)
      if (request.size !== undefined) form.append("size", request.size)
      if (request.seconds !== undefined) form.append("seconds", String(request.seconds))
      // Serialise the multipart body with the platform's own encoder: the
      // undici client of @effect/platform-node cannot stream Node's global
      // FormData ("action is not a function"), and bytes work on any client.
      const encoded = Effect.tryPromise({
        try: async () => {
          const response = new Response(form)
          return {
            bytes: new Uint8Array(await response.arrayBuffer()),
            contentType: response.headers.get("content-type") ?? "multipart/form-data"
          }
        },
        catch: (error) => hardFailure(ctx, "BadRequest", `the video request cannot be encoded as multipart/form-data: ${String(error)}`, { code: "invalid_request_body" })
      })
      return encoded.pipe(
        Effect.flatMap(({ bytes, contentType }) =>
          send(client, HttpClientRequest.bodyUint8Array(post("/v1/videos"), bytes, contentType), ctx)
        ),
        Effect.flatMap((raw) =>
          decodeJson(Wire.VideoTaskBody, raw, ctx).pipe(
            Effect.flatMap((body) => interpretVideoTask(ctx, resolved, body, raw.requestId, raw.status))
          )
        ),
        guardTask(ctx),
        Effect.withSpan("OpenAICompatible.submitVideo", { captureStackTrace: false, attributes: { provider: resolved.name, model: request.model } })
      )
    }

    const pollVideo = (task: { readonly id: string; readonly model: string }) => {
      const ctx = contextFor(resolved, task.model)
      const segment = pathSegment(task.id)
      if (segment === undefined) {
        return Effect.fail(hardFailure(ctx, "BadRequest", `the task id ${JSON.stringify(task.id)} is not well-formed Unicode: it cannot be sent in a URL (nothing was sent)`, {
          code: "invalid_request",
          param: "id"
        }))
      }
      const request = HttpClientRequest.get(joinUrl(resolved.baseUrl, `/v1/videos/${segment}`)).pipe(
        HttpClientRequest.setHeaders(resolved.headers),
        HttpClientRequest.bearerToken(resolved.apiKey),
        HttpClientRequest.acceptJson
      )
      return send(client, request, ctx).pipe(
        Effect.flatMap((raw) =>
          decodeJson(Wire.VideoTaskBody, raw, ctx).pipe(
            Effect.flatMap((body) => interpretVideoTask(ctx, resolved, body, raw.requestId, raw.status))
          )
        ),
        guardTask(ctx),
        Effect.withSpan("OpenAICompatible.pollVideo", { captureStackTrace: false, attributes: { provider: resolved.name, model: task.model, task: task.id } })
      )
    }

    const downloadVideo = (task: VideoTask): Effect.Effect<Provider.DownloadedVideo, HardFailure> => {
      const ctx = contextFor(resolved, task.model)
      if (task.status !== "succeeded" || task.videoUrl === undefined) {
        return Effect.fail(hardFailure(ctx, "BadRequest", `video task ${task.id} has nothing to download: its status is ${task.rawStatus}`, {
          code: "video_not_ready"
        }))
      }
      const url = task.videoUrl
      // The key goes only to the provider's own content endpoint (`/v1/videos/{id}/content`),
      // never to a file host or CDN, whose URLs expire instead.
      const own = url.startsWith(joinUrl(resolved.baseUrl, "/v1/videos/"))
      const request = own
        ? HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(resolved.headers), HttpClientRequest.bearerToken(resolved.apiKey))
        : HttpClientRequest.get(url)
      return sendForBytes(client, request, ctx).pipe(
        Effect.map(({ bytes, headers }) => ({ bytes, mimeType: (headers["content-type"] ?? "video/mp4").split(";")[0]!.trim() })),
        Effect.mapError((failure) =>
          !own && (failure.status === 403 || failure.status === 404 || failure.status === 410)
            ? new HardFailure({ ...failure, reason: "NotFound", code: "url_expired", message: `the video of task ${task.id} is gone from its URL (HTTP ${failure.status}: expired?): ${failure.message}` })
            : failure
        ),
        guardFailure(ctx),
        Effect.withSpan("OpenAICompatible.downloadVideo", { captureStackTrace: false, attributes: { provider: resolved.name, model: task.model, task: task.id } })
      )
    }

    return Provider.make({ name: resolved.name, generateText, generateImage, submitVideo, pollVideo, downloadVideo })
  })

/**
 * The adapter as the `Provider` service.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Provider.Provider, Provider.InvalidProviderOptions, HttpClient.HttpClient> =>
  Layer.effect(Provider.Provider, make(options))

/**
 * Options from configuration: `<prefix>_BASE_URL` and `<prefix>_API_KEY`
 * (redacted), e.g. `OPENAI_BASE_URL` / `OPENAI_API_KEY`.
 *
 * @since 0.1.0
 */
export const config = (prefix = "OPENAI"): Config.Config<Options> =>
  Config.all({
    baseUrl: Config.string(`${prefix}_BASE_URL`).pipe(Config.withDefault("https://api.openai.com")),
    apiKey: Config.redacted(`${prefix}_API_KEY`)
  })

/**
 * The adapter as the `Provider` service, configured from `Config`.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Config<Options> = config()
): Layer.Layer<Provider.Provider, import("effect/ConfigError").ConfigError | Provider.InvalidProviderOptions, HttpClient.HttpClient> =>
  Layer.effect(Provider.Provider, Effect.flatMap(options, make))
