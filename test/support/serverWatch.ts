import { Effect } from "effect"
import * as DiagnosticsChannel from "node:diagnostics_channel"
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { ioTurn } from "./clock.js"

/** One HTTP exchange as the server saw it. */
export interface ServerExchange {
  readonly method: string
  readonly url: string
  /** The server finished writing its answer. */
  answered: boolean
  /** The exchange is over (answered, or the connection went away). */
  closed: boolean
  /** The connection went away before the server answered: the client hung up. */
  abandoned: boolean
}

/**
 * Watch, server-side, every HTTP exchange of the Node server listening on
 * `port` (the simulator's): when each one starts, whether the server
 * answered it, and whether the client closed the connection first. It hooks
 * Node's own `http.server.request.start` diagnostics channel, so it sees the
 * simulator's real requests and sockets without changing the simulator.
 * Unsubscribes when the scope closes.
 */
export const watchServer = (port: number) =>
  Effect.gen(function*() {
    const exchanges: Array<ServerExchange> = []
    const onStart = (message: unknown) => {
      const { request, response, server } = message as {
        readonly request: Http.IncomingMessage
        readonly response: Http.ServerResponse
        readonly server: Http.Server
      }
      const address = server.address() as AddressInfo | null
      if (address === null || address.port !== port) return
      const exchange: ServerExchange = {
        method: request.method ?? "",
        url: request.url ?? "",
        answered: false,
        closed: false,
        abandoned: false
      }
      exchanges.push(exchange)
      response.on("finish", () => {
        exchange.answered = true
      })
      response.on("close", () => {
        exchange.closed = true
        if (!exchange.answered && !response.writableFinished) exchange.abandoned = true
      })
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => DiagnosticsChannel.subscribe("http.server.request.start", onStart)),
      () => Effect.sync(() => DiagnosticsChannel.unsubscribe("http.server.request.start", onStart))
    )
    const generation = (e: ServerExchange) => !e.url.startsWith("/_simulator/") && !e.url.startsWith("/files/")
    return {
      /** Every generation exchange so far (admin and file routes left out). */
      exchanges: Effect.sync((): ReadonlyArray<ServerExchange> => exchanges.filter(generation).map((e) => ({ ...e }))),
      /** Generation exchanges the server is still holding open. */
      open: Effect.sync(() => exchanges.filter((e) => generation(e) && !e.closed).length),
      /** Generation exchanges whose client hung up before the answer. */
      abandoned: Effect.sync(() => exchanges.filter((e) => generation(e) && e.abandoned).length)
    }
  })

/**
 * Let real I/O run (event-loop turns, the clock untouched) until `condition`
 * holds; dies naming `what` if it does not within `maxTurns` turns.
 */
export const untilIo = (what: string, condition: Effect.Effect<boolean>, maxTurns = 2000) =>
  Effect.gen(function*() {
    for (let i = 0; i < maxTurns; i++) {
      if (yield* condition) return
      yield* ioTurn
    }
    if (yield* condition) return
    return yield* Effect.dieMessage(`gave up waiting (${maxTurns} I/O turns) for: ${what}`)
  })
