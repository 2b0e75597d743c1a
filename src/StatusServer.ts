/**
 * The status page, each model's status shown live (pushed, with polling as
 * the fallback): `@effect/platform` HttpServer routes over a
 * {@link ModelStatus}, served on the `HttpServer` the app provides ({@link serve};
 * the event stream's body is a Node stream, so `@effect/platform-node`'s server);
 * `NodeStatusServer` starts a Node server for it.
 *
 * - `GET /status` — the snapshot as JSON.
 * - `GET /status/events` — server-sent events: the snapshot on connect and
 *   on every change, with a heartbeat comment. At most `maxEventClients` at
 *   once; beyond that a 503 with `Retry-After` (the page then polls).
 * - `GET /` — an HTML page: a row per model coloured by health (green normal,
 *   yellow delayed, red unavailable, with the word too), its latency and
 *   baseline, traffic share, breaker state, and notes when a fallback serves,
 *   a vendor is down or a fallback was promoted. It updates itself from the
 *   events (and polls `/status` if they fail). Its script and style sheet are
 *   `GET /status/page.js` and `/status/page.css`: nothing inline, so it runs
 *   under a strict Content-Security-Policy.
 *
 * With a `token`, every route but the page's script and style sheet needs it:
 * `Authorization: Bearer <token>`, or the session cookie a browser gets by
 * posting the token from the login form the page shows (`POST
 * /status/login`); anything else is a 401. {@link serve} answers only
 * requests whose `Host` names it by an IP address, `localhost` or its bound
 * host (a 403 otherwise), so a foreign web page cannot read it by DNS
 * rebinding.
 *
 * @since 0.1.0
 */
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse, UrlParams } from "@effect/platform"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import { Config, type ConfigError, Data, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { forbiddenHostBody, hostCheck } from "./internal/hostCheck.js"
import * as Auth from "./internal/statusServer/auth.js"
import * as Events from "./internal/statusServer/events.js"
import { contentSecurityPolicy, loginPage, page, script, style } from "./internal/statusServer/page.js"
import { ModelStatus } from "./ModelStatus.js"

/**
 * Options of {@link serve} (and of {@link routes}: all but `allowedHosts`;
 * `NodeStatusServer.make` adds `host` and `port`).
 *
 * | option | default |
 * |---|---|
 * | `title` | `"Model status"` |
 * | `heartbeat` | 15 s (keeps proxies from closing the event stream) |
 * | `maxEventClients` | 100 event streams at once; more get a 503 with `Retry-After` |
 * | `token` | none: no token needed (see {@link serveFromConfig} for `STATUS_TOKEN`) |
 * | `allowedHosts` | none: only IP addresses, `localhost` and `host` are answered |
 *
 * @since 0.1.0
 */
export interface StatusServerOptions {
  readonly title?: string | undefined
  readonly heartbeat?: Duration.DurationInput | undefined
  /** Event streams served at once (an integer ≥ 0; 0: none, the page polls). */
  readonly maxEventClients?: number | undefined
  /** When set, every request needs it (bearer header or the login form's session cookie). */
  readonly token?: Redacted.Redacted<string> | undefined
  /**
   * Further host names the server answers to in `Host` (no port), e.g. the
   * machine's name when it is bound to `0.0.0.0`, or a reverse proxy's.
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
}

/**
 * An option of {@link serve} or {@link routes} that cannot work; `message`
 * names it.
 *
 * @since 0.1.0
 */
export class InvalidStatusServerOptions extends Data.TaggedError("InvalidStatusServerOptions")<{ readonly message: string }> {}

/** How many events a slow client may have waiting (newest kept): each is a whole snapshot. */
const clientQueueSize = 4

const checked = (options: StatusServerOptions): Effect.Effect<{ readonly maxEventClients: number }, InvalidStatusServerOptions> => {
  const maxEventClients = options.maxEventClients ?? 100
  if (!Number.isSafeInteger(maxEventClients) || maxEventClients < 0) {
    return Effect.fail(new InvalidStatusServerOptions({ message: `maxEventClients: must be a whole number ≥ 0, got ${maxEventClients}` }))
  }
  const blank = (options.allowedHosts ?? []).findIndex((h) => typeof h !== "string" || h.trim() === "")
  if (blank !== -1) return Effect.fail(new InvalidStatusServerOptions({ message: `allowedHosts[${blank}]: must be a host name` }))
  if (options.token !== undefined && Redacted.value(options.token).trim() === "") {
    return Effect.fail(new InvalidStatusServerOptions({ message: "token: must not be empty" }))
  }
  return Effect.succeed({ maxEventClients })
}

const noStore = { "cache-control": "no-store" }
const pageHeaders = { ...noStore, "content-security-policy": contentSecurityPolicy }
const htmlResponse = (body: string, status = 200) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8", headers: pageHeaders })

/**
 * The routes, to mount in your own `HttpServer` (they need {@link ModelStatus};
 * the event streams' shared fan-out lives as long as the scope). The `Host`
 * check is {@link serve}'s: a server of your own does its own.
 *
 * @example
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { Effect } from "effect"
 * import { StatusServer } from "effect-ai-resilience"
 *
 * const app = Effect.map(StatusServer.routes(), (status) => HttpRouter.empty.pipe(HttpRouter.mount("/ai", status)))
 * ```
 *
 * @since 0.1.0
 */
export const routes = (
  options: Omit<StatusServerOptions, "allowedHosts"> = {}
): Effect.Effect<HttpRouter.HttpRouter<never, never>, InvalidStatusServerOptions, ModelStatus | Scope.Scope> =>
  Effect.gen(function*() {
    const { maxEventClients } = yield* checked(options)
    const status = yield* ModelStatus
    const title = options.title ?? "Model status"
    const hub = yield* Events.make(status, {
      heartbeat: Duration.decode(options.heartbeat ?? Duration.seconds(15)),
      maxClients: maxEventClients,
      queueSize: clientQueueSize
    })
    const auth = options.token === undefined ? undefined : Auth.make(options.token)
    const unauthorized = HttpServerResponse.text("401 unauthorized: this status page needs its token\n", {
      status: 401,
      headers: { ...noStore, "www-authenticate": `Bearer realm="status"` }
    })
    const guard = <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, denied = unauthorized) =>
      auth === undefined ? handler : Effect.flatMap(
        HttpServerRequest.HttpServerRequest,
        (request): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> =>
          auth.authorized(request.headers["authorization"], request.cookies) ? handler : Effect.succeed(denied)
      )

    const events = Effect.map(hub.connect, Option.match({
      onNone: () =>
        HttpServerResponse.text("503 too many event streams: try again later, or poll /status\n", {
          status: 503,
          headers: { ...noStore, "retry-after": "30" }
        }),
      onSome: (queue) =>
        HttpServerResponse.raw(queue, {
          contentType: "text/event-stream",
          headers: { ...noStore, "x-accel-buffering": "no" }
        })
    }))

    // the token comes in the body: a URL would keep it in histories, proxies' logs and spans
    const login = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* request.urlParamsBody.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(4096)), Effect.option)
      const token = Option.flatMap(body, (params) => UrlParams.getFirst(params, "token"))
      if (auth !== undefined && Option.isSome(token) && auth.isToken(token.value.trim())) {
        // back to the page, relative so that it works wherever the routes are mounted
        return HttpServerResponse.empty({ status: 303, headers: { ...noStore, location: "../", "set-cookie": auth.sessionCookie } })
      }
      return htmlResponse(loginPage(title, true), 401)
    })

    const asset = (body: string, contentType: string) =>
      Effect.succeed(HttpServerResponse.text(body, { contentType, headers: { "cache-control": "no-cache" } }))

    const withLogin = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/status",
        guard(Effect.map(status.snapshot, (s) => HttpServerResponse.text(JSON.stringify(s), { contentType: "application/json", headers: noStore })))
      ),
      HttpRouter.get("/status/events", guard(events)),
      // the page's code and looks, the same for everyone: served without the token so the login form has them too
      HttpRouter.get("/status/page.js", asset(script, "text/javascript; charset=utf-8")),
      HttpRouter.get("/status/page.css", asset(style, "text/css; charset=utf-8")),
      HttpRouter.get(
        "/",
        guard(
          Effect.map(status.snapshot, (s) => htmlResponse(page(s, title))),
          htmlResponse(loginPage(title, false), 401)
        )
      )
    )
    return auth === undefined ? withLogin : withLogin.pipe(HttpRouter.post("/status/login", login))
  })

