/**
 * The composed client: what an application calls. Each
 * operation runs along its priority list of models (`FallbackChain`: retries
 * per model, per-model circuit breakers, per-attempt time-out, deadline),
 * each model behind its own load control (requests per minute, bulkhead), and
 * identical concurrent requests share one call (`RequestCache`, optionally
 * keeping results for a TTL).
 *
 * Users provide the providers (any `Provider` adapter) and the policy layers
 * (`RetryPolicy`, `CircuitBreakers`) in their own Effect app.
 *
 * @since 0.1.0
 */
import { HttpClient } from "@effect/platform"
import { Context, Duration, Effect, Layer, Option, type Scope } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as FallbackChain from "./FallbackChain.js"
// requests are built without re-validation: every provider made with `Provider.make` checks them before any I/O
import { trusted } from "./internal/adapter.js"
import { definedOnly } from "./internal/options.js"
import { type GenerationFailure, HardFailure } from "./Failure.js"
import * as ImageDelivery from "./ImageDelivery.js"
import { ImageRequest } from "./ImageGeneration.js"
import * as HealthProbe from "./HealthProbe.js"
import * as LoadControl from "./LoadControl.js"
import * as ModelStatus from "./ModelStatus.js"
import * as ModelCapabilities from "./ModelCapabilities.js"
import * as Observability from "./Observability.js"
import type { ProviderService } from "./Provider.js"
import * as RequestCache from "./RequestCache.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { TextRequest, type TextResult } from "./TextGeneration.js"
import { VideoRequest, type VideoTask } from "./VideoGeneration.js"
import * as VideoPoller from "./VideoPoller.js"

/**
 * One model of a priority list and the provider that serves it: the provider
 * itself, or a Tag to take it from the context (`Provider.named("openai")`;
 * any effect that yields a provider will do), so the providers of a chain can
 * come from layers and be swapped in tests.
 *
 * @since 0.1.0
 */
export interface ModelRoute<R = never> {
  readonly model: string
  readonly provider: [R] extends [never] ? ProviderService : ProviderService | Effect.Effect<ProviderService, never, R>
  /** Price of one successful call (per image for image models), for cost reports. */
  readonly price?: number | undefined
  /** Who runs the model, for outage triage (when every model of one vendor fails at once, it is a vendor-wide outage). */
  readonly vendor?: string | undefined
  /**
   * What an image model accepts (`n` per call, `response_format` /
   * `output_format`): the request is planned for it by `ImageDelivery` (split,
   * formats). Without it the request is sent as given.
   */
  readonly capabilities?: ModelCapabilities.ModelCapabilities | undefined
}

/**
 * Configuration of the client.
 *
 * @since 0.1.0
 */
