/**
 * `npm run bench`: runs the benchmarks side by side, prints their tables and
 * writes bench/RESULTS.md. So far: §2 overhead (issue #5 is in progress).
 */
import { writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"
import * as Overhead from "./overhead.js"

const fmt = (ns: number) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)

const main = async () => {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`
  console.log(`machine: ${machine}\n`)
  const rows = await Overhead.run()
  const by = (prefix: string) => rows.find((r) => r.variant.startsWith(prefix))!.nsPerCall
  const addedB = by("(b)") - by("(a)")
  const addedC = by("(c)") - by("bare promise")
  const addedD = by("(d)") - by("bare promise")
  const table = [
    "| variant | time per call |",
    "|---|---:|",
    ...rows.map((r) => `| ${r.variant} | ${fmt(r.nsPerCall)} |`)
  ].join("\n")
  const summary = [
    `| added overhead | per call |`,
    `|---|---:|`,
    `| (b) pipeline over (a) bare Effect call | ${fmt(addedB)} |`,
    `| (c) cockatiel over the bare promise | ${fmt(addedC)} |`,
    `| (d) opossum over the bare promise | ${fmt(addedD)} |`,
    `| ratio (b) / (c) | ${(addedB / addedC).toFixed(2)} |`
  ].join("\n")
  console.log(`## Overhead (success path, in-memory provider)\n\n${table}\n\n${summary}\n`)
  console.log(`targets (issue #5 §2): (b)'s added overhead <= (c)'s: ${addedB <= addedC ? "met" : "NOT met"}; < 5 µs: ${addedB < 5_000 ? "met" : "NOT met"}`)
  const md = `# Benchmark results\n\nMeasured by \`npm run bench\` on ${machine}, ${new Date().toISOString().slice(0, 10)}. Every figure comes from one run, variants alternating round by round.\n\n## Overhead (issue #5 §2)\n\n${table}\n\n${summary}\n`
  writeFileSync(join(process.cwd(), "bench", "RESULTS.md"), md)
  console.log("wrote bench/RESULTS.md")
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