/**
 * A running status server.
 *
 * @since 0.1.0
 */
export interface RunningStatusServer {
  /** e.g. `"http://127.0.0.1:8787"`; the page is at `url + "/"`. */
  readonly url: string
  readonly port: number
  /** Whether requests need the token. */
  readonly tokenRequired: boolean
}

// on every answer of the server, not only the page: a JSON or text answer opened
// as a document must not run anything either
const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
}

/**
 * Serve the status page on the `HttpServer` in context (platform-node's: the
 * event stream's body is a Node stream) for as
 * long as the scope lasts: the {@link routes} behind the `Host` check (the
 * server's bound host, IP addresses, `localhost` and `allowedHosts`) with the
 * security headers on every answer. `NodeStatusServer.make` starts a Node
 * server for it.
 *
 * @example
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { createServer } from "node:http"
 * import { ResilientClient, StatusServer, ModelStatus } from "effect-ai-resilience"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ResilientClient.ResilientClient
 *   const server = yield* StatusServer.serve().pipe(Effect.provideService(ModelStatus.ModelStatus, client.status))
 *   console.log(`status page: ${server.url}/`)
 * }).pipe(Effect.provide(NodeHttpServer.layer(createServer, { port: 8787 })))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  options: StatusServerOptions = {}
): Effect.Effect<RunningStatusServer, InvalidStatusServerOptions, ModelStatus | HttpServer.HttpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const router = yield* routes(options)
    const address = server.address
    const host = address._tag === "TcpAddress" ? address.hostname : "localhost"
    const port = address._tag === "TcpAddress" ? address.port : 0
    const allowed = hostCheck(host, options.allowedHosts)
    const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      allowed(request.headers["host"])
        ? router.pipe(Effect.catchTag("RouteNotFound", () => HttpServerResponse.text("404 not found\n", { status: 404 })))
        : Effect.succeed(HttpServerResponse.text(forbiddenHostBody, { status: 403 }))).pipe(
        Effect.map(HttpServerResponse.setHeaders(securityHeaders))
      )
    // an event stream's span would last as long as the client stays and say nothing: none for them
    yield* server.serve(app).pipe(
      Effect.locallyWith(HttpMiddleware.currentTracerDisabledWhen, (disabled) => (request) =>
        request.url.startsWith("/status/events") || disabled(request))
    )
    return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, port, tokenRequired: options.token !== undefined }
  })

/**
 * The token from the configuration: `STATUS_TOKEN` (or `name`), optional,
 * with blanks around it removed; set but blank is a `ConfigError`.
 *
 * @since 0.1.0
 */
