/**
 * Image delivery: get the images a request asked for
 * as bytes, whatever the model accepts and however it answers.
 *
 * - **Parameters by capability** ({@link ModelCapabilities}): base64 is asked
 *   for (`response_format: "b64_json"`) only from models that take
 *   `response_format`; it is never sent to one that rejects it (GPT Image).
 *   `output_format` is sent only when the model lists the requested format.
 * - **Splitting**: `n` above the model's `maxImagesPerCall` becomes several
 *   calls (Gemini and Qwen Image: one image per call), run with bounded
 *   concurrency; the images come back in request order.
 * - **Downloads at once**: URL outputs are downloaded right after their call
 *   (bounded size, time-out, quick retries of transient errors) so expiry
 *   cannot lose them. The provider's key is never sent to the file URL.
 * - **Revised prompts** are kept on every image, delivered or not.
 * - **Cost**: price per image × images the provider returned. A failed call
 *   returns no image and costs nothing (a 503 is not billed).
 *
 * **Failure semantics** (all or nothing, nothing paid for is dropped): when a
 * call fails or one of its images cannot be downloaded, no further call is
 * started, the calls already running finish, and the whole fails with one
 * {@link ImageDeliveryFailure} that says which image failed and why (the
 * classified failure), and carries the images that were delivered, the images
 * generated but not downloaded (URL, revised prompt) and the cost so far.
 * In a fallback chain, map it with {@link toGenerationFailure}.
 *
 * @since 0.1.0
 */
import { FileSystem, HttpClient, Path } from "@effect/platform"
import { Context, Duration, Effect, Either, Layer, ParseResult, Ref, Schema } from "effect"
import { GenerationFailure, HardFailure, SilentFailure, SoftFailure } from "./Failure.js"
import { ImageRequest, type ImageResult } from "./ImageGeneration.js"
import { sniffImageType } from "./internal/adapter.js"
import { displayUrl, download, type DownloadSettings } from "./internal/imageDelivery/download.js"
import { type PlannedCall, planCalls } from "./internal/imageDelivery/plan.js"
import { conservative, ImageOutput, type ModelCapabilities } from "./ModelCapabilities.js"
import type { ProviderService } from "./Provider.js"
import { Usage } from "./Usage.js"

/**
 * Anything that generates images with classified failures: a provider
 * adapter, or a wrapper that adds retries or a breaker around one.
 *
 * @since 0.1.0
 */
export type ImageProvider = Pick<ProviderService, "name" | "generateImage">

/**
 * One image, as bytes.
 *
 * @since 0.1.0
 */
export class DeliveredImage extends Schema.Class<DeliveredImage>("effect-ai-resilience/DeliveredImage")({
  /** 0-based position in the result. */
  index: Schema.Int,
  bytes: Schema.Uint8ArrayFromSelf,
  /** Sniffed from the bytes, else as declared (`image/png`, `image/jpeg`, `image/webp`, …). */
  mimeType: Schema.String,
  /** The prompt as the provider rewrote it, if it did. */
  revisedPrompt: Schema.optional(Schema.String),
  /** How the image came back: in the body (`b64_json`) or as a URL that was downloaded. */
  source: ImageOutput,
  /** Where it was downloaded from, query string cut off (pre-signed URLs carry signatures). */
  url: Schema.optional(Schema.String),
  /** The provider's request id of the call that generated it. */
  requestId: Schema.optional(Schema.String)
}) {}

/**
 * The images of a request, in request order, and what they cost.
 *
 * @since 0.1.0
 */
export class ImageDeliveryResult extends Schema.Class<ImageDeliveryResult>("effect-ai-resilience/ImageDeliveryResult")({
  provider: Schema.String,
  model: Schema.String,
  /** Images asked for (`n`, default 1). A provider may return fewer; `images` holds what came. */
  requested: Schema.Int,
  images: Schema.NonEmptyArray(DeliveredImage),
  /** HTTP calls made to generate them (more than one when `n` was split). */
  calls: Schema.Int,
  /** `pricePerImage` × images returned; 0 when the model has no price. */
  cost: Schema.Number,
  pricePerImage: Schema.optional(Schema.Number),
  /** Token usage summed over the calls, when the provider reports it. */
  usage: Schema.optional(Usage),
  requestIds: Schema.Array(Schema.String)
}) {}

/**
 * An image the provider generated (and billed) that could not be downloaded.
 *
 * @since 0.1.0
 */
