/**
 * A provider whose answers are scripted, for tests that swap the real
 * provider layer out. It records every call so a test can assert what was
 * asked, and it goes through `Provider.make`, so request validators still
 * apply.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Ref } from "effect"
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
  readonly name?: string | undefined
  readonly generateText?: Script<TextRequest, TextResult, GenerationFailure> | undefined
  readonly generateImage?: Script<ImageRequest, ImageResult, GenerationFailure> | undefined
  readonly submitVideo?: Script<VideoRequest, VideoTask, HardFailure> | undefined
  readonly pollVideo?: Script<{ readonly id: string; readonly model: string }, VideoTask, HardFailure> | undefined
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

/**
 * One scripted provider standing in for every provider of a chain: it is
 * offered under each Tag the routes name (`Provider.named(…)`), so a test
 * swaps a chain that spans several providers in one line. Give it a built
 * {@link ScriptedProvider} to read its call log afterwards (each call records
 * the model, so the log shows which route was taken), or the scripts alone.
 * A script that is a function sees the request's model and can answer per
 * route.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HardFailure, Provider } from "effect-ai-resilience"
 * import { ScriptedProvider } from "effect-ai-resilience/testing"
 *
 * const Primary = Provider.named("gemini")
 * const Fallback = Provider.named("openai")
 *
 * const ProvidersTest = ScriptedProvider.layerFor([Primary, Fallback], {
 *   generateText: (request) =>
 *     request.model === "gemini-2.5-flash"
 *       ? Effect.fail(new HardFailure({ reason: "Overloaded", provider: "scripted", model: request.model, status: 503, message: "high demand" }))
 *       : Effect.die("scripted answer for the fallback goes here")
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFor = <const Tags extends ReadonlyArray<ProviderTag>>(
  tags: Tags,
  scripted: ScriptedProvider | Scripts
): Layer.Layer<TagIdentifiers<Tags>> =>
  Layer.effectContext(
    Effect.map(
      isBuilt(scripted) ? Effect.succeed(scripted) : make(scripted),
      (s) =>
        tags.reduce<Context.Context<TagIdentifiers<Tags>>>(
          (context, tag) => Context.add(context, tag as Context.Tag<TagIdentifiers<Tags>, Provider.ProviderService>, s.provider),
          Context.empty() as Context.Context<TagIdentifiers<Tags>>
        )
    )
  )

/**
 * A Tag of a provider: `Provider.Provider` or one made by `Provider.named`.
 * (Written as the effect a Tag is, because Tags of different identities do not
 * share a supertype.)
 *
 * @since 0.1.0
 */
export type ProviderTag = Effect.Effect<Provider.ProviderService, never, unknown> & { readonly key: string }

const isBuilt = (scripted: ScriptedProvider | Scripts): scripted is ScriptedProvider => "provider" in scripted && "calls" in scripted

/**
 * The identities of a list of provider Tags.
 *
 * @since 0.1.0
 */
export type TagIdentifiers<Tags extends ReadonlyArray<unknown>> = Tags[number] extends infer T
  ? T extends Effect.Effect<Provider.ProviderService, never, infer I> ? I : never
  : never