export interface ResilientClientConfig<R = never> {
  /** Priority lists per operation, primary first. */
  readonly text?: ReadonlyArray<ModelRoute<R>> | undefined
  readonly image?: ReadonlyArray<ModelRoute<R>> | undefined
  readonly video?: ReadonlyArray<ModelRoute<R>> | undefined
  /** Defaults for every call (per-call options override them). */
  readonly fallback?: FallbackChain.FallbackOptions | undefined
  /** Keep successful results this long (default 0: only share calls in flight). */
  readonly cacheTtl?: Duration.DurationInput | undefined
  /**
   * Whether identical requests in flight share one call (default true).
   * Sharing costs a fiber per call; where identical concurrent requests do
   * not happen, false saves it (`RequestCache`'s `shareInFlight`).
   */
  readonly shareInFlight?: boolean | undefined
  /** Load control for each model (each model gets its own gate). */
  readonly load?: LoadControl.LoadControlOptions | undefined
  /** How images are split, downloaded and bounded (`ImageDelivery` options). */
  readonly imageDelivery?: ImageDelivery.ImageDeliveryOptions | undefined
  /** Model status options (thresholds, alert hook); the lists come from the routes. */
  readonly status?: Omit<ModelStatus.ModelStatusOptions, "lists"> | undefined
  /**
   * Health probes (`HealthProbe`): the cheap request to
   * send to an unavailable text or image model (its price counts as the
   * probe's cost). Without it, models are not probed and recover through
   * traffic only; the failback ramp (`status.ramp`) applies either way.
   * A video probe is a submission (the job is not followed: whether the
   * model takes jobs is what tells); an accepted one costs the model's price,
   * so it can have its own, longer `videoInterval`.
   */
  readonly probes?: Omit<HealthProbe.HealthProbeOptions, "probes"> & {
    readonly text?: TextInput | undefined
    readonly image?: ImageInput | undefined
    readonly video?: VideoInput | undefined
    readonly videoInterval?: Duration.DurationInput | undefined
  } | undefined
  /**
   * Graceful degradation: a stand-in result per operation for when
   * every model is down (`AllModelsFailed`), e.g. a placeholder image. The
   * result is marked `degraded: true` and keeps the attempt log; stand-ins
   * are never cached.
   */
  readonly degradeTo?: {
    readonly text?: ((input: TextInput, failure: FallbackChain.AllModelsFailed) => Effect.Effect<TextResult>) | undefined
    readonly image?: ((input: ImageInput, failure: FallbackChain.AllModelsFailed) => Effect.Effect<ImageDelivery.ImageDeliveryResult>) | undefined
  } | undefined
}

/** A text request without its model: the chain picks the model. @since 0.1.0 */
export type TextInput = Omit<ConstructorParameters<typeof TextRequest>[0], "model">
/** An image request without its model. @since 0.1.0 */
export type ImageInput = Omit<ConstructorParameters<typeof ImageRequest>[0], "model">
/** A video request without its model. @since 0.1.0 */
export type VideoInput = Omit<ConstructorParameters<typeof VideoRequest>[0], "model">

/**
 * Everything a resilient call can fail with.
 *
 * @since 0.1.0
 */
export type ResilientFailure = GenerationFailure | FallbackChain.AllModelsFailed | FallbackChain.DeadlineExceeded

/**
 * The client.
 *
 * @since 0.1.0
 */
export interface ResilientClientService {
  readonly generateText: (input: TextInput, options?: FallbackChain.FallbackOptions) => Effect.Effect<FallbackChain.Served<TextResult>, ResilientFailure>
  /**
   * Images along the image chain, planned for each model's capabilities and
   * downloaded at once (providers' image URLs expire, e.g. after an hour): every image comes with its
   * bytes; cost is the price per image × images.
   */
  readonly generateImage: (
    input: ImageInput,
    options?: FallbackChain.FallbackOptions
  ) => Effect.Effect<FallbackChain.Served<ImageDelivery.ImageDeliveryResult>, ResilientFailure>
  /** Submit along the video chain; the task stays with the model that accepted it. */
  readonly submitVideo: (input: VideoInput, options?: FallbackChain.FallbackOptions) => Effect.Effect<FallbackChain.Served<VideoTask>, ResilientFailure>
  /**
   * Submit along the video chain, poll to the end, fall over when a model is
   * overloaded, queued too long or past its `maxWait`, and download the video
   * at once (`VideoPoller`).
   */
  readonly generateVideo: (
    input: VideoInput,
    options?: VideoPoller.VideoPollerOptions & { readonly onProgress?: ((event: VideoPoller.VideoProgress) => Effect.Effect<void>) | undefined }
  ) => Effect.Effect<VideoPoller.VideoJobResult, VideoPoller.VideoJobError>
  /** Look at a task on the provider of the model that accepted it. */
  readonly pollVideo: (task: VideoTask) => Effect.Effect<VideoTask, HardFailure>
  /** Each model's status (normal / delayed / unavailable), judged from this client's traffic and breakers. */
  readonly status: ModelStatus.ModelStatusService
  /** Queue status of each model's load control. */
  readonly queues: Effect.Effect<ReadonlyArray<{ readonly model: string; readonly status: LoadControl.QueueStatus }>>
}

