import { Effect, type Scope } from "effect"
import * as Http from "node:http"

/** An answer read by {@link rawRequest}. */
export interface RawReply {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  /** The whole body; for an event stream, what arrived in its first chunk. */
  readonly body: string
}

/**
 * One request with node:http, sent to 127.0.0.1 whatever `Host` says (an
 * HTTP client built on URLs cannot send a `Host` other than the URL's, which
 * is what a DNS-rebinding page does). No agent: a connection of its own.
 */
export const rawRequest = (
  port: number,
  path: string,
  options: { readonly method?: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: string } = {}
): Effect.Effect<RawReply> =>
  Effect.async<RawReply>((resume) => {
    const request = Http.request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { ...options.headers }, agent: false },
      (response) => {
        const chunks: Array<Buffer> = []
        const done = () => resume(Effect.succeed({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }))
        if (response.headers["content-type"]?.startsWith("text/event-stream") === true) {
          response.once("data", (chunk: Buffer) => {
            chunks.push(chunk)
            done()
            response.destroy()
          })
          return
        }
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", done)
      }
    )
    request.on("error", (error) => resume(Effect.die(error)))
    request.end(options.body)
    return Effect.sync(() => request.destroy())
  })

/**
 * An event stream held open for as long as the scope lasts (or until `close`):
 * its status once the headers arrive.
 */
export const openStream = (
  port: number,
  path: string,
  headers: Readonly<Record<string, string>> = {}
): Effect.Effect<{ readonly status: number; readonly headers: Http.IncomingHttpHeaders; readonly close: Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly status: number; readonly headers: Http.IncomingHttpHeaders; readonly request: Http.ClientRequest }>((resume) => {
      const request = Http.request({ host: "127.0.0.1", port, path, headers: { host: `127.0.0.1:${port}`, ...headers }, agent: false }, (response) => {
        response.resume()
        resume(Effect.succeed({ status: response.statusCode ?? 0, headers: response.headers, request }))
      })
      request.on("error", () => undefined)
      request.end()
    }),
    ({ request }) => Effect.sync(() => request.destroy())
  ).pipe(Effect.map(({ headers, request, status }) => ({ status, headers, close: Effect.sync(() => request.destroy()) })))
