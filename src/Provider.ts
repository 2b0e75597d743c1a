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
import { Context, Effect, Option } from "effect"
import { type GenerationFailure, type HardFailure, SilentFailure } from "./Failure.js"
import type { ImageRequest, ImageResult } from "./ImageGeneration.js"
import * as OutputValidator from "./OutputValidator.js"
import type { TextRequest, TextResult } from "./TextGeneration.js"
import type { VideoRequest, VideoTask } from "./VideoGeneration.js"

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
 * Build a provider from its raw operations, adding the request's declarative
 * output validation to `generateText`: text output that a validator rejects
 * becomes `SilentFailure("InvalidOutput")` holding the whole output. Results
 * that are tool calls (no text) are not validated.
 *
 * @since 0.1.0
 */
export const make = (raw: ProviderService): ProviderService => ({
  ...raw,
  generateText: (request) =>
    Effect.flatMap(raw.generateText(request), (result) => {
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
})
