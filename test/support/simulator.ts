import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import * as Gemini from "../../src/Gemini.js"
import * as OpenAICompatible from "../../src/OpenAICompatible.js"
import * as Simulator from "../../src/Simulator.js"

export const KEY = "sk-test-secret-key-abcdef123456"
export const apiKey = Redacted.make(KEY)

const instant = { medianMs: 0, p95Ms: 0 }

/** A simulator with no latency and no random faults: outcomes come only from directives. */
export const testConfig = (extra: Partial<Simulator.SimulatorConfigInput> = {}) =>
  Simulator.makeConfig({
    seed: 7,
    timeScale: 1,
    apiKeys: [KEY],
    models: [
      { id: "gpt-4.1-mini", vendor: "openai", kind: "text", latency: instant, contextWindow: 1000 },
      { id: "gemini-2.5-flash", vendor: "google", kind: "text", latency: instant, contextWindow: 1000 },
      { id: "gpt-image-1.5", vendor: "openai", kind: "image", latency: instant, capabilities: { responseFormat: false, defaultImageOutput: "b64_json", maxImages: 4 } },
      { id: "flux-2-pro", vendor: "bfl", kind: "image", latency: instant, capabilities: { defaultImageOutput: "url", revisesPrompt: true, maxImages: 1 } },
      { id: "gemini-2.5-flash-image", vendor: "google", kind: "image", latency: instant },
      { id: "sora-2", vendor: "openai", kind: "video", videoDialect: "openai", latency: instant, video: { queueSeconds: 20, renderSeconds: 60 } },
      { id: "kling-v2", vendor: "kuaishou", kind: "video", videoDialect: "kling", latency: instant, video: { queueSeconds: 20, renderSeconds: 60 } },
      { id: "gen4_turbo", vendor: "runway", kind: "video", videoDialect: "runway", latency: instant, video: { queueSeconds: 20, renderSeconds: 60 } }
    ],
    ...extra
  })

/** Start a simulator in the current scope (so the test's clock drives it) and adapters pointed at it. */
export const startSimulator = (config = testConfig()) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.make(config)
    const openai = yield* OpenAICompatible.make({ name: "gateway", baseUrl: sim.url, apiKey, timeout: "30 seconds" })
    const gemini = yield* Gemini.make({ name: "gemini", baseUrl: sim.url, apiKey, timeout: "30 seconds" })
    return { sim, openai, gemini }
  })

export const HttpLive = NodeHttpClient.layerUndici
