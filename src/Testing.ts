/**
 * Test helpers, imported as `effect-ai-resilience/testing`: stand-ins for
 * providers so an app's tests exercise its own resilience settings without a
 * network. For tests over real HTTP against the wire formats, use the
 * provider simulator (`effect-ai-resilience/simulator`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TextGeneration } from "effect-ai-resilience"
 * import { ScriptedProvider } from "effect-ai-resilience/testing"
 *
 * const ProviderTest = ScriptedProvider.layer({
 *   generateText: [
 *     Effect.succeed(TextGeneration.TextResult.make({ provider: "scripted", model: "m", content: "ok", toolCalls: [], finishReason: "stop" }))
 *   ]
 * })
 * ```
 *
 * @since 0.1.0
 */

/** A provider whose answers are scripted; it records every call. @since 0.1.0 */
export * as ScriptedProvider from "./ScriptedProvider.js"