/**
 * The client in scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ResilientClient } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ResilientClient.ResilientClient
 *   const served = yield* client.generateImage({ prompt: "A lighthouse at dusk" })
 *   console.log(`served by ${served.model}${served.fellBack ? " (fallback)" : ""}`)
 * })
 * ```
 *
 * @since 0.1.0
 */
export class ResilientClient extends Context.Tag("effect-ai-resilience/ResilientClient")<ResilientClient, ResilientClientService>() {}

/**
 * Build the client. Needs the policy services; lives as long as the scope
 * (the load controls' rate limiters do).
 *
 * @since 0.1.0
 */
export const make = <const Config extends ResilientClientConfig<unknown>>(
  config: Config
): Effect.Effect<
  ResilientClientService,
  LoadControl.InvalidLoadControlOptions | RequestCache.InvalidRequestCacheOptions | ImageDelivery.InvalidImageDeliveryOptions,
  RetryPolicy.RetryPolicy | CircuitBreaker.CircuitBreakers | Scope.Scope | ProvidersOf<Config> | DownloadsOf<Config>
> =>
  Effect.gen(function*() {
    const resolved = yield* resolveProviders(config)
    return yield* build(resolved)
  }) as Effect.Effect<
    ResilientClientService,
    LoadControl.InvalidLoadControlOptions | RequestCache.InvalidRequestCacheOptions | ImageDelivery.InvalidImageDeliveryOptions,
    RetryPolicy.RetryPolicy | CircuitBreaker.CircuitBreakers | Scope.Scope | ProvidersOf<Config> | DownloadsOf<Config>
  >

/**
 * The services a configuration's routes take their providers from (the
 * identities of the Tags they name).
 *
 * @since 0.1.0
 */
export type ProvidersOf<Config> = Config extends {
  readonly text?: infer Text | undefined
  readonly image?: infer Image | undefined
  readonly video?: infer Video | undefined
} ? TagsOf<Text> | TagsOf<Image> | TagsOf<Video>
  : never

type TagsOf<Routes> = Routes extends ReadonlyArray<infer Route>
  ? Route extends { readonly provider: infer P } ? P extends Effect.Effect<ProviderService, never, infer I> ? I : never : never
  : never

/**
 * `HttpClient` when the configuration has an image list (images served as
 * URLs are downloaded at once), nothing otherwise: a text or video client
 * needs no HTTP client of its own (each adapter holds its own).
 *
 * @since 0.1.0
 */
export type DownloadsOf<Config> = "image" extends keyof Config ? Config["image" & keyof Config] extends undefined ? never : HttpClient.HttpClient
  : never

/** A configuration whose routes hold their providers. */
type Resolved = ResilientClientConfig & {
  readonly text?: ReadonlyArray<ResolvedRoute> | undefined
  readonly image?: ReadonlyArray<ResolvedRoute> | undefined
  readonly video?: ReadonlyArray<ResolvedRoute> | undefined
}
type ResolvedRoute = ModelRoute & { readonly provider: ProviderService }

const resolveRoutes = <R>(routes: ReadonlyArray<ModelRoute<R>> | undefined) =>
  routes === undefined
    ? Effect.succeed(undefined)
    : Effect.forEach(routes, (route) => {
      const provider: ProviderService | Effect.Effect<ProviderService, never, R> = route.provider
      return Effect.isEffect(provider)
        ? Effect.map(provider, (p): ResolvedRoute => ({ ...route, provider: p }))
        : Effect.succeed({ ...route, provider } as ResolvedRoute)
    })

