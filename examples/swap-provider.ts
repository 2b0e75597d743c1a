/**
 * Example: application code that depends only on the `Provider` service, so
 * a test can swap the real adapter for a scripted one (see
 * swap-provider.test.ts).
 *
 * `summarize` asks for a summary of at least 10 words (SPEC §2: a "suspiciously
 * short summary" is a silent failure only the application can catch) and
 * tries again, at most twice, when the provider is overloaded or the summary
 * is too short.
 *
 *   OPENAI_BASE_URL=http://127.0.0.1:8787 OPENAI_API_KEY=sk-... npx tsx examples/swap-provider.ts
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { isRetryable, OpenAICompatible, OutputValidator, Provider, TextGeneration } from "effect-ai-resilience"

/** Summarise `text` in at least 10 words with whatever `Provider` is in scope. */
export const summarize = (text: string) =>
  Effect.gen(function*() {
    const provider = yield* Provider.Provider
    const result = yield* provider.generateText(TextGeneration.TextRequest.make({
      model: "gpt-4.1-mini",
      messages: [TextGeneration.Message.make({ role: "user", content: `Summarise in two sentences:\n\n${text}` })],
      validate: [OutputValidator.minWords(10)]
    })).pipe(
      // overloaded or too short: worth another go (a 400 or a content filter is not)
      Effect.retry({ times: 2, while: (f) => isRetryable(f) || f._tag === "SilentFailure" })
    )
    return result.content ?? ""
  })

/** Production wiring: the OpenAI-compatible adapter from OPENAI_BASE_URL / OPENAI_API_KEY. */
export const ProviderLive = OpenAICompatible.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))

if (import.meta.url === `file://${process.argv[1]}`) {
  summarize("Preview image models answer 503 for 30 to 120 minutes at a time when the shared pool is overloaded.").pipe(
    Effect.flatMap(Console.log),
    Effect.provide(ProviderLive),
    NodeRuntime.runMain
  )
}
