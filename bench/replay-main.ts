/**
 * `node dist-bench/bench/replay-main.js [--hours 24] [--requests 100000] [--seed 1]
 *   [--blackout-minutes 10] [--ramp-minutes 15] [--strategies none,seed-001,seed-000,toolkit,toolkit-sized,cockatiel]
 *   [--sized-rpm 1000] [--sized-concurrency 256] [--json FILE]`
 *
 * Runs the outage replay and prints its markdown table.
 */
import { writeFileSync } from "node:fs"
import * as Replay from "./replay.js"
import type { StrategyId } from "./replay/strategies.js"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const num = (name: string): number | undefined => {
  const v = flag(name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}: expected a non-negative number, got ${v}`)
    process.exit(2)
  }
  return n
}

const main = async () => {
  const strategies = flag("strategies")?.split(",").map((s) => s.trim()) as Array<StrategyId> | undefined
  const rpm = num("sized-rpm")
  const concurrency = num("sized-concurrency")
  const result = await Replay.run({
    ...(num("hours") === undefined ? {} : { hours: num("hours")! }),
    ...(num("requests") === undefined ? {} : { requests: Math.round(num("requests")!) }),
    ...(num("seed") === undefined ? {} : { seed: num("seed")! }),
    ...(num("blackout-minutes") === undefined ? {} : { blackoutMinutes: num("blackout-minutes")! }),
    ...(num("ramp-minutes") === undefined ? {} : { rampMinutes: num("ramp-minutes")! }),
    ...(num("watchdog-ms") === undefined ? {} : { watchdogMs: num("watchdog-ms")! }),
    ...(strategies === undefined ? {} : { strategies }),
    ...(rpm === undefined && concurrency === undefined ? {} : { sizedLoad: { requestsPerMinute: rpm ?? 1000, concurrency: concurrency ?? 256 } }),
    log: (line) => console.error(line)
  })
  console.log(`## Outage replay\n\n${Replay.format(result)}`)
  const json = flag("json")
  if (json !== undefined) writeFileSync(json, JSON.stringify(result, null, 2))
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