// Tags (and other effects) are run once, when the client is built: the chain then holds the providers themselves.
const resolveProviders = <R>(config: ResilientClientConfig<R>): Effect.Effect<Resolved, never, R> =>
  Effect.map(
    Effect.all([resolveRoutes(config.text), resolveRoutes(config.image), resolveRoutes(config.video)]),
    ([text, image, video]): Resolved => ({
      ...(config as Omit<ResilientClientConfig<R>, "text" | "image" | "video">),
      ...(text === undefined ? {} : { text }),
      ...(image === undefined ? {} : { image }),
      ...(video === undefined ? {} : { video })
    })
  )

const build = (
  config: Resolved
): Effect.Effect<
  ResilientClientService,
  LoadControl.InvalidLoadControlOptions | RequestCache.InvalidRequestCacheOptions | ImageDelivery.InvalidImageDeliveryOptions,
  RetryPolicy.RetryPolicy | CircuitBreaker.CircuitBreakers | Scope.Scope
> =>
  Effect.gen(function*() {
    const policy = yield* RetryPolicy.RetryPolicy
    const breakers = yield* CircuitBreaker.CircuitBreakers
    // Image delivery downloads with the context's HttpClient; only an image
    // list needs it, and the type of `make` asks for it exactly then.
    const delivery = config.image === undefined
      ? undefined
      : yield* Option.match(yield* Effect.serviceOption(HttpClient.HttpClient), {
        onNone: () => Effect.dieMessage("ResilientClient: an image list needs an HttpClient to download images served as URLs"),
        onSome: (client) => ImageDelivery.make(config.imageDelivery).pipe(Effect.provideService(HttpClient.HttpClient, client))
      })
    const lists = {
      ...(config.text === undefined ? {} : { text: config.text }),
      ...(config.image === undefined ? {} : { image: config.image }),
      ...(config.video === undefined ? {} : { video: config.video })
    }
    const status = yield* ModelStatus.make({
      ...config.status,
      lists: Object.fromEntries(Object.entries(lists).map(([name, routes]) => [
        name,
        routes.map((r) => ({ model: r.model, ...(r.vendor === undefined ? {} : { vendor: r.vendor }) }))
      ]))
    }).pipe(Effect.provideService(CircuitBreaker.CircuitBreakers, breakers))
    const probes = yield* HealthProbe.make({
      ...config.probes,
      probes: [
        ...(config.probes?.text === undefined ? [] : (config.text ?? []).map((route) => ({
          model: route.model,
          run: route.provider.generateText(TextRequest.make({ ...config.probes!.text!, model: route.model })),
          ...(route.price === undefined ? {} : { cost: route.price })
        }))),
        ...(config.probes?.image === undefined ? [] : (config.image ?? []).map((route) => ({
          model: route.model,
          run: route.provider.generateImage(ImageRequest.make({ ...config.probes!.image!, model: route.model })),
          ...(route.price === undefined ? {} : { cost: route.price })
        }))),
        ...(config.probes?.video === undefined ? [] : (config.video ?? []).map((route) => ({
          model: route.model,
          run: route.provider.submitVideo(VideoRequest.make({ ...config.probes!.video!, model: route.model })),
          ...(route.price === undefined ? {} : { cost: route.price }),
          ...(config.probes!.videoInterval === undefined ? {} : { interval: config.probes!.videoInterval })
        })))
      ]
    }).pipe(
      Effect.provideService(ModelStatus.ModelStatus, status),
      Effect.provideService(CircuitBreaker.CircuitBreakers, breakers)
    )
    // what the status learns from: every upstream call the chains make
    const observe = (record: FallbackChain.AttemptRecord) =>
      record.outcome === "skipped"
        ? Effect.void
        : status.record({
          model: record.model,
          outcome: record.outcome,
          latencyMs: record.durationMs,
          category: record.category,
          reason: record.reason
        })
    const cache = yield* RequestCache.make({ ttl: config.cacheTtl ?? Duration.zero, shareInFlight: config.shareInFlight })
    const routes = [...(config.text ?? []), ...(config.image ?? []), ...(config.video ?? [])]
    const gates = new Map<string, LoadControl.LoadControl>()
    for (const route of routes) {
      if (!gates.has(route.model)) gates.set(route.model, yield* LoadControl.make(config.load))
    }
    const gate = (model: string) => gates.get(model)!

    // per-call options are laid over the configured ones, retry options field
    // by field; a field given as `undefined` keeps the configured value
    const optionsFor = (given: FallbackChain.FallbackOptions | undefined): FallbackChain.FallbackOptions => {
      if (given === undefined) return config.fallback ?? {}
      const options = definedOnly(given)
      const retry = options.retry === undefined
        ? config.fallback?.retry
        : config.fallback?.retry === undefined
        ? options.retry
        : { ...config.fallback.retry, ...definedOnly(options.retry) }
      return { ...config.fallback, ...options, ...(retry === undefined ? {} : { retry }) }
    }

    const policies = { breakers, policy }

    const chain = <Input, Req, A>(
      operation: "text" | "image" | "video",
      list: ReadonlyArray<ResolvedRoute> | undefined,
      build: (input: Input, model: string) => Req,
      call: (route: ResolvedRoute, request: Req) => Effect.Effect<A, GenerationFailure>,
      degrade?: (input: Input, failure: FallbackChain.AllModelsFailed) => Effect.Effect<A>,
      priceOf: (route: ResolvedRoute) => number | ((value: A) => number) | undefined = (route) => route.price
    ) => {
      const routes = list ?? []
      const byModel = new Map(routes.map((route) => [route.model, route]))
      // a model's load control admits each attempt, outside its breaker and time-out
      const entry = (route: ResolvedRoute, input: Input): FallbackChain.ChainModel<() => Effect.Effect<A, GenerationFailure>> => {
        const price = priceOf(route)
        return {
          model: route.model,
          ...(price === undefined ? {} : { price }),
          call: () => call(route, build(input, route.model)),
          gate: gate(route.model).run
        }
      }
      const withRecording = (options: FallbackChain.FallbackOptions): FallbackChain.FallbackOptions => {
        const callerHook = options.onAttempt
        return {
          ...options,
          operation: options.operation ?? operation,
          onAttempt: callerHook === undefined ? observe : (record) => Effect.zipRight(observe(record), callerHook(record)),
          // a model that has just recovered takes a growing share of requests (the failback ramp)
          admit: options.admit ?? probes.admit
        }
      }
      const configured = withRecording(optionsFor(undefined))
      return (input: Input, options?: FallbackChain.FallbackOptions): Effect.Effect<FallbackChain.Served<A>, ResilientFailure> => {
        const chainOptions = options === undefined ? configured : withRecording(optionsFor(options))
        const run = Effect.flatMap(status.order(operation), (order) =>
          // a promoted fallback (the primary not back after promoteAfter, 2 h) goes first
          FallbackChain.runWith(
            policies,
            (order.length === routes.length ? order.map((model) => byModel.get(model) ?? routes[0]!) : routes).map((route) => entry(route, input)),
            chainOptions
          ))
        // the same identity as `keyOf(operation, { input, options })`, without building the key string
        const shared = cache.getFor(operation, { input, options }, run)
        const served = degrade === undefined ? shared : shared.pipe(FallbackChain.orDegrade((failure) => degrade(input, failure)))
        // per caller: a request span, served/failed counters and a log line for fallbacks
        return served.pipe(Observability.observeRequest({ operation }))
      }
    }

    const videoOwners = new Map<string, ProviderService>()
    for (const route of config.video ?? []) videoOwners.set(route.model, route.provider)

    return {
      generateText: chain("text", config.text, (input: TextInput, model) => trusted(TextRequest, { ...input, model }), (route, r) => route.provider.generateText(r), config.degradeTo?.text),
      generateImage: chain(
        "image",
        config.image,
        (input: ImageInput, model) => trusted(ImageRequest, { ...input, model }),
        (route, request) => {
          // the route's price wins over the capabilities' own
          const pricePerImage = route.price ?? route.capabilities?.pricePerImage
          // built whenever there is an image list, and only image routes come here
          const images = delivery!
          const delivered = route.capabilities === undefined
            ? Effect.flatMap(route.provider.generateImage(request), (result) => images.deliver(result, pricePerImage === undefined ? {} : { pricePerImage }))
            : images.generate(route.provider, request, ModelCapabilities.ModelCapabilities.make({ ...route.capabilities, ...(pricePerImage === undefined ? {} : { pricePerImage }) }))
          return Effect.catchTag(delivered, "ImageDeliveryFailure", (e) => Effect.fail(ImageDelivery.toGenerationFailure(e)))
        },
        config.degradeTo?.image,
        // the delivery prices every image it returns
        () => (result: ImageDelivery.ImageDeliveryResult) => result.cost
      ),
      submitVideo: chain("video", config.video, (input: VideoInput, model) => trusted(VideoRequest, { ...input, model }), (route, r) => route.provider.submitVideo(r)),
      generateVideo: (input, options) =>
        VideoPoller.run(
          (config.video ?? []).map((route) => ({
            model: route.model,
            // submissions go through the model's load control (polls are cheap reads)
            provider: { ...route.provider, submitVideo: (r) => gate(route.model).run(route.provider.submitVideo(r)) },
            ...(route.price === undefined ? {} : { price: route.price })
          })),
          input,
          options
        ),
      pollVideo: (task) => {
        const provider = videoOwners.get(task.model)
        return provider === undefined
          ? Effect.fail(new HardFailure({
            reason: "NotFound",
            provider: "ResilientClient",
            model: task.model,
            message: `no video model ${task.model} in this client's video list: a task can only be polled where it was submitted`
          }))
          : provider.pollVideo({ id: task.id, model: task.model })
      },
      status,
      queues: Effect.forEach([...gates], ([model, g]) => Effect.map(g.status, (status) => ({ model, status })))
    }
  })