export class UndeliveredImage extends Schema.Class<UndeliveredImage>("effect-ai-resilience/UndeliveredImage")({
  /** 0-based position in the request. */
  image: Schema.Int,
  /** The full URL (it may still work if the failure was transient; it may carry a signature). */
  url: Schema.optional(Schema.String),
  revisedPrompt: Schema.optional(Schema.String),
  failure: HardFailure
}) {}

/**
 * A request whose images could not all be delivered. See the module
 * documentation for the semantics.
 *
 * @since 0.1.0
 */
export class ImageDeliveryFailure extends Schema.TaggedError<ImageDeliveryFailure>("effect-ai-resilience/ImageDeliveryFailure")(
  "ImageDeliveryFailure",
  {
    message: Schema.String,
    provider: Schema.String,
    model: Schema.String,
    /** 0-based position in the request of the first image that failed. */
    image: Schema.Int,
    /** 0-based call that failed, and how many calls the request needed. */
    call: Schema.Int,
    calls: Schema.Int,
    /** Whether the generation call failed or the download of its output. */
    stage: Schema.Literal("generate", "download"),
    /** The classified failure of that image (retry and fallback decide on it). */
    failure: GenerationFailure,
    /** Images delivered before the failure: paid for, never dropped. */
    delivered: Schema.Array(DeliveredImage),
    /** Images generated but not downloaded, with their URL and revised prompt. */
    undelivered: Schema.Array(UndeliveredImage),
    /** Calls not started because of the failure. */
    notStarted: Schema.Int,
    /** What the calls that returned images cost (a failed call costs nothing). */
    cost: Schema.Number
  }
) {}

/**
 * Invalid {@link ImageDeliveryOptions}; `field` names the option.
 *
 * @since 0.1.0
 */
export class InvalidImageDeliveryOptions extends Schema.TaggedError<InvalidImageDeliveryOptions>(
  "effect-ai-resilience/InvalidImageDeliveryOptions"
)("InvalidImageDeliveryOptions", { field: Schema.String, message: Schema.String }) {}

/**
 * Options of {@link make}.
 *
 * | option | default | why |
 * |---|---|---|
 * | `concurrency` | 4 | calls of one split request at once (like `LoadControl`'s bulkhead) |
 * | `maxImageBytes` | 64 MiB | bounds a download, like the adapters' body limit |
 * | `downloadTimeout` | 60 s | one download; a generated file is served at once |
 * | `downloadRetries` | 2 | transient download errors, 0.5 s then 1 s apart; an expired URL is not retried |
 *
 * @since 0.1.0
 */
export interface ImageDeliveryOptions {
  readonly concurrency?: number | undefined
  readonly maxImageBytes?: number | undefined
  readonly downloadTimeout?: Duration.DurationInput | undefined
  readonly downloadRetries?: number | undefined
}

/**
 * Image delivery bound to an `HttpClient` (for downloads).
 *
 * @since 0.1.0
 */
export interface ImageDeliveryService {
  /**
   * Generate `request` on one model with the given capabilities (default:
   * {@link ModelCapabilities.conservative}), splitting and downloading as needed.
   */
  readonly generate: (
    provider: ImageProvider,
    request: ImageRequest,
    capabilities?: ModelCapabilities
  ) => Effect.Effect<ImageDeliveryResult, ImageDeliveryFailure>
  /**
   * Normalise a result obtained elsewhere (e.g. `ResilientClient.generateImage`)
   * to bytes, downloading its URLs now. `pricePerImage` prices it.
   */
  readonly deliver: (
    result: ImageResult,
    pricing?: { readonly pricePerImage?: number | undefined }
  ) => Effect.Effect<ImageDeliveryResult, ImageDeliveryFailure>
}

/**
 * Image delivery as a service.
 *
 * @since 0.1.0
 */
export class ImageDelivery extends Context.Tag("effect-ai-resilience/ImageDelivery")<ImageDelivery, ImageDeliveryService>() {}

interface Settings {
  readonly concurrency: number
  readonly download: DownloadSettings
}

