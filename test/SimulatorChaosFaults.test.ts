/**
 * The simulator's body-level chaos faults — `oversizedBody`
 * (5 MiB), `slowDrip` and `midResponseDisconnect` — on the wire (raw
 * `node:http`, so nothing hides what the socket does) and through both
 * adapters, which must turn each into a typed failure.
 */
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import * as Http from "node:http"
import type { HardFailure } from "../src/Failure.js"
import * as Gemini from "../src/Gemini.js"
import * as OpenAICompatible from "../src/OpenAICompatible.js"
import * as Simulator from "../src/Simulator.js"
import { Message, TextRequest } from "../src/TextGeneration.js"
import { watchServer, untilIo } from "./support/serverWatch.js"
import { apiKey, HttpLive, KEY, testConfig } from "./support/simulator.js"

const ask = (model: string, prompt: string) => TextRequest.make({ model, messages: [Message.make({ role: "user", content: prompt })] })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

interface RawExchange {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  /** Bytes of the body received, in arrival order. */
  readonly pieces: ReadonlyArray<number>
  readonly body: string
  /** "end": the body ended normally; "aborted": the connection closed mid-body; "open": still open when we looked. */
  readonly ending: "end" | "aborted" | "open"
}

/**
 * POST a chat completion over a fresh socket and watch the answer for
 * `watchMs` real milliseconds (or until it ends), then drop the connection.
 */
const rawChat = (url: string, prompt: string, watchMs: number): Promise<RawExchange> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify({ model: "gpt-4.1-mini", messages: [{ role: "user", content: prompt }] })
    const request = Http.request(`${url}/v1/chat/completions`, {
      method: "POST",
      agent: false,
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
    }, (response) => {
      const pieces: Array<number> = []
      const chunks: Array<Buffer> = []
      let settled = false
      const finish = (ending: RawExchange["ending"]) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        request.destroy()
        resolve({ status: response.statusCode ?? 0, headers: response.headers, pieces, body: Buffer.concat(chunks).toString("utf8"), ending })
      }
      const timer = setTimeout(() => finish("open"), watchMs)
      response.on("data", (chunk: Buffer) => {
        pieces.push(chunk.byteLength)
        chunks.push(chunk)
      })
      response.on("end", () => finish(response.complete ? "end" : "aborted"))
      response.on("aborted", () => finish("aborted"))
      response.on("error", () => finish("aborted"))
      response.on("close", () => finish(response.complete ? "end" : "aborted"))
    })
    request.on("error", reject)
    request.end(payload)
  })

/** The simulator in the current scope, with both adapters (bounded at `maxResponseBytes`). */
const start = (options: { readonly maxResponseBytes?: number; readonly timeout?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.make(testConfig())
    const timeout: Duration.DurationInput = options.timeout ?? "30 seconds"
    const common = { baseUrl: sim.url, apiKey, timeout, ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }) }
    const openai = yield* OpenAICompatible.make({ name: "gateway", ...common })
    const gemini = yield* Gemini.make({ name: "gemini", ...common })
    return { sim, adapters: [["openai", openai, "gpt-4.1-mini"], ["gemini", gemini, "gemini-2.5-flash"]] as const }
  })

/** An HttpClient that counts the response body bytes its callers actually pulled. */
const countingClient = Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const counter = { bytes: 0 }
  const counting = HttpClient.transformResponse(client, (effect) =>
    Effect.map(effect, (response) => {
      const proxy = Object.create(response)
      Object.defineProperty(proxy, "stream", {
        get: () => response.stream.pipe(Stream.tap((chunk) => Effect.sync(() => (counter.bytes += chunk.byteLength))))
      })
      return proxy
    }))
  return { counter, client: counting }
})

