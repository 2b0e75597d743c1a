/**
 * The provider simulator in a process of its own, for the HTTP and memory
 * benchmarks (requests per second, and the heap with requests in flight). Started with `fork(this file, [configJson])`;
 * it answers over the IPC channel:
 *
 *   → { type: "ready", url }                once it listens on 127.0.0.1
 *   ← { type: "cpu" }     → { type: "cpu", user, system }   (µs, process.cpuUsage)
 *   ← { type: "state" }   → { type: "state", state }        (Simulator snapshot)
 *   ← { type: "sockets" } → { type: "sockets", count }      (open socket fds)
 *   ← { type: "stop" }    → closes the simulator and exits
 *
 * Why a separate process: the client under test then has a CPU core of its
 * own (the machine has two) and the server's work is not charged to it; its
 * heap is not mixed with the server's; and 10 k client sockets plus 10 k
 * server sockets would not fit under one process's file-descriptor limit.
 */
import { Effect, Exit, Scope } from "effect"
import * as Simulator from "../../src/Simulator.js"
import { openSockets } from "./sockets.js"

const main = async () => {
  const config = Simulator.makeConfig(JSON.parse(process.argv[2] ?? "{}") as Simulator.SimulatorConfigInput)
  const scope = Effect.runSync(Scope.make())
  const sim = await Effect.runPromise(Simulator.make(config).pipe(Scope.extend(scope)))
  const send = (message: unknown) => process.send?.(message)
  process.on("message", (message: { readonly type?: string }) => {
    switch (message.type) {
      case "cpu": {
        const { user, system } = process.cpuUsage()
        send({ type: "cpu", user, system })
        break
      }
      case "state":
        Effect.runPromise(sim.snapshot).then((state) => send({ type: "state", state }))
        break
      case "sockets":
        send({ type: "sockets", count: openSockets() })
        break
      case "stop":
        Effect.runPromise(Scope.close(scope, Exit.void)).finally(() => process.exit(0))
        break
    }
  })
  // the parent went away: do not linger
  process.on("disconnect", () => process.exit(0))
  send({ type: "ready", url: sim.url })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
