/**
 * The status page on a Node HTTP server of its own: `StatusServer.serve` on a
 * `node:http` server bound to `host:port`. Imported on its own
 * (`effect-ai-resilience/NodeStatusServer`) so that the library's root entry
 * point loads no Node server module; it needs `@effect/platform-node`.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { HttpServer } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { type Config, type ConfigError, Effect, Layer, type Option, type Redacted, type Scope } from "effect"
import * as Http from "node:http"
import type { ModelStatus } from "./ModelStatus.js"
import * as StatusServer from "./StatusServer.js"

/**
 * Options of {@link make}: the status page's, and where to listen.
 *
 * | option | default |
 * |---|---|
 * | `host` | `127.0.0.1` |
 * | `port` | 0 (any free port) |
 *
 * @since 0.1.0
 */
export interface Options extends StatusServer.StatusServerOptions {
  readonly host?: string | undefined
  readonly port?: number | undefined
}

/**
 * Serve the status page on `host:port` for as long as the scope lasts.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { ModelStatus, ResilientClient } from "effect-ai-resilience"
 * import * as NodeStatusServer from "effect-ai-resilience/NodeStatusServer"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ResilientClient.ResilientClient
 *   const server = yield* NodeStatusServer.make({ port: 8787 }).pipe(Effect.provideService(ModelStatus.ModelStatus, client.status))
 *   yield* Console.log(`status page: ${server.url}/`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<StatusServer.RunningStatusServer, ServeError | StatusServer.InvalidStatusServerOptions, ModelStatus | Scope.Scope> =>
  Effect.gen(function*() {
    const { host = "127.0.0.1", port = 0, ...page } = options
    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { host, port })
    // open event streams would keep the server from closing: drop them first
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    return yield* StatusServer.serve(page).pipe(Effect.provideService(HttpServer.HttpServer, server))
  })

/**
 * {@link make} with the token from the configuration
 * (`StatusServer.tokenConfig`): `STATUS_TOKEN=… node app.js` requires it, no
 * variable means no token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFromConfig = (
  options: Omit<Options, "token"> = {},
  token: Config.Config<Option.Option<Redacted.Redacted<string>>> = StatusServer.tokenConfig()
): Effect.Effect<
  StatusServer.RunningStatusServer,
  ServeError | StatusServer.InvalidStatusServerOptions | ConfigError.ConfigError,
  ModelStatus | Scope.Scope
> =>
  Effect.flatMap(token, (t) => make(t._tag === "Some" ? { ...options, token: t.value } : options))

/**
 * The server as a layer (for apps that keep it up as long as they run).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never, ServeError | StatusServer.InvalidStatusServerOptions, ModelStatus> =>
  Layer.scopedDiscard(make(options))

/**
 * {@link makeFromConfig} as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "token"> = {}
): Layer.Layer<never, ServeError | StatusServer.InvalidStatusServerOptions | ConfigError.ConfigError, ModelStatus> =>
  Layer.scopedDiscard(makeFromConfig(options))