describe("Simulator chaos faults: config and tags", () => {
  it("the new faults are in the Fault schema, come last in the draw order, and have profile keys defaulting to 0", () => {
    expect(Simulator.FAULTS.slice(-3)).toEqual(["oversizedBody", "slowDrip", "midResponseDisconnect"])
    const config = Simulator.makeConfig({
      models: [{ id: "m", vendor: "v", kind: "text", faults: { oversizedBody: 0.1, slowDrip: 0.1, midResponseDisconnect: 0.1 } }]
    })
    expect(config.models[0]!.faults.slowDrip).toBe(0.1)
    // an old config without the keys still decodes, with the new faults off
    const old = Simulator.makeConfig({ models: [{ id: "m", vendor: "v", kind: "text", faults: { hang: 0.5 } }] })
    expect([old.models[0]!.faults.oversizedBody, old.models[0]!.faults.slowDrip, old.models[0]!.faults.midResponseDisconnect]).toEqual([0, 0, 0])
    expect(Simulator.OVERSIZED_BODY_BYTES).toBe(5 * 1024 * 1024)
  })
})

describe("Simulator chaos faults on the wire", () => {
  it.scoped("[sim:oversizedBody]: HTTP 200, exactly 5 MiB of valid JSON carrying the answer, chunked then with a content-length", () =>
    Effect.gen(function*() {
      const { sim } = yield* start()
      const raw = yield* Effect.promise(() => rawChat(sim.url, "Hello [sim:oversizedBody]", 20_000))
      expect(raw.status).toBe(200)
      expect(raw.ending).toBe("end")
      expect(raw.headers["content-length"]).toBeUndefined()
      expect(raw.headers["transfer-encoding"]).toBe("chunked")
      expect(Buffer.byteLength(raw.body)).toBe(Simulator.OVERSIZED_BODY_BYTES)
      const json = JSON.parse(raw.body)
      expect(json.object).toBe("chat.completion")
      expect(json.choices[0].finish_reason).toBe("stop")
      // the model's second one declares its length
      const declared = yield* Effect.promise(() => rawChat(sim.url, "Hello [sim:oversizedBody]", 20_000))
      expect(declared.status).toBe(200)
      expect(declared.ending).toBe("end")
      expect(declared.headers["content-length"]).toBe(String(Simulator.OVERSIZED_BODY_BYTES))
      expect(Buffer.byteLength(declared.body)).toBe(Simulator.OVERSIZED_BODY_BYTES)
      expect(JSON.parse(declared.body).object).toBe("chat.completion")
      expect((yield* sim.snapshot).models.find((m) => m.id === "gpt-4.1-mini")?.outcomes.oversizedBody).toBe(2)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("[sim:slowDrip]: HTTP 200 headers at once, then the first 8-byte piece, then nothing until the clock moves", () =>
    Effect.gen(function*() {
      const { sim } = yield* start()
      // the simulator's clock is the TestClock: the next piece is due in 5 s of it, which never come
      const raw = yield* Effect.promise(() => rawChat(sim.url, "Hello [sim:slowDrip]", 400))
      expect(raw.status).toBe(200)
      expect(raw.ending).toBe("open")
      expect(raw.pieces).toEqual([Simulator.SLOW_DRIP_BYTES])
      expect(raw.body).toBe(`{"id":"c`)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("[sim:midResponseDisconnect]: HTTP 200 headers and half the body, then the connection closes before the body ends", () =>
    Effect.gen(function*() {
      const { sim } = yield* start()
      const raw = yield* Effect.promise(() => rawChat(sim.url, "Hello [sim:midResponseDisconnect]", 5_000))
      expect(raw.status).toBe(200)
      expect(raw.ending).toBe("aborted")
      expect(raw.body.startsWith(`{"id":"chatcmpl-`)).toBe(true)
      expect(() => JSON.parse(raw.body)).toThrow()
      // the same prompt unfaulted: the half is half of it
      const whole = yield* Effect.promise(() => rawChat(sim.url, "Hello [sim:ok]", 5_000))
      expect(Math.abs(raw.body.length - whole.body.length / 2)).toBeLessThan(64)
    }).pipe(Effect.provide(HttpLive)))
})

describe("Simulator chaos faults through the adapters: typed failures", () => {
  it.scoped("oversizedBody over maxResponseBytes 64 KiB is HardFailure(ServerError) 'over the limit', reading ~64 KiB of the 5 MiB", () =>
    Effect.gen(function*() {
      const { client, counter } = yield* countingClient
      const { adapters, sim } = yield* Effect.provideService(start({ maxResponseBytes: 65_536 }), HttpClient.HttpClient, client)
      const server = yield* watchServer(sim.port)
      for (const [name, provider, model] of adapters) {
        // chunked: read chunk by chunk and cut off past the limit
        counter.bytes = 0
        const failure = failureOf(yield* Effect.exit(provider.generateText(ask(model, "Hello [sim:oversizedBody]")))) as HardFailure
        expect([name, failure._tag, failure.reason, failure.status]).toEqual([name, "HardFailure", "ServerError", 200])
        expect(failure.message).toMatch(/over the 65536-byte limit/)
        // not buffered: what was pulled is the limit plus at most a chunk or two of the socket
        expect(counter.bytes).toBeGreaterThan(65_536)
        expect(counter.bytes).toBeLessThan(1024 * 1024)
        // with a Content-Length of 5 MiB: refused from the header, nothing read
        counter.bytes = 0
        const declared = failureOf(yield* Effect.exit(provider.generateText(ask(model, "Hello [sim:oversizedBody]")))) as HardFailure
        expect([name, declared._tag, declared.reason, declared.status]).toEqual([name, "HardFailure", "ServerError", 200])
        expect(declared.message).toContain(`response body of ${Simulator.OVERSIZED_BODY_BYTES} bytes is over the 65536-byte limit`)
        // refused from the header: at most the first chunk is pulled, to cancel the body
        expect(counter.bytes).toBeLessThan(1024 * 1024)
        // and the connection is given up at once, not held until the response is collected
        yield* untilIo("the client hangs up on the refused 5 MiB body", Effect.map(server.open, (open) => open === 0))
      }
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("oversizedBody under the default 64 MiB limit is read whole and is a normal answer", () =>
    Effect.gen(function*() {
      const { adapters } = yield* start()
      for (const [, provider, model] of adapters) {
        for (let i = 0; i < 2; i++) {
          const result = yield* provider.generateText(ask(model, "Hello [sim:oversizedBody]"))
          expect(result.content?.length).toBeGreaterThan(10)
        }
      }
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("slowDrip is HardFailure(Timeout) after the adapter's time-out (TestClock), not a hang", () =>
    Effect.gen(function*() {
      const { adapters } = yield* start({ timeout: "20 seconds" })
      for (const [name, provider, model] of adapters) {
        const fiber = yield* Effect.fork(Effect.exit(provider.generateText(ask(model, "Hello [sim:slowDrip]"))))
        // three more pieces drip (5 s each) — the exchange is still going
        for (let i = 0; i < 3; i++) {
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 30)))
          yield* TestClock.adjust("5 seconds")
        }
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 30)))
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("5 seconds")
        const failure = failureOf(yield* Fiber.join(fiber)) as HardFailure
        expect([name, failure._tag, failure.reason]).toEqual([name, "HardFailure", "Timeout"])
        expect(failure.message).toContain("20s")
      }
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("midResponseDisconnect is HardFailure(Network): connection lost while reading the HTTP 200 body", () =>
    Effect.gen(function*() {
      const { adapters } = yield* start()
      for (const [name, provider, model] of adapters) {
        const failure = failureOf(yield* Effect.exit(provider.generateText(ask(model, "Hello [sim:midResponseDisconnect]")))) as HardFailure
        expect([name, failure._tag, failure.reason, failure.status]).toEqual([name, "HardFailure", "Network", 200])
        expect(failure.message).toMatch(/connection lost while reading the HTTP 200 response body/)
      }
    }).pipe(Effect.provide(HttpLive)))
})