const resolveOptions = (options: ImageDeliveryOptions): Either.Either<Settings, InvalidImageDeliveryOptions> => {
  const invalid = (field: string, message: string) => Either.left(new InvalidImageDeliveryOptions({ field, message: `${field} ${message}` }))
  const concurrency = options.concurrency ?? 4
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) return invalid("concurrency", `must be a positive integer, got ${concurrency}`)
  const maxBytes = options.maxImageBytes ?? 64 * 1024 * 1024
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) return invalid("maxImageBytes", `must be a positive integer, got ${maxBytes}`)
  const retries = options.downloadRetries ?? 2
  if (!Number.isSafeInteger(retries) || retries < 0) return invalid("downloadRetries", `must be a non-negative integer, got ${retries}`)
  let timeout: Duration.Duration
  try {
    timeout = Duration.decode(options.downloadTimeout ?? Duration.seconds(60))
  } catch {
    return invalid("downloadTimeout", `is not a duration: ${JSON.stringify(options.downloadTimeout)}`)
  }
  if (!Duration.isFinite(timeout) || Duration.toMillis(timeout) <= 0) return invalid("downloadTimeout", "must be a positive, finite duration")
  return Either.right({ concurrency, download: { maxBytes, timeout, retries } })
}

/** Which images of the request a call is for. */
type Slot = Omit<PlannedCall, "request">