/**
 * The client as a layer.
 *
 * @since 0.1.0
 */
export const layer = <const Config extends ResilientClientConfig<unknown>>(
  config: Config
): Layer.Layer<
  ResilientClient,
  LoadControl.InvalidLoadControlOptions | RequestCache.InvalidRequestCacheOptions | ImageDelivery.InvalidImageDeliveryOptions,
  RetryPolicy.RetryPolicy | CircuitBreaker.CircuitBreakers | ProvidersOf<Config> | DownloadsOf<Config>
> => Layer.scoped(ResilientClient, make(config))

/**
 * Options of {@link policiesLayer}: the retry policy's and the breakers'
 * (each as their own `layer` takes them).
 *
 * @since 0.1.0
 */
export interface PoliciesOptions {
  readonly retry?: Parameters<typeof RetryPolicy.layer>[0] | undefined
  readonly breaker?: Parameters<typeof CircuitBreaker.layer>[0] | undefined
}

/**
 * The policies the client needs (retry with budget, circuit breakers), with
 * the README's defaults or the options given, to provide to {@link layer};
 * breaker transitions are counted in the metrics and logged
 * (`Observability.trackBreakers`) whatever the options.
 *
 * @example
 * ```ts
 * import { ResilientClient } from "effect-ai-resilience"
 *
 * const Policies = ResilientClient.policiesLayer({
 *   retry: { maxAttempts: 3 },
 *   breaker: { openDuration: "2 minutes" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const policiesLayer = (
  options: PoliciesOptions = {}
): Layer.Layer<
  RetryPolicy.RetryPolicy | CircuitBreaker.CircuitBreakers,
  RetryPolicy.InvalidRetryOptions | CircuitBreaker.InvalidCircuitBreakerOptions
> =>
  Layer.mergeAll(
    RetryPolicy.layer(options.retry),
    Observability.trackBreakersLayer.pipe(Layer.provideMerge(CircuitBreaker.layer(options.breaker)))
  )
