/**
 * What the HTTP adapters share: options with their defaults and validation,
 * and turning options into a per-call context.
 *
 * @internal
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Array as Arr, Duration, Effect, Either, Option, Redacted } from "effect"
import { scrubSecrets } from "../Classification.js"
import { type GenerationFailure, HardFailure, SilentFailure, SoftFailure } from "../Failure.js"
import { GeneratedImage, ImageResult } from "../ImageGeneration.js"
import { InvalidProviderOptions } from "../Provider.js"
import { TextResult, ToolCall } from "../TextGeneration.js"
import { VideoTask } from "../VideoGeneration.js"
import type { CallContext } from "./http.js"
import { holdsSecret, redactSecrets } from "./secrets.js"

/**
 * Build a result class from values already decoded from the wire (or checked
 * otherwise) without validating them again: a Schema class constructor's own
 * check costs tens of microseconds, more than the rest of a call's decoding.
 *
 * @internal
 */
export const trusted = <Fields, C>(Class: new(fields: Fields, disableValidation: true) => C, fields: Fields): C =>
  new Class(fields, true)

/** The usual read time-out for image generation (a degraded call takes 60–100+ s). @internal */
export const DEFAULT_TIMEOUT = Duration.seconds(180)
/** Large enough for several base64 images; bounded so a runaway body cannot exhaust memory. @internal */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

/** The options every HTTP adapter takes. @internal */
export interface HttpAdapterOptions {
  readonly name?: string | undefined
  readonly baseUrl?: string | undefined
  readonly apiKey: Redacted.Redacted
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxResponseBytes?: number | undefined
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted>> | undefined
  readonly propagateTracing?: boolean | undefined
}

/** @internal */
export interface ResolvedOptions {
  readonly name: string
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted
  readonly timeout: Duration.Duration
  readonly maxResponseBytes: number
  /** Header values to send (secret ones unwrapped only here). */
  readonly headers: Readonly<Record<string, string>>
  /** The key and every `Redacted` header value: scrubbed from failures. */
  readonly secrets: ReadonlyArray<Redacted.Redacted>
  /** Names of headers whose values are secret: redacted in spans. */
  readonly secretHeaders: ReadonlyArray<string>
  /** Send `traceparent` / `b3` to the provider. */
  readonly propagateTracing: boolean
}

/**
 * Validate and complete adapter options.
 *
 * @internal
 */