export const tokenConfig = (name = "STATUS_TOKEN"): Config.Config<Option.Option<Redacted.Redacted<string>>> =>
  Config.option(
    Config.redacted(
      Config.string().pipe(
        Config.map((token) => token.trim()),
        Config.validate({ message: "must not be blank", validation: (token) => token !== "" }),
        Config.nested(name)
      )
    )
  )

/**
 * {@link serve} with the token from the configuration ({@link tokenConfig}):
 * `STATUS_TOKEN=… node app.js` requires it, no variable means no token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serveFromConfig = (
  options: Omit<StatusServerOptions, "token"> = {},
  token: Config.Config<Option.Option<Redacted.Redacted<string>>> = tokenConfig()
): Effect.Effect<RunningStatusServer, InvalidStatusServerOptions | ConfigError.ConfigError, ModelStatus | HttpServer.HttpServer | Scope.Scope> =>
  Effect.flatMap(token, (t) => serve({ ...options, ...Option.match(t, { onNone: () => ({}), onSome: (value) => ({ token: value }) }) }))

/**
 * {@link serve} as a layer, on the `HttpServer` the app provides.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: StatusServerOptions = {}
): Layer.Layer<never, InvalidStatusServerOptions, ModelStatus | HttpServer.HttpServer> => Layer.scopedDiscard(serve(options))
