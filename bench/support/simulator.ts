/**
 * The parent side of `simulator-process.ts`: fork the simulator, wait until it
 * listens, and ask it for its CPU time, state and open sockets.
 */
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type * as Simulator from "../../src/Simulator.js"

export interface SimulatorProcess {
  readonly url: string
  readonly pid: number
  /** CPU time of the simulator process so far, µs (user + system). */
  readonly cpu: () => Promise<number>
  readonly state: () => Promise<Simulator.SimulatorState>
  readonly sockets: () => Promise<number>
  readonly stop: () => Promise<void>
}

const ask = <A>(child: ChildProcess, type: string, pick: (m: any) => A): Promise<A> =>
  new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (m?.type === type) {
        child.off("message", onMessage)
        resolve(pick(m))
      }
    }
    child.on("message", onMessage)
    if (!child.send({ type })) reject(new Error("the simulator process is gone"))
  })

/** Start a simulator in a child process with `config` (its JSON form). */
export const start = (config: Simulator.SimulatorConfigInput, execArgv: ReadonlyArray<string> = []): Promise<SimulatorProcess> =>
  new Promise((resolve, reject) => {
    const entry = fileURLToPath(new URL("./simulator-process.js", import.meta.url))
    const child = fork(entry, [JSON.stringify(config)], { execArgv: [...execArgv], stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const onExit = (code: number | null) => reject(new Error(`the simulator process exited (${code}) before it was ready`))
    child.once("exit", onExit)
    child.once("error", reject)
    const onReady = (m: any) => {
      if (m?.type !== "ready") return
      child.off("message", onReady)
      child.off("exit", onExit)
      resolve({
        url: m.url as string,
        pid: child.pid!,
        cpu: () => ask(child, "cpu", (r) => (r.user as number) + (r.system as number)),
        state: () => ask(child, "state", (r) => r.state as Simulator.SimulatorState),
        sockets: () => ask(child, "sockets", (r) => r.count as number),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done()
            child.once("exit", () => done())
            child.send({ type: "stop" })
            // in case it does not answer
            setTimeout(() => child.kill("SIGKILL"), 5_000).unref()
          })
      })
    }
    child.on("message", onReady)
  })
