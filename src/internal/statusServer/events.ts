/**
 * The event stream's fan-out: one subscription to the status, one encoding
 * per change for every client, one heartbeat timer, and per client only a
 * small sliding queue of references to the shared bytes.
 *
 * Each event carries the whole snapshot, so a client that cannot keep up
 * loses nothing by skipping older ones: its queue keeps the newest few and
 * drops the oldest. Heartbeats go only to clients with nothing queued (they
 * exist to keep an idle connection open), so they never push a snapshot out.
 *
 * @internal
 */
import { type Duration, Effect, Option, Schedule, type Scope, Stream } from "effect"
import { PassThrough, type Readable } from "node:stream"
import type { ModelStatusService, StatusSnapshot } from "../../ModelStatus.js"

const encoder = new TextEncoder()
const encode = (snapshot: StatusSnapshot): Uint8Array => encoder.encode(`data: ${JSON.stringify(snapshot)}\n\n`)
const heartbeatBytes = encoder.encode(": heartbeat\n\n")

/** @internal */
export interface EventHub {
  /**
   * A client's queue, holding the current snapshot already, for as long as
   * the scope lasts; `None` when `maxClients` are connected.
   */
  readonly connect: Effect.Effect<Option.Option<Readable>, never, Scope.Scope>
  /** Clients connected now. */
  readonly clients: Effect.Effect<number>
}

/** @internal */
export const make = (
  status: ModelStatusService,
  options: { readonly heartbeat: Duration.Duration; readonly maxClients: number; readonly queueSize: number }
): Effect.Effect<EventHub, never, Scope.Scope> =>
  Effect.gen(function*() {
    interface Client {
      readonly out: PassThrough
      pending: Uint8Array | undefined
    }
    const clients = new Set<Client>()
    // when the hub's scope ends, end the streams still open: the server runs each
    // request on a fiber of its own, so closing it alone would wait for them
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const client of clients) client.out.end()
        clients.clear()
      })
    )
    const send = (client: Client, bytes: Uint8Array) => {
      if (client.pending !== undefined) {
        client.pending = bytes
        return
      }
      if (!client.out.write(bytes)) client.pending = heartbeatBytes
    }
    // a client's first snapshot and every broadcast are read and queued under
    // one lock, so a client never gets an older snapshot after a newer one
    const lock = yield* Effect.makeSemaphore(1)
    const broadcast = lock.withPermits(1)(
      Effect.suspend(() =>
        clients.size === 0 ? Effect.void : Effect.map(status.snapshot, (snapshot) => {
          const bytes = encode(snapshot)
          for (const client of clients) send(client, bytes)
        })
      )
    )
    // subscribed here, before any client can connect; the fiber only drains it
    // (`snapshots` is the subscribing effect: piping it into a Stream operator
    // would treat the effect itself as a one-element stream)
    const changes = yield* status.snapshots
    yield* changes.pipe(Stream.runForEach(() => broadcast), Effect.forkScoped)
    yield* Effect.sync(() => {
      for (const client of clients) if (client.pending === undefined) send(client, heartbeatBytes)
    }).pipe(Effect.repeat(Schedule.spaced(options.heartbeat)), Effect.delay(options.heartbeat), Effect.forkScoped)

    const connect = lock.withPermits(1)(
      Effect.gen(function*() {
        if (clients.size >= options.maxClients) return Option.none()
        const client: Client = { out: new PassThrough({ highWaterMark: 16 * 1024 }), pending: undefined }
        client.out.on("drain", () => {
          const bytes = client.pending
          client.pending = undefined
          if (bytes !== undefined) send(client, bytes)
        })
        clients.add(client)
        yield* Effect.addFinalizer(() => Effect.sync(() => { clients.delete(client); client.out.destroy() }))
        send(client, encode(yield* status.snapshot))
        return Option.some<Readable>(client.out)
      })
    ).pipe(Effect.uninterruptible)

    return { connect, clients: Effect.sync(() => clients.size) }
  })
