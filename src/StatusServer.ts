/**
 * The status page (SPEC §6: show each model's status live, polling plus
 * push): `@effect/platform` HttpServer routes over a {@link ModelStatus}.
 *
 * - `GET /status` — the snapshot as JSON.
 * - `GET /status/events` — server-sent events: the snapshot on connect and
 *   on every change, with a heartbeat comment.
 * - `GET /` — an HTML page: a row per model coloured by health (green normal,
 *   yellow delayed, red unavailable, with the word too), its latency and
 *   baseline, traffic share, breaker state, and notes when a fallback serves,
 *   a vendor is down or a fallback was promoted. It updates itself from the
 *   events (and polls `/status` if they fail).
 *
 * @since 0.1.0
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Duration, Effect, Layer, Schedule, type Scope, Stream } from "effect"
import * as Http from "node:http"
import { page } from "./internal/statusServer/page.js"
import { ModelStatus } from "./ModelStatus.js"

/**
 * Options of {@link make}.
 *
 * | option | default |
 * |---|---|
 * | `host` | `127.0.0.1` |
 * | `port` | 0 (any free port) |
 * | `title` | `"Model status"` |
 * | `heartbeat` | 15 s (keeps proxies from closing the event stream) |
 *
 * @since 0.1.0
 */
export interface StatusServerOptions {
  readonly host?: string
  readonly port?: number
  readonly title?: string
  readonly heartbeat?: Duration.DurationInput
}

const encoder = new TextEncoder()

/**
 * The routes, to mount in your own `HttpServer` (they need {@link ModelStatus}).
 *
 * @example
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { StatusServer } from "effect-ai-resilience"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.mount("/ai", StatusServer.routes()))
 * ```
 *
 * @since 0.1.0
 */
export const routes = (options: Pick<StatusServerOptions, "title" | "heartbeat"> = {}) => {
  const title = options.title ?? "Model status"
  const heartbeat = Duration.decode(options.heartbeat ?? Duration.seconds(15))
  return HttpRouter.empty.pipe(
    HttpRouter.get(
      "/status",
      Effect.flatMap(ModelStatus, (status) => Effect.flatMap(status.snapshot, (s) => HttpServerResponse.json(s))).pipe(
        Effect.map(HttpServerResponse.setHeader("cache-control", "no-store"))
      )
    ),
    HttpRouter.get(
      "/status/events",
      Effect.map(ModelStatus, (status) => {
        // subscribed (for as long as the response streams) before the first snapshot is read: no change falls in between
        const events = Stream.unwrapScoped(Effect.map(status.snapshots, (pushed) => Stream.concat(Stream.fromEffect(status.snapshot), pushed))).pipe(
          Stream.map((s) => `data: ${JSON.stringify(s)}\n\n`)
        )
        const beats = Stream.repeatEffectWithSchedule(Effect.succeed(": heartbeat\n\n"), Schedule.spaced(heartbeat)).pipe(Stream.drop(1))
        return HttpServerResponse.stream(
          Stream.merge(events, beats, { haltStrategy: "left" }).pipe(Stream.map((text) => encoder.encode(text))),
          { contentType: "text/event-stream", headers: { "cache-control": "no-store", "x-accel-buffering": "no" } }
        )
      })
    ),
    HttpRouter.get(
      "/",
      Effect.flatMap(ModelStatus, (status) => Effect.map(status.snapshot, (s) => HttpServerResponse.html(page(s, title))))
    )
  )
}

/**
 * A running status server.
 *
 * @since 0.1.0
 */
export interface RunningStatusServer {
  /** e.g. `"http://127.0.0.1:8787"`; the page is at `url + "/"`. */
  readonly url: string
  readonly port: number
}

/**
 * Serve the status page on `host:port` for as long as the scope lasts.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { ResilientClient, StatusServer, ModelStatus } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ResilientClient.ResilientClient
 *   const server = yield* StatusServer.make({ port: 8787 }).pipe(Effect.provideService(ModelStatus.ModelStatus, client.status))
 *   yield* Console.log(`status page: ${server.url}/`)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: StatusServerOptions = {}
): Effect.Effect<RunningStatusServer, ServeError, ModelStatus | Scope.Scope> =>
  Effect.gen(function*() {
    const status = yield* ModelStatus
    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { host: options.host ?? "127.0.0.1", port: options.port ?? 0 })
    // open event streams would keep the server from closing: drop them first
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const app = routes(options).pipe(
      Effect.catchTag("RouteNotFound", () => HttpServerResponse.text("not found", { status: 404 })),
      Effect.provideService(ModelStatus, status)
    )
    yield* server.serve(app)
    const host = options.host ?? "127.0.0.1"
    return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, port }
  })

/**
 * The server as a layer (for apps that keep it up as long as they run).
 *
 * @since 0.1.0
 */
export const layer = (options: StatusServerOptions = {}): Layer.Layer<never, ServeError, ModelStatus> =>
  Layer.scopedDiscard(make(options))
