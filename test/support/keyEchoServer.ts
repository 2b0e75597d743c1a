import { Effect, type Scope } from "effect"
import * as Http from "node:http"

/** What a key-echo handler sees of one request: the whole body and the key it carried. */
export interface EchoRequest {
  readonly method: string
  readonly path: string
  readonly body: string
  /** From `authorization: Bearer …` or `x-goog-api-key`. */
  readonly key: string
  /** Whether it came on a Gemini route. */
  readonly google: boolean
}

/** A provider stand-in that quotes the key it is sent, and what it received. */
export interface KeyEchoServer {
  readonly url: string
  readonly received: () => number
  readonly keys: ReadonlySet<string>
}

/**
 * A server on 127.0.0.1 (a free port) for the length of the scope that reads
 * each request whole and lets `answer` reply, counting the requests and the
 * keys they carried: the frame of the hostile providers of the secrets suites.
 */
export const keyEchoServer = (
  answer: (request: EchoRequest, response: Http.ServerResponse) => void
): Effect.Effect<KeyEchoServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<KeyEchoServer & { readonly server: Http.Server }>((resume) => {
      let received = 0
      const keys = new Set<string>()
      const server = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk: Buffer) => {
          body += chunk.toString("utf8")
        })
        req.on("end", () => {
          received++
          const auth = req.headers["authorization"]
          const key = typeof auth === "string" ? auth.replace(/^Bearer /, "") : String(req.headers["x-goog-api-key"] ?? "")
          keys.add(key)
          const path = req.url ?? ""
          answer({ method: req.method ?? "GET", path, body, key, google: path.startsWith("/v1beta/") }, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, server, received: () => received, keys }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
