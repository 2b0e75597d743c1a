/**
 * A generation provider as an Effect service: normalised text, image and
 * video operations whose failures are already classified.
 *
 * Adapters (`OpenAICompatible`, `Gemini`) build a {@link ProviderService} over
 * `HttpClient`; tests swap in `ScriptedProvider`. Every provider is built with
 * {@link make}, which applies a request's declarative validators, so silent
 * failures are detected the same way whatever the wire format.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer, Option, ParseResult, Schema } from "effect"
import { dual } from "effect/Function"
import { type GenerationFailure, HardFailure, SilentFailure } from "./Failure.js"
import { ImageRequest, type ImageResult } from "./ImageGeneration.js"
import { formatParseError } from "./internal/formatError.js"
import * as OutputValidator from "./OutputValidator.js"
import { TextRequest, type TextResult } from "./TextGeneration.js"
import { VideoRequest, type VideoTask } from "./VideoGeneration.js"

/**
 * What a provider can do. Every error is a classified failure.
 *
 * @since 0.1.0
 */
export interface ProviderService {
  /** Instance name used in failures and reports, e.g. `"gemini"`. */
  readonly name: string
  readonly generateText: (request: TextRequest) => Effect.Effect<TextResult, GenerationFailure>
  readonly generateImage: (request: ImageRequest) => Effect.Effect<ImageResult, GenerationFailure>
  /** Submit an asynchronous video task. */
  readonly submitVideo: (request: VideoRequest) => Effect.Effect<VideoTask, HardFailure>
  /** Look at a video task once (no waiting; polling policy is the caller's). */
  readonly pollVideo: (task: { readonly id: string; readonly model: string }) => Effect.Effect<VideoTask, HardFailure>
  /**
   * Download a finished task's video (its URL expires: do it at once). The
   * key is sent only when the URL is the provider's own endpoint. Adapters
   * without video leave it out.
   */
  readonly downloadVideo?: ((task: VideoTask) => Effect.Effect<DownloadedVideo, HardFailure>) | undefined
}

/**
 * The bytes of a finished video.
 *
 * @since 0.1.0
 */
export interface DownloadedVideo {
  readonly bytes: Uint8Array
  /** As the server declared it (`video/mp4`). */
  readonly mimeType: string
}

/**
 * The provider in scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Provider, TextGeneration } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const provider = yield* Provider.Provider
 *   return yield* provider.generateText(TextGeneration.TextRequest.make({
 *     model: "gpt-4.1-mini",
 *     messages: [TextGeneration.Message.make({ role: "user", content: "hi" })]
 *   }))
 * })
 * ```
 *
 * @since 0.1.0
 */
export class Provider extends Context.Tag("effect-ai-resilience/Provider")<Provider, ProviderService>() {}

/**
 * The identity of a named provider's Tag: one per name, so a chain that spans
 * several providers says in its type which ones it needs.
 *
 * @since 0.1.0
 * @category tags
 */
export interface Named<Name extends string> {
  readonly ProviderName: Name
}

/**
 * A Tag for one named provider. A route of `ResilientClient` can name its
 * provider by such a Tag instead of holding it, so the chain's providers come
 * from layers: the real adapters in production, one scripted provider in
 * tests (`ScriptedProvider.layerFor`). Tags of the same name are the same Tag.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Gemini, OpenAICompatible, Provider, ResilientClient } from "effect-ai-resilience"
 *
 * const Primary = Provider.named("gemini")
 * const Fallback = Provider.named("openai")
 *
 * const Client = ResilientClient.layer({
 *   text: [
 *     { model: "gemini-2.5-flash", provider: Primary },
 *     { model: "gpt-4.1-mini", provider: Fallback }
 *   ]
 * })
 * const Providers = Layer.mergeAll(
 *   Gemini.layerConfig().pipe(Provider.as(Primary)),
 *   OpenAICompatible.layerConfig().pipe(Provider.as(Fallback))
 * )
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const named = <const Name extends string>(name: Name): Context.Tag<Named<Name>, ProviderService> =>
  Context.GenericTag<Named<Name>, ProviderService>(`effect-ai-resilience/Provider/${name}`)

/**
 * Offer the provider a layer builds (as the `Provider` service) under another
 * Tag, e.g. one made by {@link named}.
 *
 * @example
 * ```ts
 * import { OpenAICompatible, Provider } from "effect-ai-resilience"
 *
 * const Fallback = Provider.named("openai")
 * const FallbackLive = OpenAICompatible.layerConfig().pipe(Provider.as(Fallback))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const as: {
  <I>(tag: Context.Tag<I, ProviderService>): <E, R>(self: Layer.Layer<Provider, E, R>) => Layer.Layer<I, E, R>
  <E, R, I>(self: Layer.Layer<Provider, E, R>, tag: Context.Tag<I, ProviderService>): Layer.Layer<I, E, R>
} = dual(
  2,
  <E, R, I>(self: Layer.Layer<Provider, E, R>, tag: Context.Tag<I, ProviderService>): Layer.Layer<I, E, R> =>
    Layer.map(self, (context) => Context.make(tag, Context.get(context, Provider)))
)

const decodeOptions = { errors: "all", onExcessProperty: "ignore" } as const

/**
 * Check a request against its Schema before any I/O. Class instances made
 * with `X.make` are valid by construction, but structurally typed plain
 * objects are not checked by TypeScript (`maxTokens: -5`): they fail here
 * with `BadRequest` naming the field instead of reaching the wire.
 */
