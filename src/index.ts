/**
 * effect-ai-resilience: keep calls to AI generation APIs working when
 * providers fail.
 *
 * Each concept is a module (imported as a namespace); the most used names are
 * also exported at the top level. This entry point is the library only: the
 * provider simulator is `effect-ai-resilience/simulator`, test helpers are
 * `effect-ai-resilience/testing`, the JSON configuration file loader is
 * `effect-ai-resilience/config`, and the command-line tool is the package's
 * `bin`. Nothing here loads a CLI, a terminal printer or a Node server module.
 *
 * @since 0.1.0
 */

/** Hard / soft / silent failures and the retry / fallback predicates. @since 0.1.0 */
export * as Failure from "./Failure.js"
/** Classification of HTTP responses and transport errors. @since 0.1.0 */
export * as Classification from "./Classification.js"
/** Text generation request and result. @since 0.1.0 */
export * as TextGeneration from "./TextGeneration.js"
/** Image generation request and result. @since 0.1.0 */
export * as ImageGeneration from "./ImageGeneration.js"
/** Asynchronous video generation: tasks and status normalisation. @since 0.1.0 */
export * as VideoGeneration from "./VideoGeneration.js"
/** Token usage. @since 0.1.0 */
export * as Usage from "./Usage.js"
/** Declarative validators for silent failures. @since 0.1.0 */
export * as OutputValidator from "./OutputValidator.js"
/** The provider service. @since 0.1.0 */
export * as Provider from "./Provider.js"
/** OpenAI-compatible adapter. @since 0.1.0 */
export * as OpenAICompatible from "./OpenAICompatible.js"
/** Gemini native adapter. @since 0.1.0 */
export * as Gemini from "./Gemini.js"
/** Retry with jittered exponential backoff, retry-after and a retry budget. @since 0.1.0 */
export * as RetryPolicy from "./RetryPolicy.js"
/** gRPC-style retry budget (token bucket). @since 0.1.0 */
export * as RetryBudget from "./RetryBudget.js"
/** Per-model circuit breakers. @since 0.1.0 */
export * as CircuitBreaker from "./CircuitBreaker.js"
/** Failover along a priority list of models. @since 0.1.0 */
export * as FallbackChain from "./FallbackChain.js"
/** The composed client: chains, breakers, retries, dedup, load control. @since 0.1.0 */
export * as ResilientClient from "./ResilientClient.js"
/** Identical concurrent requests share one call; optional result cache. @since 0.1.0 */
export * as RequestCache from "./RequestCache.js"
/** Requests-per-minute limit, bulkhead, observable queue, off-peak gate. @since 0.1.0 */
export * as LoadControl from "./LoadControl.js"
/** What an image model accepts: n per call, response/output formats, price. @since 0.1.0 */
export * as ModelCapabilities from "./ModelCapabilities.js"
/** Images planned for a model's capabilities (split n, formats) and downloaded at once. @since 0.1.0 */
export * as ImageDelivery from "./ImageDelivery.js"
/** Video jobs: submit, poll on a Schedule, fall over, download at once. @since 0.1.0 */
export * as VideoPoller from "./VideoPoller.js"
/** Model status for people: normal / delayed / unavailable. @since 0.1.0 */
export * as ModelStatus from "./ModelStatus.js"
/** Health probes of unavailable models and the failback ramp. @since 0.1.0 */
export * as HealthProbe from "./HealthProbe.js"
/** The status page: /status, /status/events (SSE) and a live HTML page. @since 0.1.0 */
export * as StatusServer from "./StatusServer.js"
/** Metrics, spans and structured logs of attempts, breakers and requests. @since 0.1.0 */
export * as Observability from "./Observability.js"

export {
  category,
  countsAgainstModel,
  type GenerationFailure,
  HardFailure,
  isFallbackEligible,
  isGenerationFailure,
  isRetryable,
  SilentFailure,
  SoftFailure
} from "./Failure.js"
export { classifyResponse, classifyTransportError } from "./Classification.js"
