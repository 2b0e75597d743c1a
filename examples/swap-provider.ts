/**
 * Example: application code on a two-provider chain whose providers come from
 * layers, so a test swaps both for one scripted provider in one line (see
 * swap-provider.test.ts).
 *
 * The chain: Gemini's `gemini-2.5-flash` first, an OpenAI-compatible
 * `gpt-4.1-mini` as the fallback. The routes name their providers by Tag
 * (`Provider.named`) instead of holding them; production provides the real
 * adapters under those Tags. `summarize` asks for a summary of at least 10
 * words: a summary that is too short is a failure only the application can
 * see, so it is declared as a validator and the chain treats it like any
 * other failure of a model.
 *
 *   GEMINI_BASE_URL=http://127.0.0.1:8787 GEMINI_API_KEY=sk-... \
 *   OPENAI_BASE_URL=http://127.0.0.1:8787 OPENAI_API_KEY=sk-... npx tsx examples/swap-provider.ts
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Gemini, OpenAICompatible, OutputValidator, Provider, ResilientClient } from "effect-ai-resilience"

/** The chain's providers, by name. */
export const Primary = Provider.named("gemini")
export const Fallback = Provider.named("openai")

/** The app's client: the chain, with its providers taken from the context. */
export const SummaryClient = ResilientClient.layer({
  text: [
    { model: "gemini-2.5-flash", provider: Primary },
    { model: "gpt-4.1-mini", provider: Fallback }
  ]
})

/** Summarise `text` in at least 10 words along the chain. */
export const summarize = (text: string) =>
  Effect.gen(function*() {
    const client = yield* ResilientClient.ResilientClient
    const served = yield* client.generateText({
      messages: [{ role: "user", content: `Summarise in two sentences:\n\n${text}` }],
      validate: [OutputValidator.minWords(10)]
    })
    return { summary: served.value.content ?? "", model: served.model }
  })

/** Production wiring: the real adapters under the chain's Tags, from GEMINI_* and OPENAI_* settings. */
export const ProvidersLive = Layer.mergeAll(
  Gemini.layerConfig().pipe(Provider.as(Primary)),
  OpenAICompatible.layerConfig().pipe(Provider.as(Fallback))
).pipe(Layer.provide(NodeHttpClient.layerUndici))

if (import.meta.url === `file://${process.argv[1]}`) {
  summarize("Preview image models answer 503 for 30 to 120 minutes at a time when the shared pool is overloaded.").pipe(
    Effect.flatMap(({ model, summary }) => Console.log(`${model}: ${summary}`)),
    Effect.provide(SummaryClient),
    Effect.provide(Layer.merge(ProvidersLive, ResilientClient.policiesLayer())),
    NodeRuntime.runMain
  )
}