export const resolve = (
  defaults: { readonly name: string; readonly baseUrl?: string },
  options: HttpAdapterOptions
): Either.Either<ResolvedOptions, InvalidProviderOptions> => {
  const name = options.name ?? defaults.name
  const invalid = (field: string, message: string) =>
    Either.left(new InvalidProviderOptions({ provider: name, field, message }))
  if (name.trim().length === 0) return invalid("name", "must not be empty")
  const baseUrl = options.baseUrl ?? defaults.baseUrl
  if (baseUrl === undefined) return invalid("baseUrl", "is required")
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return invalid("baseUrl", `is not a URL: ${JSON.stringify(baseUrl)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return invalid("baseUrl", `must be http(s), got ${url.protocol}`)
  const key = Redacted.value(options.apiKey)
  if (typeof key !== "string" || key.trim().length === 0) return invalid("apiKey", "must not be empty")
  let timeout: Duration.Duration
  try {
    timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
  } catch {
    return invalid("timeout", `is not a duration: ${JSON.stringify(options.timeout)}`)
  }
  if (!Duration.isFinite(timeout) || Duration.toMillis(timeout) <= 0) return invalid("timeout", "must be a positive, finite duration")
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0) {
    return invalid("maxResponseBytes", `must be a positive integer, got ${maxResponseBytes}`)
  }
  const propagateTracing = options.propagateTracing ?? false
  if (typeof propagateTracing !== "boolean") return invalid("propagateTracing", `must be true or false, got ${JSON.stringify(propagateTracing)}`)
  const headers: Record<string, string> = {}
  const secrets: Array<Redacted.Redacted> = [options.apiKey]
  const secretHeaders: Array<string> = []
  for (const [header, value] of Object.entries(options.headers ?? {})) {
    if (Redacted.isRedacted(value)) {
      headers[header] = String(Redacted.value(value))
      secrets.push(value)
      secretHeaders.push(header.toLowerCase())
    } else {
      headers[header] = value
    }
  }
  return Either.right({ name, baseUrl, apiKey: options.apiKey, timeout, maxResponseBytes, headers, secrets, secretHeaders, propagateTracing })
}

/**
 * The client an adapter sends with: the one in context, told
 *
 * - whether to put the caller's trace context (`traceparent`, `b3`) on
 *   requests: a provider is a third party, and trace ids say which requests
 *   belong together and where they came from, so they go only when asked
 *   for (spans are still recorded locally either way);
 * - never to follow a redirect. Undici's and Node's clients do not; `fetch`
 *   does unless told otherwise, and would send the request (and
 *   `x-goog-api-key`, which `fetch` does not strip across origins) wherever a
 *   `Location` points. A 3xx comes back as it is and is classified.
 *
 * @internal
 */
export const providerClient = (client: HttpClient.HttpClient, options: ResolvedOptions): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.transformResponse((response) =>
      Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
        Effect.provideService(response, FetchHttpClient.RequestInit, { ...Option.getOrElse(init, () => ({})), redirect: "manual" }))
    ),
    HttpClient.withTracerPropagation(options.propagateTracing)
  )

/** @internal */
export const contextFor = (options: ResolvedOptions, model: string): CallContext => ({
  provider: options.name,
  model,
  secrets: options.secrets,
  timeout: options.timeout,
  maxResponseBytes: options.maxResponseBytes,
  secretHeaders: options.secretHeaders
})

/** Sniff an image's type from its first bytes. @internal */
export const sniffImageType = (bytes: Uint8Array): string | undefined => {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png"
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg"
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46 && bytes[8] === 0x57) return "image/webp"
  return undefined
}

/** Decode standard or URL-safe base64; `undefined` when it is not base64. @internal */
export const decodeBase64 = (b64: string): Uint8Array | undefined => {
  const clean = b64.replace(/\s+/g, "")
  if (clean.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(clean)) return undefined
  return new Uint8Array(Buffer.from(clean, clean.includes("-") || clean.includes("_") ? "base64url" : "base64"))
}

/** Every text field a failure can carry (`message` is not enumerable on an error: each is named). */
const FAILURE_TEXT = ["provider", "model", "message", "param", "code", "requestId", "rawBody", "taskId", "taskStatus", "finishReason", "output", "validator"] as const

/**
 * A failure with every text field scrubbed of `secrets` (the same failure
 * when none held a piece of one). The last step of every adapter operation:
 * whatever path built the failure (a classified response, a decoding error
 * quoting the body, a soft failure quoting the output, a request id from the
 * headers), nothing of a key leaves the adapter.
 *
 * @internal
 */
export const scrubFailure = <F extends GenerationFailure>(failure: F, secrets: ReadonlyArray<Redacted.Redacted>): F => {
  const fields: Record<string, unknown> = {}
  let changed = false
  const source = failure as unknown as Readonly<Record<string, unknown>>
  for (const name of FAILURE_TEXT) {
    const value = source[name]
    if (typeof value !== "string") continue
    const clean = scrubSecrets(value, secrets)
    if (clean !== value) {
      changed = true
      fields[name] = clean
    }
  }
  if (!changed) return failure
  // the class's own constructor: a new error, so its stack is built from the scrubbed message
  const props = { ...failure, message: failure.message, ...fields }
  switch (failure._tag) {
    case "HardFailure":
      return new HardFailure(props as unknown as ConstructorParameters<typeof HardFailure>[0], true) as F
    case "SoftFailure":
      return new SoftFailure(props as unknown as ConstructorParameters<typeof SoftFailure>[0], true) as F
    case "SilentFailure":
      return new SilentFailure(props as unknown as ConstructorParameters<typeof SilentFailure>[0], true) as F
  }
}

/**
 * Text the model or the provider wrote, scrubbed of the keys only. Model
 * output is not searched for key shapes (`sk-…`): an answer may talk about
 * them; what is removed is a piece of a key this adapter sent.
 */
const clean = <S extends string | undefined | null>(text: S, secrets: ReadonlyArray<Redacted.Redacted>): S =>
  (typeof text === "string" ? redactSecrets(text, secrets) : text) as S

const scrubText = (result: TextResult, secrets: ReadonlyArray<Redacted.Redacted>): TextResult => {
  const toolCalls = result.toolCalls.map((call) => {
    const fields = { id: clean(call.id, secrets), name: clean(call.name, secrets), arguments: clean(call.arguments, secrets) }
    return fields.id === call.id && fields.name === call.name && fields.arguments === call.arguments ? call : trusted(ToolCall, fields)
  })
  const fields = {
    provider: result.provider,
    model: clean(result.model, secrets),
    content: clean(result.content, secrets),
    toolCalls,
    finishReason: clean(result.finishReason, secrets),
    ...(result.usage === undefined ? {} : { usage: result.usage }),
    ...(result.requestId === undefined ? {} : { requestId: clean(result.requestId, secrets) })
  }
  return fields.model === result.model && fields.content === result.content && fields.finishReason === result.finishReason &&
      fields.requestId === result.requestId && toolCalls.every((c, i) => c === result.toolCalls[i])
    ? result
    : trusted(TextResult, fields)
}

/**
 * A URL or an id that must be used as it is (fetched, polled) cannot be
 * scrubbed: one that carries a piece of the key is refused, quoting nothing of
 * it. The adapters check where they read such values, with the response's
 * status at hand.
 *
 * @internal
 */
export const refuseSecret = (
  ctx: CallContext,
  what: string,
  value: string,
  response: { readonly status: number; readonly requestId: string | undefined }
): HardFailure | undefined =>
  holdsSecret(value, ctx.secrets)
    ? new HardFailure({
      reason: "ServerError",
      provider: ctx.provider,
      model: ctx.model,
      status: response.status,
      message: `the provider's ${what} carries a piece of the API key: it is not used`,
      code: "unexpected_response",
      ...(response.requestId === undefined ? {} : { requestId: response.requestId })
    })
    : undefined