/** What one planned call came to. */
type CallOutcome =
  | { readonly _tag: "NotStarted"; readonly planned: Slot }
  | { readonly _tag: "Failed"; readonly planned: Slot; readonly failure: GenerationFailure }
  | {
    readonly _tag: "Served"
    readonly planned: Slot
    readonly result: ImageResult
    readonly delivered: ReadonlyArray<Omit<DeliveredImage, "index">>
    readonly undelivered: ReadonlyArray<UndeliveredImage>
  }

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`

const imagesLabel = (planned: Slot, total: number) =>
  planned.count === 1 ? `image ${planned.firstImage + 1} of ${total}` : `images ${planned.firstImage + 1}–${planned.firstImage + planned.count} of ${total}`

const sumUsage = (usages: ReadonlyArray<Usage | undefined>): Usage | undefined => {
  const present = usages.filter((u): u is Usage => u !== undefined)
  if (present.length === 0) return undefined
  const sum = (key: "promptTokens" | "completionTokens" | "totalTokens") => {
    const values = present.flatMap((u) => (u[key] === undefined ? [] : [u[key]]))
    return values.length === 0 ? {} : { [key]: values.reduce((a, b) => a + b, 0) }
  }
  return Usage.make({ ...sum("promptTokens"), ...sum("completionTokens"), ...sum("totalTokens") })
}

const invalidRequest = (provider: string, request: ImageRequest, error: ParseResult.ParseError) => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const model = typeof (request as { readonly model?: unknown }).model === "string" ? request.model : "unknown"
  const failure = new HardFailure({
    reason: "BadRequest",
    provider,
    model,
    message: `invalid image request (nothing was sent): ${first === undefined ? "invalid" : `${first.path.join(".")}: ${first.message}`}`,
    code: "invalid_request",
    ...(first === undefined || first.path.length === 0 ? {} : { param: first.path.map(String).join(".") })
  })
  return new ImageDeliveryFailure({
    message: failure.message,
    provider,
    model,
    image: 0,
    call: 0,
    calls: 0,
    stage: "generate",
    failure,
    delivered: [],
    undelivered: [],
    notStarted: 0,
    cost: 0
  })
}

/**
 * Build image delivery over the `HttpClient` in context (used for downloads).
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { ImageDelivery, ImageGeneration, ModelCapabilities, Provider } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const provider = yield* Provider.Provider
 *   const delivery = yield* ImageDelivery.make({ concurrency: 2 })
 *   const result = yield* delivery.generate(
 *     provider,
 *     ImageGeneration.ImageRequest.make({ model: "gemini-2.5-flash-image", prompt: "A red kite", n: 3 }),
 *     new ModelCapabilities.ModelCapabilities({ maxImagesPerCall: 1, defaultOutput: "b64_json", pricePerImage: 0.039 })
 *   )
 *   console.log(`${result.images.length} images in ${result.calls} calls, $${result.cost}`)
 * }).pipe(Effect.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: ImageDeliveryOptions = {}
): Effect.Effect<ImageDeliveryService, InvalidImageDeliveryOptions, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const settings = yield* resolveOptions(options)
    const client = yield* HttpClient.HttpClient

    /** Bytes for one image of a served call: as sent, or downloaded now. */
    const deliverImage = (result: ImageResult, position: number, total: number) =>
    (image: ImageResult["images"][number]): Effect.Effect<Either.Either<Omit<DeliveredImage, "index">, UndeliveredImage>> => {
      const common = {
        ...(image.revisedPrompt === undefined ? {} : { revisedPrompt: image.revisedPrompt }),
        ...(result.requestId === undefined ? {} : { requestId: result.requestId })
      }
      if (image.bytes !== undefined) {
        return Effect.succeed(Either.right({
          bytes: image.bytes,
          mimeType: sniffImageType(image.bytes) ?? image.mimeType ?? "application/octet-stream",
          source: "b64_json" as const,
          ...common
        }))
      }
      const label = `image ${position + 1} of ${total}`
      if (image.url === undefined) {
        return Effect.succeed(Either.left(UndeliveredImage.make({
          image: position,
          ...(image.revisedPrompt === undefined ? {} : { revisedPrompt: image.revisedPrompt }),
          failure: new HardFailure({
            reason: "ServerError",
            provider: result.provider,
            model: result.model,
            status: 200,
            message: `${label}: the provider returned neither bytes nor a URL`,
            code: "unexpected_response"
          })
        })))
      }
      const url = image.url
      return download(client, url, { provider: result.provider, model: result.model, label }, settings.download).pipe(
        Effect.map(({ bytes, mimeType }) => ({ bytes, mimeType, source: "url" as const, url: displayUrl(url), ...common })),
        Effect.mapError((failure) =>
          UndeliveredImage.make({
            image: position,
            url,
            ...(image.revisedPrompt === undefined ? {} : { revisedPrompt: image.revisedPrompt }),
            failure
          })
        ),
        Effect.either
      )
    }

    const serve = (planned: Slot, result: ImageResult, total: number) =>
      Effect.forEach(result.images, (image, i) => deliverImage(result, planned.firstImage + i, total)(image), {
        concurrency: settings.concurrency
      }).pipe(
        Effect.map((items): CallOutcome => ({
          _tag: "Served",
          planned,
          result,
          delivered: items.flatMap((item) => (Either.isRight(item) ? [item.right] : [])),
          undelivered: items.flatMap((item) => (Either.isLeft(item) ? [item.left] : []))
        }))
      )

    /** Turn the outcomes of every call into the result or the one failure. */
    const assemble = (
      provider: string,
      model: string,
      requested: number,
      outcomes: ReadonlyArray<CallOutcome>,
      pricePerImage: number | undefined
    ): Effect.Effect<ImageDeliveryResult, ImageDeliveryFailure> => {
      const served = outcomes.flatMap((o) => (o._tag === "Served" ? [o] : []))
      const generated = served.reduce((n, o) => n + o.result.images.length, 0)
      const cost = pricePerImage === undefined ? 0 : pricePerImage * generated
      const images = served.flatMap((o) => o.delivered).map((image, index) => DeliveredImage.make({ ...image, index }))
      const undelivered = served.flatMap((o) => o.undelivered)
      const notStarted = outcomes.filter((o) => o._tag === "NotStarted").length
      const failed = outcomes.find((o) => o._tag === "Failed" || (o._tag === "Served" && o.undelivered.length > 0))
      const [first, ...rest] = images
      if (failed === undefined && first !== undefined) {
        const usage = sumUsage(served.map((o) => o.result.usage))
        return Effect.succeed(ImageDeliveryResult.make({
          provider,
          model,
          requested,
          images: [first, ...rest],
          calls: outcomes.length,
          cost,
          ...(pricePerImage === undefined ? {} : { pricePerImage }),
          ...(usage === undefined ? {} : { usage }),
          requestIds: served.flatMap((o) => (o.result.requestId === undefined ? [] : [o.result.requestId]))
        }))
      }
      const calls = outcomes.length
      const failedCalls = outcomes.filter((o) => o._tag === "Failed").length
      const summary = `${plural(images.length, "image")} delivered, ${plural(undelivered.length, "image")} not downloaded, ${
        plural(failedCalls, "call")
      } failed, ${plural(notStarted, "call")} not started`
      if (failed === undefined || failed._tag === "NotStarted") {
        // every call served, yet no image at all (a provider returned none)
        const failure = new SoftFailure({
          reason: "EmptyOutput",
          provider,
          model,
          status: 200,
          message: "no image was returned (the prompt may have been filtered)"
        })
        return Effect.fail(new ImageDeliveryFailure({
          message: `${failure.message}; ${summary}`,
          provider, model, image: 0, call: 0, calls, stage: "generate", failure,
          delivered: [], undelivered, notStarted, cost
        }))
      }
      if (failed._tag === "Failed") {
        const f = failed.failure
        const where = `${imagesLabel(failed.planned, requested)}${calls > 1 ? ` (call ${failed.planned.call + 1} of ${calls})` : ""}`
        return Effect.fail(new ImageDeliveryFailure({
          message: `${where} failed: ${f._tag} ${f.reason}${f.status === undefined ? "" : ` (HTTP ${f.status})`}: ${f.message}; ${summary}`,
          provider,
          model,
          image: failed.planned.firstImage,
          call: failed.planned.call,
          calls,
          stage: "generate",
          failure: f,
          delivered: images,
          undelivered,
          notStarted,
          cost
        }))
      }
      const lost = failed.undelivered[0]!
      return Effect.fail(new ImageDeliveryFailure({
        message: `${lost.failure.message}; ${summary}`,
        provider,
        model,
        image: lost.image,
        call: failed.planned.call,
        calls,
        stage: "download",
        failure: lost.failure,
        delivered: images,
        undelivered,
        notStarted,
        cost
      }))
    }

    const generate = (
      provider: ImageProvider,
      request: ImageRequest,
      capabilities: ModelCapabilities = conservative
    ): Effect.Effect<ImageDeliveryResult, ImageDeliveryFailure> =>
      Effect.gen(function*() {
        // plain objects typed as ImageRequest are not checked by TypeScript (n: 50)
        const valid = Schema.decodeUnknownEither(ImageRequest)(request, { errors: "all", onExcessProperty: "ignore" })
        if (Either.isLeft(valid)) return yield* invalidRequest(provider.name, request, valid.left)
        const requested = valid.right.n ?? 1
        const plan = planCalls(valid.right, capabilities)
        const stopped = yield* Ref.make(false)
        const runCall = (planned: PlannedCall): Effect.Effect<CallOutcome> =>
          Effect.flatMap(Ref.get(stopped), (stop) =>
            stop
              ? Effect.succeed<CallOutcome>({ _tag: "NotStarted", planned })
              : provider.generateImage(planned.request).pipe(
                Effect.matchEffect({
                  onFailure: (failure) => Effect.succeed<CallOutcome>({ _tag: "Failed", planned, failure }),
                  onSuccess: (result) => serve(planned, result, requested)
                }),
                Effect.tap((outcome) =>
                  outcome._tag === "Failed" || (outcome._tag === "Served" && outcome.undelivered.length > 0)
                    ? Ref.set(stopped, true)
                    : Effect.void
                )
              ))
        const outcomes = yield* Effect.forEach(plan, runCall, { concurrency: settings.concurrency })
        return yield* assemble(provider.name, request.model, requested, outcomes, capabilities.pricePerImage)
      }).pipe(
        Effect.withSpan("ImageDelivery.generate", {
          attributes: { provider: provider.name, model: request.model, n: request.n ?? 1, maxImagesPerCall: capabilities.maxImagesPerCall }
        })
      )

    const deliver = (
      result: ImageResult,
      pricing: { readonly pricePerImage?: number | undefined } = {}
    ): Effect.Effect<ImageDeliveryResult, ImageDeliveryFailure> => {
      const planned: Slot = { call: 0, firstImage: 0, count: result.images.length }
      return serve(planned, result, result.images.length).pipe(
        Effect.flatMap((outcome) => assemble(result.provider, result.model, result.images.length, [outcome], pricing.pricePerImage)),
        Effect.withSpan("ImageDelivery.deliver", { attributes: { provider: result.provider, model: result.model } })
      )
    }

    return { generate, deliver }
  })

/**
 * Image delivery as a layer.
 *
 * @since 0.1.0
 */
export const layer = (
  options: ImageDeliveryOptions = {}
): Layer.Layer<ImageDelivery, InvalidImageDeliveryOptions, HttpClient.HttpClient> => Layer.effect(ImageDelivery, make(options))

/**
 * Generate and deliver in one step (builds the service with `options`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ImageDelivery, ImageGeneration, ModelCapabilities, Provider } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const provider = yield* Provider.Provider
 *   const result = yield* ImageDelivery.generate(
 *     provider,
 *     ImageGeneration.ImageRequest.make({ model: "gpt-image-1.5", prompt: "A red kite", n: 2, outputFormat: "webp" }),
 *     new ModelCapabilities.ModelCapabilities({ maxImagesPerCall: 10, outputFormats: ["png", "jpeg", "webp"], pricePerImage: 0.04 })
 *   )
 *   return result.images.map((image) => image.bytes)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const generate = (
  provider: ImageProvider,
  request: ImageRequest,
  capabilities?: ModelCapabilities,
  options?: ImageDeliveryOptions
): Effect.Effect<ImageDeliveryResult, ImageDeliveryFailure | InvalidImageDeliveryOptions, HttpClient.HttpClient> =>
  Effect.flatMap(make(options), (delivery) => delivery.generate(provider, request, capabilities))

/**
 * The classified failure of an {@link ImageDeliveryFailure}, its message
 * saying which image failed: for a fallback chain, whose retry and fallback
 * decisions need a `GenerationFailure` (the images already delivered are
 * dropped: keep the `ImageDeliveryFailure` if you need them).
 *
 * @since 0.1.0
 */
export const toGenerationFailure = (error: ImageDeliveryFailure): GenerationFailure => {
  const f = error.failure
  const message = error.stage === "download" || error.calls === 0
    ? f.message
    : `image ${error.image + 1}${error.calls > 1 ? ` (call ${error.call + 1} of ${error.calls})` : ""}: ${f.message}`
  switch (f._tag) {
    case "HardFailure":
      return new HardFailure({ ...fieldsOf(HardFailure.fields, f), message })
    case "SoftFailure":
      return new SoftFailure({ ...fieldsOf(SoftFailure.fields, f), message })
    case "SilentFailure":
      return new SilentFailure({ ...fieldsOf(SilentFailure.fields, f), message })
  }
}

const fieldsOf = <F extends Record<string, unknown>, A extends object>(fields: F, value: A): Omit<A, "_tag"> =>
  Object.fromEntries(
    Object.keys(fields)
      .filter((key) => key !== "_tag" && (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => [key, (value as Record<string, unknown>)[key]])
  ) as Omit<A, "_tag">

/**
 * An image written to disk by {@link saveTo}.
 *
 * @since 0.1.0
 */
export class SavedImage extends Schema.Class<SavedImage>("effect-ai-resilience/SavedImage")({
  index: Schema.Int,
  path: Schema.String,
  mimeType: Schema.String,
  size: Schema.Int,
  revisedPrompt: Schema.optional(Schema.String)
}) {}

/**
 * Writing images to disk failed; `path` is the file or directory.
 *
 * @since 0.1.0
 */
export class ImageSaveFailed extends Schema.TaggedError<ImageSaveFailed>("effect-ai-resilience/ImageSaveFailed")(
  "ImageSaveFailed",
  { path: Schema.String, message: Schema.String }
) {}

const EXTENSIONS: Readonly<Record<string, string>> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif"
}

/**
 * Write the images of a result to `directory` (created if missing) as
 * `<prefix>-<n>.<ext>` (n from 1, extension from the MIME type). `prefix`
 * defaults to the model id; existing files of the same name are overwritten,
 * so give each request of a batch its own prefix.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { ImageDelivery } from "effect-ai-resilience"
 *
 * declare const result: ImageDelivery.ImageDeliveryResult
 * const saved = ImageDelivery.saveTo("out", { prefix: "kite" })(result).pipe(Effect.provide(NodeContext.layer))
 * // out/kite-1.png, out/kite-2.png
 * ```
 *
 * @since 0.1.0
 */
