import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { Effect, Redacted, Stream } from "effect"
import * as Http from "node:http"
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

/** A request as the fixed server saw it. */
export interface ReceivedRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** How {@link serveFixed} sends its body. */
export interface ServeFixedOptions {
  /**
   * Stream the body in 1 KiB chunks with no `content-length`
   * (`transfer-encoding: chunked`) instead of sending it whole.
   */
  readonly chunked?: boolean
}

/**
 * Start a tiny HTTP server on 127.0.0.1 (a free port) in the current scope that
 * answers every request, whatever its method and path, with the same status,
 * headers and body: a scripted provider for wire shapes the simulator never
 * produces. Whole bodies go out with a `content-length`; `{ chunked: true }`
 * streams them without one.
 */
export const serveFixed = (
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string | Uint8Array,
  options: ServeFixedOptions = {}
) =>
  Effect.gen(function*() {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body
    const received: Array<ReceivedRequest> = []
    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { host: "127.0.0.1", port: 0 })
    // Runs before the server's own close: drop keep-alive connections.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      // Read the request body so the client never sees a half-read exchange.
      yield* Effect.ignore(request.arrayBuffer)
      received.push({ method: request.method, url: request.url, headers: { ...request.headers } })
      if (options.chunked === true) {
        const chunks: Array<Uint8Array> = []
        for (let at = 0; at < bytes.length; at += 1024) chunks.push(bytes.slice(at, at + 1024))
        return HttpServerResponse.stream(Stream.fromIterable(chunks), { status, headers })
      }
      return HttpServerResponse.uint8Array(bytes, {
        status,
        headers: { ...headers, "content-length": String(bytes.byteLength) }
      })
    })
    yield* server.serve(app)
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return {
      url: `http://127.0.0.1:${port}`,
      /** Every request received so far. */
      received: Effect.sync((): ReadonlyArray<ReceivedRequest> => [...received])
    }
  })

/** {@link serveFixed} with a JSON body (`content-type: application/json`). */
export const serveJson = (status: number, body: unknown, options: ServeFixedOptions = {}) =>
  serveFixed(status, { "content-type": "application/json" }, typeof body === "string" ? body : JSON.stringify(body), options)
