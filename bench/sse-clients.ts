/**
 * What an idle status-page event client costs the server: `node --expose-gc
 * dist-bench/bench/sse-clients.js [--clients N] [--events K] [--snapshots]`
 * (after `tsc -p tsconfig.bench.json`; `--snapshots` also writes heap
 * snapshots before, with the clients and after them to the temp directory).
 *
 * The status server runs in a child process (this file with `--serve`, run
 * with `--expose-gc`) so that the clients' own sockets are not counted. The
 * parent opens N raw TCP connections to `/status/events`, waits until every
 * one has its first event, then has the child push K changes to all of
 * them, and asks the child for `process.memoryUsage()` after `gc()` at each
 * step: before any client, with N clients connected, after the K changes, and
 * after they have all gone. Per client = (heapUsed, rss with clients −
 * before) / N. The peak RSS is sampled every 20 ms while the clients connect
 * and the changes go out.
 */
import { fork } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

interface Usage {
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
  readonly peakRss: number
  readonly sockets: number
}

const serve = async () => {
  // the IPC channel keeps a child alive only once it has a message listener: hold it open until then
  const hold = setInterval(() => undefined, 1 << 30)
  const { Effect, Exit, Scope } = await import("effect")
  const CircuitBreaker = await import("../src/CircuitBreaker.js")
  const ModelStatus = await import("../src/ModelStatus.js")
  const NodeStatusServer = await import("../src/NodeStatusServer.js")
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the child with --expose-gc")
  const models = Array.from({ length: 8 }, (_, i) => ({ model: `model-${i}`, vendor: `vendor-${i % 3}` }))
  const scope = Effect.runSync(Scope.make())
  const { status, server } = await Effect.runPromise(
    Effect.gen(function*() {
      const status = yield* ModelStatus.make({ lists: { image: models } })
      const maxEventClients = Number(process.env["SSE_CAP"] ?? "100000")
      const server = yield* NodeStatusServer.make({ maxEventClients }).pipe(
        Effect.provideService(ModelStatus.ModelStatus, status)
      )
      return { status, server }
    }).pipe(Effect.provide(CircuitBreaker.layer()), Scope.extend(scope))
  )
  let peakRss = 0
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }, 20).unref()
  const usage = (): Usage => {
    for (let i = 0; i < 3; i++) gc()
    const m = process.memoryUsage()
    const sockets = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length
    const out = { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, peakRss, sockets }
    peakRss = m.rss
    return out
  }
  let flips = 0
  const change = async () => {
    // three failures make model-0 unavailable, a success brings it back: two changes
    const model = models[flips++ % models.length]!.model
    for (let i = 0; i < 3; i++) {
      await Effect.runPromise(status.record({ model, outcome: "failure", latencyMs: 1, category: "hard", reason: "Overloaded" }))
    }
    await Effect.runPromise(status.record({ model, outcome: "success", latencyMs: 1 }))
  }
  process.on("message", async (message: { readonly op: string; readonly n?: number }) => {
    if (message.op === "usage") process.send!({ op: "usage", usage: usage() })
    if (message.op === "snapshot") {
      usage()
      const { writeHeapSnapshot } = await import("node:v8")
      const { tmpdir } = await import("node:os")
      process.send!({ op: "snapshot", file: writeHeapSnapshot(`${tmpdir()}/sse-clients-${message.n}.heapsnapshot`) })
    }
    if (message.op === "change") {
      for (let i = 0; i < (message.n ?? 1); i++) await change()
      process.send!({ op: "changed" })
    }
    if (message.op === "stop") {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      process.exit(0)
    }
  })
  clearInterval(hold)
  process.send!({ op: "ready", port: server.port })
}

const main = async () => {
  const clients = arg("--clients", 2000)
  const events = arg("--events", 5)
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { execArgv: ["--expose-gc"], stdio: "inherit" })
  child.on("exit", (code) => {
    if (code !== 0) console.error(`the server child exited with ${code}`)
  })
  const next = (_op: string) => new Promise<{ op: string; usage?: Usage; port?: number }>((resolve) => child.once("message", resolve as never))
  const ask = async (op: string, n?: number) => {
    const reply = next(op)
    child.send({ op, n })
    return reply
  }
  const { port } = await next("ready")
  const before = (await ask("usage")).usage!
  if (process.argv.includes("--snapshots")) await ask("snapshot", 0)
  const sockets: Array<Net.Socket> = []
  const received: Array<number> = []
  let refused = 0
  // in batches, so that the listen backlog never refuses a connection
  const batch = 100
  for (let from = 0; from < clients; from += batch) {
    await new Promise<void>((resolve) => {
      const size = Math.min(batch, clients - from)
      let open = 0
      const settle = () => {
        if (++open === size) resolve()
      }
      for (let i = from; i < from + size; i++) {
        const socket = Net.connect(port!, "127.0.0.1")
        received.push(0)
        let first = true
        socket.on("data", (data) => {
          const text = data.toString("latin1")
          if (first) {
            first = false
            if (!text.startsWith("HTTP/1.1 200")) refused++
            settle()
          }
          received[i]! += text.split("data: ").length - 1
        })
        socket.on("error", () => {
          if (first) {
            first = false
            refused++
            settle()
          }
        })
        socket.write(`GET /status/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`)
        sockets.push(socket)
      }
    })
  }
  const connected = (await ask("usage")).usage!
  if (process.argv.includes("--snapshots")) await ask("snapshot", 1)
  await ask("change", events)
  await new Promise((r) => setTimeout(r, 500))
  const afterEvents = (await ask("usage")).usage!
  for (const s of sockets) s.destroy()
  await new Promise((r) => setTimeout(r, 3000))
  const after = (await ask("usage")).usage!
  if (process.argv.includes("--snapshots")) await ask("snapshot", 2)
  child.send({ op: "stop" })
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`
  const served = clients - refused
  console.log(`${clients} idle event clients (${served} served, ${refused} refused), ${events * 2} changes pushed`)
  console.log(`| | heapUsed | rss | peak rss | server sockets |`)
  console.log(`|---|---|---|---|---|`)
  for (const [name, u] of [["before", before], ["connected", connected], ["after the changes", afterEvents], ["all gone", after]] as const) {
    console.log(`| ${name} | ${mb(u.heapUsed)} | ${mb(u.rss)} | ${mb(u.peakRss)} | ${u.sockets} |`)
  }
  if (served > 0) {
    console.log(`per served client: heap ${kb((connected.heapUsed - before.heapUsed) / served)}, rss ${kb((connected.rss - before.rss) / served)}`)
  }
  const counts = received.filter((n) => n > 0)
  console.log(`events per served client: min ${Math.min(...counts)}, max ${Math.max(...counts)}`)
}

if (process.argv.includes("--serve")) void serve()
else void main()
