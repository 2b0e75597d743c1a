/**
 * The classification walkthrough (`effect-ai-resilience walkthrough`): start
 * the provider simulator in-process and run a short scripted session through
 * the real HTTP adapters (OpenAI-compatible and Gemini), printing each outcome
 * and how it was classified — every hard, soft and silent case once.
 *
 * Each step names the outcome it provokes (with a `[sim:…]` prompt directive
 * or a real misuse such as a wrong key) and the classification the toolkit is
 * expected to give it, so the printout doubles as a check.
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Duration, Effect, Exit, Redacted, Schedule, type Scope } from "effect"
import { category, type GenerationFailure, isFallbackEligible, isRetryable } from "./Failure.js"
import * as Gemini from "./Gemini.js"
import { ImageRequest } from "./ImageGeneration.js"
import * as OpenAICompatible from "./OpenAICompatible.js"
import * as OutputValidator from "./OutputValidator.js"
import type { ProviderService } from "./Provider.js"
import * as Simulator from "./Simulator.js"
import { Message, TextRequest, ToolDefinition } from "./TextGeneration.js"
import { isTerminal, VideoRequest, type VideoTask } from "./VideoGeneration.js"

/**
 * What one step of the session produced.
 *
 * @since 0.1.0
 */
export interface StepOutcome {
  readonly title: string
  readonly provider: string
  readonly model: string
  /** `"ok"` or `"HardFailure/Overloaded"`, ... */
  readonly expected: string
  readonly actual: string
  /** A one-line description of the result or the failure. */
  readonly detail: string
  readonly failure?: GenerationFailure | undefined
  readonly durationMs: number
}

/**
 * Options for {@link run}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Simulator configuration (default: `Simulator.defaultScenario`). */
  readonly scenario?: Simulator.SimulatorConfig | undefined
  /** Time-out for the step that provokes a hang (default 2 s). */
  readonly hangTimeout?: Duration.DurationInput | undefined
  /** Called as each step finishes (the CLI prints it). */
  readonly onStep?: ((outcome: StepOutcome, index: number) => Effect.Effect<void>) | undefined
}

const DEMO_KEY = "sk-sim-demo-0123456789abcdef"

const text = (model: string, prompt: string, extra: Partial<ConstructorParameters<typeof TextRequest>[0]> = {}) =>
  TextRequest.make({ model, messages: [Message.make({ role: "user", content: prompt })], ...extra })

const image = (model: string, prompt: string, extra: Partial<ConstructorParameters<typeof ImageRequest>[0]> = {}) =>
  ImageRequest.make({ model, prompt, ...extra })

/**
 * One line describing a failure: category/reason, status, retryability,
 * fallback eligibility, retry-after, param, code, request id and message.
 *
 * @since 0.1.0
 */
export const describeFailure = (failure: GenerationFailure): string => {
  const parts = [
    `${failure._tag}(${failure.reason})`,
    failure.status === undefined ? "no status" : `HTTP ${failure.status}`,
    `retryable=${isRetryable(failure) ? "yes" : "no"}`,
    `fallback=${isFallbackEligible(failure) ? "yes" : "no"}`
  ]
  if (failure.retryAfter !== undefined) parts.push(`retry-after=${Duration.format(failure.retryAfter)}`)
  if (failure.param !== undefined) parts.push(`param=${failure.param}`)
  if (failure.code !== undefined) parts.push(`code=${failure.code}`)
  if (failure.requestId !== undefined) parts.push(`request-id=${failure.requestId}`)
  if (failure._tag === "SoftFailure" && failure.completionTokens !== undefined) parts.push(`completion_tokens=${failure.completionTokens}`)
  if (failure._tag === "SilentFailure") parts.push(`validator=${failure.validator}`, `output=${JSON.stringify(failure.output.slice(0, 40))}`)
  return `${parts.join(" ")} — ${failure.message.slice(0, 140)}`
}

const label = (failure: GenerationFailure) => `${failure._tag}/${failure.reason}`