export const saveTo = (directory: string, options: { readonly prefix?: string | undefined } = {}) =>
(
  result: ImageDeliveryResult
): Effect.Effect<ReadonlyArray<SavedImage>, ImageSaveFailed, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const prefix = options.prefix ?? result.model.replace(/[^A-Za-z0-9._-]+/g, "_")
    if (prefix.length === 0 || /[/\\]/.test(prefix) || prefix === "." || prefix === "..") {
      return yield* new ImageSaveFailed({ path: directory, message: `prefix ${JSON.stringify(prefix)} must be a plain file-name prefix` })
    }
    yield* fs.makeDirectory(directory, { recursive: true }).pipe(
      Effect.mapError((e) => new ImageSaveFailed({ path: directory, message: `cannot create ${directory}: ${e.message}` }))
    )
    return yield* Effect.forEach(result.images, (image) => {
      const file = path.join(directory, `${prefix}-${image.index + 1}.${EXTENSIONS[image.mimeType] ?? "bin"}`)
      return fs.writeFile(file, image.bytes).pipe(
        Effect.mapError((e) => new ImageSaveFailed({ path: file, message: `cannot write ${file}: ${e.message}` })),
        Effect.as(SavedImage.make({
          index: image.index,
          path: file,
          mimeType: image.mimeType,
          size: image.bytes.byteLength,
          ...(image.revisedPrompt === undefined ? {} : { revisedPrompt: image.revisedPrompt })
        }))
      )
    })
  })
