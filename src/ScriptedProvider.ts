/**
 * A provider whose answers are scripted, for tests that swap the real
 * provider layer out. It records every call so a test can assert what was
 * asked, and it goes through `Provider.make`, so request validators still
 * apply.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Ref } from "effect"
import { type GenerationFailure, HardFailure } from "./Failure.js"
import type { ImageRequest, ImageResult } from "./ImageGeneration.js"
import * as Provider from "./Provider.js"
import type { TextRequest, TextResult } from "./TextGeneration.js"
import type { VideoRequest, VideoTask } from "./VideoGeneration.js"

/**
 * A scripted answer: the n-th call (0-based) gets the n-th entry; calls past
 * the end repeat the last one. Or a function of the request and call number.
 *
 * @since 0.1.0
 */
export type Script<Req, A, E> =
  | ReadonlyArray<Effect.Effect<A, E>>
  | ((request: Req, call: number) => Effect.Effect<A, E>)

/**
 * What each operation answers. Operations without a script fail with
 * `HardFailure("BadRequest")` saying so.
 *
 * @since 0.1.0
 */
export interface Scripts {
  readonly name?: string
  readonly generateText?: Script<TextRequest, TextResult, GenerationFailure>
  readonly generateImage?: Script<ImageRequest, ImageResult, GenerationFailure>
  readonly submitVideo?: Script<VideoRequest, VideoTask, HardFailure>
  readonly pollVideo?: Script<{ readonly id: string; readonly model: string }, VideoTask, HardFailure>
}

/**
 * One recorded call.
 *
 * @since 0.1.0
 */
export interface Call {
  readonly operation: "generateText" | "generateImage" | "submitVideo" | "pollVideo"
  readonly model: string
  readonly request: TextRequest | ImageRequest | VideoRequest | { readonly id: string; readonly model: string }
}

/**
 * A scripted provider and the log of calls it received.
 *
 * @since 0.1.0
 */
export interface ScriptedProvider {
  readonly provider: Provider.ProviderService
  readonly calls: Effect.Effect<ReadonlyArray<Call>>
}

/**
 * Build a scripted provider.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HardFailure, TextGeneration } from "effect-ai-resilience"
 * import { ScriptedProvider } from "effect-ai-resilience/testing"
 *
 * const scripted = ScriptedProvider.make({
 *   generateText: [
 *     Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model: "m", status: 503, message: "high demand" })),
 *     Effect.succeed(TextGeneration.TextResult.make({ provider: "scripted", model: "m", content: "ok", toolCalls: [], finishReason: "stop" }))
 *   ]
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (scripts: Scripts): Effect.Effect<ScriptedProvider> =>
  Effect.gen(function*() {
    const name = scripts.name ?? "scripted"
    const log = yield* Ref.make<ReadonlyArray<Call>>([])
    const counters = yield* Ref.make<Record<string, number>>({})

    const run = <Req extends Call["request"], A, E>(
      operation: Call["operation"],
      script: Script<Req, A, E> | undefined
    ) =>
    (request: Req): Effect.Effect<A, E | HardFailure> =>
      Effect.gen(function*() {
        const call = yield* Ref.modify(counters, (c) => [c[operation] ?? 0, { ...c, [operation]: (c[operation] ?? 0) + 1 }])
        yield* Ref.update(log, (calls) => [...calls, { operation, model: request.model, request }])
        if (script === undefined) {
          return yield* Effect.fail(new HardFailure({
            reason: "BadRequest", provider: name, model: request.model, code: "unsupported_operation",
            message: `${operation} is not scripted`
          }))
        }
        if (typeof script === "function") return yield* script(request, call)
        const step = script[Math.min(call, script.length - 1)]
        if (step === undefined) {
          return yield* Effect.fail(new HardFailure({
            reason: "BadRequest", provider: name, model: request.model, code: "unsupported_operation",
            message: `${operation} has an empty script`
          }))
        }
        return yield* step
      })

    const provider = Provider.make({
      name,
      generateText: run("generateText", scripts.generateText),
      generateImage: run("generateImage", scripts.generateImage),
      submitVideo: run("submitVideo", scripts.submitVideo),
      pollVideo: run("pollVideo", scripts.pollVideo)
    })
    return { provider, calls: Ref.get(log) }
  })

/**
 * A scripted provider as the `Provider` service. Use {@link make} when the
 * test also needs the call log.
 *
 * @since 0.1.0
 */
export const layer = (scripts: Scripts): Layer.Layer<Provider.Provider> =>
  Layer.effect(Provider.Provider, Effect.map(make(scripts), (s) => s.provider))