const pollUntilDone = (provider: ProviderService, task: VideoTask) =>
  Effect.gen(function*() {
    const seen: Array<string> = [task.rawStatus]
    let last = task
    // Poll every 50 ms of real time (≈ 30 s simulated at the default time scale).
    yield* provider.pollVideo({ id: task.id, model: task.model }).pipe(
      Effect.tap((t) => Effect.sync(() => { last = t; seen.push(t.rawStatus) })),
      Effect.tapError((e) => Effect.sync(() => seen.push(`${e.reason}:${e.code ?? e.status}`))),
      // Runway answers task_not_exist while the task is being created: poll again.
      Effect.retry({ while: (e) => e.code === "task_not_exist", schedule: Schedule.spaced("50 millis"), times: 5 }),
      Effect.repeat({ until: (t) => isTerminal(t.status), schedule: Schedule.spaced("50 millis"), times: 200 })
    )
    return { last, seen }
  })

/**
 * Run the session against a fresh in-process simulator.
 *
 * @since 0.1.0
 */
export const run = (
  options: Options = {}
): Effect.Effect<ReadonlyArray<StepOutcome>, ServeError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const scenario = options.scenario ?? Simulator.defaultScenario
    const sim = yield* Simulator.make(Simulator.SimulatorConfig.make({ ...scenario, apiKeys: [DEMO_KEY] }))
    const apiKey = Redacted.make(DEMO_KEY)
    // the options below are constants: if they were invalid it would be a bug here (a defect)
    const openai = yield* Effect.orDie(OpenAICompatible.make({ name: "gateway", baseUrl: sim.url, apiKey }))
    const gemini = yield* Effect.orDie(Gemini.make({ name: "gemini", baseUrl: sim.url, apiKey }))
    const hanging = yield* Effect.orDie(OpenAICompatible.make({
      name: "gateway",
      baseUrl: sim.url,
      apiKey,
      timeout: options.hangTimeout ?? Duration.seconds(2)
    }))
    const wrongKey = yield* Effect.orDie(
      OpenAICompatible.make({ name: "gateway", baseUrl: sim.url, apiKey: Redacted.make("sk-wrong-key-9999") })
    )

    type Step = readonly [title: string, provider: ProviderService, model: string, expected: string, run: Effect.Effect<string, GenerationFailure>]
    const textOk = (e: Effect.Effect<{ readonly content: string | null; readonly toolCalls: ReadonlyArray<{ readonly name: string }>; readonly finishReason: string }, GenerationFailure>) =>
      Effect.map(e, (r) => r.content !== null ? `text (${r.finishReason}): ${JSON.stringify(r.content.slice(0, 60))}` : `tool call ${r.toolCalls.map((c) => c.name).join(", ")} (${r.finishReason})`)
    const imageOk = (e: Effect.Effect<{ readonly images: ReadonlyArray<{ readonly bytes?: Uint8Array | undefined; readonly url?: string | undefined; readonly mimeType?: string | undefined; readonly revisedPrompt?: string | undefined }> }, GenerationFailure>) =>
      Effect.map(e, (r) => r.images.map((i) => i.bytes !== undefined ? `${i.mimeType ?? "image"} ${i.bytes.byteLength} bytes` : `url ${i.url}`).join(", ") + (r.images[0]?.revisedPrompt === undefined ? "" : ` (revised_prompt: ${JSON.stringify(r.images[0].revisedPrompt.slice(0, 40))})`))
    const video = (provider: ProviderService, model: string) =>
      Effect.flatMap(provider.submitVideo(VideoRequest.make({ model, prompt: "A paper boat on a rainy street", seconds: 5 })), (task) =>
        Effect.map(pollUntilDone(provider, task), ({ last, seen }) => `task ${last.id} ${last.status}; statuses seen: ${[...new Set(seen)].join(" → ")}${last.videoUrl === undefined ? "" : `; video at ${last.videoUrl}`}`))

    const steps: ReadonlyArray<Step> = [
      ["Primary image model (Gemini route) during a vendor overload", gemini, "gemini-3-pro-image-preview", "HardFailure/Overloaded",
        imageOk(gemini.generateImage(image("gemini-3-pro-image-preview", "A lighthouse at dusk [sim:overloaded]")))],
      ["Same model through an OpenAI-compatible gateway", openai, "gemini-3-pro-image-preview", "HardFailure/Overloaded",
        imageOk(openai.generateImage(image("gemini-3-pro-image-preview", "A lighthouse at dusk [sim:overloaded]")))],
      ["Sibling model of the same vendor", gemini, "gemini-2.5-flash-image", "ok",
        imageOk(gemini.generateImage(image("gemini-2.5-flash-image", "A lighthouse at dusk [sim:ok]")))],
      ["GPT Image rejects response_format", openai, "gpt-image-1.5", "HardFailure/BadRequest",
        imageOk(openai.generateImage(image("gpt-image-1.5", "A lighthouse at dusk [sim:ok]", { responseFormat: "url" })))],
      ["GPT Image with output_format instead", openai, "gpt-image-1.5", "ok",
        imageOk(openai.generateImage(image("gpt-image-1.5", "A lighthouse at dusk [sim:ok]", { outputFormat: "png" })))],
      ["Rate limited, with a retry hint", openai, "seedream-4.5", "HardFailure/RateLimited",
        imageOk(openai.generateImage(image("seedream-4.5", "A lighthouse at dusk [sim:rateLimited]")))],
      ["Rate limited on Gemini (RetryInfo)", gemini, "gemini-2.5-flash-image", "HardFailure/RateLimited",
        imageOk(gemini.generateImage(image("gemini-2.5-flash-image", "A lighthouse at dusk [sim:rateLimited]")))],
      ["Daily quota used up (429, but not worth retrying)", gemini, "gemini-2.5-flash-image", "HardFailure/QuotaExhausted",
        imageOk(gemini.generateImage(image("gemini-2.5-flash-image", "A lighthouse at dusk [sim:quotaExhausted]")))],
      ["Empty image list (prompt filtered)", openai, "flux-2-pro", "SoftFailure/EmptyOutput",
        imageOk(openai.generateImage(image("flux-2-pro", "A lighthouse at dusk [sim:emptyOutput]")))],
      ["Image safety block on Gemini", gemini, "gemini-2.5-flash-image", "SoftFailure/ContentFiltered",
        imageOk(gemini.generateImage(image("gemini-2.5-flash-image", "A lighthouse at dusk [sim:contentFilter]")))],
      ["Proxy answers with an HTML 502 page", openai, "flux-2-pro", "HardFailure/ServerError",
        imageOk(openai.generateImage(image("flux-2-pro", "A lighthouse at dusk [sim:badGateway]")))],
      ["Text: answer cut at max_tokens", openai, "gpt-4.1-mini", "SoftFailure/Truncated",
        textOk(openai.generateText(text("gpt-4.1-mini", "Write a long story [sim:truncated]", { maxTokens: 32 })))],
      ["Text: safety filter (finish_reason content_filter)", openai, "gpt-4.1-mini", "SoftFailure/ContentFiltered",
        textOk(openai.generateText(text("gpt-4.1-mini", "Something edgy [sim:contentFilter]")))],
      ["Text: null content with tool_calls is a success", openai, "gpt-4.1-mini", "ok",
        textOk(openai.generateText(text("gpt-4.1-mini", "What's the weather in Kyoto? [sim:tool]", {
          tools: [ToolDefinition.make({ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } })]
        })))],
      ["Text: label outside the allowed set (silent)", openai, "gpt-4.1-mini", "SilentFailure/InvalidOutput",
        textOk(openai.generateText(text("gpt-4.1-mini", "Sentiment of 'meh' [sim:reply=maybe]", {
          validate: [OutputValidator.oneOf(["positive", "negative", "neutral"])]
        })))],
      ["Text: summary too short (silent)", gemini, "gemini-2.5-flash", "SilentFailure/InvalidOutput",
        textOk(gemini.generateText(text("gemini-2.5-flash", "Summarise this report [sim:reply=It is fine.]", {
          validate: [OutputValidator.minWords(10)]
        })))],
      ["Text: 200 with a body cut off mid-JSON", openai, "gpt-4.1-mini", "HardFailure/ServerError",
        textOk(openai.generateText(text("gpt-4.1-mini", "Hello [sim:malformedJson]")))],
      ["Text: connection reset", openai, "gpt-4.1-mini", "HardFailure/Network",
        textOk(openai.generateText(text("gpt-4.1-mini", "Hello [sim:connectionReset]")))],
      ["Text: provider hangs past the time-out", hanging, "gpt-4.1-mini", "HardFailure/Timeout",
        textOk(hanging.generateText(text("gpt-4.1-mini", "Hello [sim:hang]")))],
      ["Wrong API key (the key never appears in the output)", wrongKey, "gpt-4.1-mini", "HardFailure/Unauthorized",
        textOk(wrongKey.generateText(text("gpt-4.1-mini", "Hello")))],
      ["Model that does not exist", openai, "gpt-9-ultra", "HardFailure/NotFound",
        textOk(openai.generateText(text("gpt-9-ultra", "Hello")))],
      ["Video, OpenAI dialect: submit and poll", openai, "sora-2", "ok", video(openai, "sora-2")],
      ["Video, Kling dialect", openai, "kling-v2", "ok", video(openai, "kling-v2")],
      ["Video, Runway dialect (task_not_exist on the first poll)", openai, "gen4_turbo", "ok", video(openai, "gen4_turbo")]
    ]

    const outcomes: Array<StepOutcome> = []
    for (const [title, provider, model, expected, effect] of steps) {
      const [elapsed, exit] = yield* Effect.timed(Effect.exit(effect))
      const outcome: StepOutcome = Exit.isSuccess(exit)
        ? { title, provider: provider.name, model, expected, actual: "ok", detail: exit.value, durationMs: Duration.toMillis(elapsed) }
        : Exit.isFailure(exit) && exit.cause._tag === "Fail"
        ? { title, provider: provider.name, model, expected, actual: label(exit.cause.error), detail: describeFailure(exit.cause.error), failure: exit.cause.error, durationMs: Duration.toMillis(elapsed) }
        : { title, provider: provider.name, model, expected, actual: "defect", detail: String(exit), durationMs: Duration.toMillis(elapsed) }
      outcomes.push(outcome)
      if (options.onStep !== undefined) yield* options.onStep(outcome, outcomes.length - 1)
    }
    return outcomes
  })

/**
 * Render one outcome as text lines.
 *
 * @since 0.1.0
 */
export const formatStep = (outcome: StepOutcome, index: number): string => {
  const mark = outcome.actual === outcome.expected ? "✓" : "✗"
  return [
    `${String(index + 1).padStart(2)}. ${mark} ${outcome.title}`,
    `    ${outcome.provider} · ${outcome.model} · ${outcome.durationMs.toFixed(0)} ms · expected ${outcome.expected}, got ${outcome.actual}`,
    `    ${outcome.detail}`
  ].join("\n")
}

/**
 * Count by category/reason (`"ok"` for successes) and whether every step
 * classified as expected.
 *
 * @since 0.1.0
 */
export const summarize = (outcomes: ReadonlyArray<StepOutcome>) => {
  const byClass: Record<string, number> = {}
  for (const o of outcomes) {
    const key = o.failure === undefined ? o.actual : `${category(o.failure)}/${o.failure.reason}`
    byClass[key] = (byClass[key] ?? 0) + 1
  }
  return { steps: outcomes.length, asExpected: outcomes.filter((o) => o.actual === o.expected).length, byClass }
}
