/**
 * `node dist-bench/bench/memory-main.js [--finish] [--no-bare] [--requests N]
 * [--skip-breaker] [--skip-inflight]`: the memory benchmark on its own, printing the
 * tables (it spawns its measuring child with --expose-gc itself).
 */
import { cpus } from "node:os"
import * as Memory from "./memory.js"

const arg = (name: string): number | undefined => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : Number(process.argv[i + 1])
}

const main = async () => {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}\n`)
  const requests = arg("--requests")
  const holdMs = arg("--hold-ms")
  const result = await Memory.run({
    finish: process.argv.includes("--finish"),
    bare: !process.argv.includes("--no-bare"),
    skipBreaker: process.argv.includes("--skip-breaker"),
    skipInflight: process.argv.includes("--skip-inflight"),
    keepSnapshots: process.argv.includes("--keep-snapshots"),
    ...(requests === undefined ? {} : { requests }),
    ...(holdMs === undefined ? {} : { holdMs })
  })
  console.log(`## Memory\n\n${Memory.format(result)}`)
  console.log(`targets:\n${Memory.verdicts(result).map((l) => `- ${l}`).join("\n")}`)
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