const checked = <A extends { readonly model: string }, I>(
  provider: string,
  schema: Schema.Schema<A, I>,
  request: A
): Effect.Effect<A, HardFailure> =>
  Either.match(Schema.decodeUnknownEither(schema, decodeOptions)(request), {
    onRight: Effect.succeed,
    onLeft: (error) => {
      const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
      const model = (request as { readonly model?: unknown }).model
      return Effect.fail(
        new HardFailure({
          reason: "BadRequest",
          provider,
          model: typeof model === "string" ? model : "unknown",
          message: `invalid request (nothing was sent):\n${formatParseError(error)}`,
          code: "invalid_request",
          ...(first === undefined || first.path.length === 0 ? {} : { param: first.path.map(String).join(".") })
        })
      )
    }
  })

const PollTarget = Schema.Struct({ id: Schema.NonEmptyTrimmedString, model: Schema.NonEmptyTrimmedString })

/**
 * Build a provider from its raw operations. It adds what every provider must
 * do the same way, whatever its wire format:
 *
 * - each request is checked against its Schema before any I/O (`BadRequest`
 *   naming the field, nothing sent);
 * - text output that one of the request's validators rejects becomes
 *   `SilentFailure("InvalidOutput")` holding the whole output. Results that are
 *   tool calls (no text) are not validated.
 *
 * @since 0.1.0
 */
export const make = (raw: ProviderService): ProviderService => ({
  ...raw,
  generateText: (request) =>
    checked(raw.name, TextRequest, request).pipe(
      Effect.flatMap(raw.generateText),
      Effect.flatMap((result) => {
        const validators = request.validate ?? []
        if (validators.length === 0 || result.content === null) return Effect.succeed(result)
        return Option.match(OutputValidator.validate(validators, result.content), {
          onNone: () => Effect.succeed(result),
          onSome: ({ problem, validator }) =>
            Effect.fail(
              new SilentFailure({
                reason: "InvalidOutput",
                provider: result.provider,
                model: result.model,
                status: 200,
                message: `output failed validator ${validator}: ${problem}`,
                validator,
                output: result.content ?? "",
                ...(result.requestId === undefined ? {} : { requestId: result.requestId })
              })
            )
        })
      })
    ),
  generateImage: (request) => Effect.flatMap(checked(raw.name, ImageRequest, request), raw.generateImage),
  submitVideo: (request) => Effect.flatMap(checked(raw.name, VideoRequest, request), raw.submitVideo),
  pollVideo: (task) => Effect.flatMap(checked(raw.name, PollTarget, task), raw.pollVideo)
})

/**
 * Options given to a provider adapter are invalid (a base URL that is not
 * http(s), a non-positive time-out or body limit, …). `field` names the option.
 *
 * @since 0.1.0
 */
export class InvalidProviderOptions extends Schema.TaggedError<InvalidProviderOptions>(
  "effect-ai-resilience/InvalidProviderOptions"
)("InvalidProviderOptions", {
  provider: Schema.String,
  field: Schema.String,
  message: Schema.String
}) {}