const scrubImage = (ctx: CallContext, result: ImageResult): Effect.Effect<ImageResult, HardFailure> => {
  const secrets = ctx.secrets
  const model = clean(result.model, secrets)
  const requestId = clean(result.requestId, secrets)
  const images = Arr.map(result.images, (image) => {
    const revisedPrompt = clean(image.revisedPrompt, secrets)
    const mimeType = clean(image.mimeType, secrets)
    return revisedPrompt === image.revisedPrompt && mimeType === image.mimeType
      ? image
      : trusted(GeneratedImage, { ...image, ...(revisedPrompt === undefined ? {} : { revisedPrompt }), ...(mimeType === undefined ? {} : { mimeType }) })
  })
  return Effect.succeed(
    model === result.model && requestId === result.requestId && images.every((image, i) => image === result.images[i])
      ? result
      : trusted(ImageResult, { ...result, model, images, ...(requestId === undefined ? {} : { requestId }) })
  )
}

const scrubTask = (ctx: CallContext, task: VideoTask): Effect.Effect<VideoTask, HardFailure> => {
  // the id and the URL are checked by the adapter (`refuseSecret`): they cannot be altered
  const error = task.error === undefined
    ? undefined
    : { message: scrubSecrets(task.error.message, ctx.secrets), ...(task.error.code === undefined ? {} : { code: scrubSecrets(task.error.code, ctx.secrets) }) }
  const requestId = task.requestId === undefined ? undefined : scrubSecrets(task.requestId, ctx.secrets)
  return Effect.succeed(
    error?.message === task.error?.message && error?.code === task.error?.code && requestId === task.requestId
      ? task
      : trusted(VideoTask, { ...task, ...(error === undefined ? {} : { error }), ...(requestId === undefined ? {} : { requestId }) })
  )
}

/**
 * The last step of an adapter operation: its failure and its result scrubbed
 * of the call's secrets.
 *
 * @internal
 */
export const guardText = <E extends GenerationFailure>(ctx: CallContext) => (effect: Effect.Effect<TextResult, E>): Effect.Effect<TextResult, E> =>
  effect.pipe(Effect.map((result) => scrubText(result, ctx.secrets)), Effect.mapError((failure) => scrubFailure(failure, ctx.secrets)))

/** @internal */
export const guardImage = <E extends GenerationFailure>(ctx: CallContext) => (effect: Effect.Effect<ImageResult, E>): Effect.Effect<ImageResult, E | HardFailure> =>
  effect.pipe(Effect.flatMap((result) => scrubImage(ctx, result)), Effect.mapError((failure) => scrubFailure(failure, ctx.secrets)))

/** @internal */
export const guardTask = (ctx: CallContext) => (effect: Effect.Effect<VideoTask, HardFailure>): Effect.Effect<VideoTask, HardFailure> =>
  effect.pipe(Effect.flatMap((task) => scrubTask(ctx, task)), Effect.mapError((failure) => scrubFailure(failure, ctx.secrets)))

/** @internal */
export const guardFailure = (ctx: CallContext) => <A>(effect: Effect.Effect<A, HardFailure>): Effect.Effect<A, HardFailure> =>
  Effect.mapError(effect, (failure) => scrubFailure(failure, ctx.secrets))
