/**
 * `npm run bench [-- --quick] [-- --only overhead,http,memory,replay]`: the
 * benchmarks side by side in one run on this machine — the outage replay,
 * the success-path overhead, the HTTP path, memory — printing
 * each table and writing bench/RESULTS.md and bench/RESULTS.svg from the
 * figures just measured. `--quick` runs smaller sizes (for a smoke test; the
 * file then says so).
 */
import { writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"
import * as Chart from "./chart.js"
import * as Http from "./http.js"
import * as Imports from "./imports.js"
import * as Memory from "./memory.js"
import * as Overhead from "./overhead.js"
import * as Replay from "./replay.js"

type Section = "replay" | "overhead" | "http" | "memory" | "imports"
const ALL: ReadonlyArray<Section> = ["replay", "overhead", "http", "memory", "imports"]

const fmtNs = (ns: number) => (Math.abs(ns) >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}

const main = async () => {
  const quick = process.argv.includes("--quick")
  const only = arg("--only")?.split(",").filter((s): s is Section => (ALL as ReadonlyArray<string>).includes(s)) ?? ALL
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`
  const started = performance.now()
  console.log(`machine: ${machine}${quick ? " (quick run: reduced sizes)" : ""}\n`)
  const md: Array<string> = [
    "# Benchmark results",
    "",
    `Measured by \`npm run bench\`${quick ? " --quick (reduced sizes: a smoke run, not the full sizes)" : ""} on ${machine}, ` +
    `${new Date().toISOString().slice(0, 10)}. Every figure below comes from that one run; variants measured side by side ` +
    "alternate round by round. Chart: [RESULTS.svg](RESULTS.svg).",
    ""
  ]
  const verdicts: Array<string> = []
  const panels: Array<Chart.Panel> = []

  if (only.includes("replay")) {
    // every strategy at a size this machine replays in minutes; the toolkit alone at the full 24 h × 100 k below
    const requests = Number(arg("--requests") ?? (quick ? 2_000 : 10_000))
    const hours = Number(arg("--hours") ?? (quick ? 4 : 24))
    console.log(`## Outage replay (${hours} h, ${requests} requests) …`)
    const replay = await Replay.run({ hours, requests, log: (line) => console.error(line) })
    const text = Replay.format(replay)
    console.log(`${text}\n`)
    md.push("## Outage replay (virtual time)", "", text, "")
    for (const t of replay.targets) verdicts.push(`Outage replay (${t.strategy}): ${t.name}: ${t.met === undefined ? "n/a" : t.met ? "met" : "NOT met"} (${t.detail})`)
    const shown = replay.rows.filter((r) => !["idle", "floor"].includes(r.id))
    panels.push({
      title: "Outage replay: share of requests served",
      caption: `${requests} requests over ${hours} h of simulated outages, same trace and seed for every strategy`,
      bars: shown.map((r) => ({ label: r.label, value: 100 * r.successRate, text: `${(100 * r.successRate).toFixed(2)} %`, ours: r.id.startsWith("toolkit") })),
      marker: { value: 99.9, label: "99.9 %" }
    })
    panels.push({
      title: "Outage replay: upstream calls per request",
      caption: "HTTP generation calls the providers received ÷ requests (lower is better)",
      bars: shown.map((r) => ({ label: r.label, value: r.callsPerRequest, text: r.callsPerRequest.toFixed(2), ours: r.id.startsWith("toolkit") })),
      marker: { value: 1.3, label: "target ≤ 1.3" }
    })
    if (!quick && !process.argv.includes("--no-scale")) {
      console.log("## The toolkit alone at 24 h × 100 k …")
      const scale = await Replay.run({ hours: 24, requests: 100_000, strategies: ["toolkit"], log: (line) => console.error(line) })
      const row = scale.rows[0]!
      const line = `24 h × 100 000 requests, toolkit defaults alone: ${(row.wallMs / 1000).toFixed(1)} s wall (${(row.cpuMs / 1000).toFixed(1)} s CPU), ` +
        `${(100 * row.anyUpSuccessRate).toFixed(3)} % served while a model was up, ${row.callsPerRequest.toFixed(3)} upstream calls per request, ` +
        `p99 ${(row.latency.p99 / 1000).toFixed(1)} s`
      console.log(`${line}\n`)
      md.push("### The toolkit alone at 24 h × 100 k requests", "", line, "")
      verdicts.push(`Outage replay: 24 h × 100 k replay < 30 s wall: ${row.wallMs < 30_000 ? "met" : "NOT met"} (${(row.wallMs / 1000).toFixed(1)} s)`)
    }
    panels.push({
      title: "Outage replay: p99 latency of served requests",
      caption: "simulated seconds, arrival to result (lower is better)",
      bars: shown.map((r) => ({ label: r.label, value: r.latency.p99 / 1000, text: `${(r.latency.p99 / 1000).toFixed(1)} s`, ours: r.id.startsWith("toolkit") }))
    })
  }

  if (only.includes("overhead")) {
    console.log("## Overhead …")
    const overhead = await Overhead.run(quick ? { calls: 5_000, rounds: 3 } : {})
    const rows = overhead.rows
    const by = (prefix: string) => rows.find((r) => r.variant.startsWith(prefix))!.nsPerCall
    const addedB = by("(b)") - by("(a)")
    const addedE = by("(e)") - by("(a)")
    const addedC = by("(c)") - by("bare promise")
    const addedD = by("(d)") - by("bare promise")
    const table = [
      "| variant | time per call |",
      "|---|---:|",
      ...rows.map((r) => `| ${r.variant} | ${fmtNs(r.nsPerCall)} |`)
    ].join("\n")
    const summary = [
      "| added overhead | per call |",
      "|---|---:|",
      `| (b) full pipeline over (a) the baseline | ${fmtNs(addedB)} |`,
      `| (e) Effect floor over (a) the baseline | ${fmtNs(addedE)} |`,
      `| (c) cockatiel over the bare promise | ${fmtNs(addedC)} |`,
      `| (d) opossum over the bare promise | ${fmtNs(addedD)} |`,
      `| ratio (b) / (c): target ≤ 2, stretch ≤ 1 | ${(addedB / addedC).toFixed(2)} |`,
      `| ratio (b) / (e) | ${(addedB / addedE).toFixed(2)} |`,
      `| ratio (e) / (c) | ${(addedE / addedC).toFixed(2)} |`
    ].join("\n")
    const perCall = (x: number | undefined) => (x === undefined ? "n/a" : Number.isInteger(x) ? String(x) : x.toFixed(2))
    const countsOf = (variant: string) => overhead.counts.find((c) => c.variant === variant)!.counts
    const countTable = [
      "| per call (success path) | fibers forked | spans started | metric updates | of which Effect's fiber metrics | Effect run-loop steps |",
      "|---|---:|---:|---:|---:|---:|",
      ...overhead.counts.map(({ counts, variant }) =>
        `| ${rows.find((r) => r.variant.startsWith(variant))!.variant} | ${perCall(counts.fibersForked)} | ${perCall(counts.spansStarted)} | ` +
        `${perCall(counts.metricUpdates)} | ${perCall(counts.runtimeMetricUpdates)} | ${perCall(counts.effectSteps)} |`
      )
    ].join("\n")
    const pieceTable = [
      "| piece (Effect, built per call) | time per call | over (a) |",
      "|---|---:|---:|",
      ...overhead.pieces.map((p) =>
        `| ${p.variant} | ${fmtNs(p.nsPerCall)} | ${p.variant.startsWith("(a) +") ? fmtNs(p.nsPerCall - by("(a)")) : ""} |`
      )
    ].join("\n")
    const byName = countsOf("(b)").byName
    const breakdown = byName.length === 0 ? "" : "Metric updates per call of (b), by metric: " +
      byName.map(([name, n]) => `\`${name}\` ${perCall(n)}`).join(", ") + "."
    const what = "The baseline (a) is the provider call the pipeline makes, built per call: the request built from the input as the client builds it, " +
      "then the in-memory provider's own effect (made by `Provider.make`, so the request is checked against its Schema). " +
      "The full pipeline (b) is `ResilientClient.generateText` with its defaults over a chain of three models on that provider: " +
      "request sharing, status ordering and ramp, fallback chain, retry with budget, breaker, load control (rate limit + bulkhead), " +
      "attempt time-out, classification, status recording, metrics and spans. The Effect floor (e) is a hand-written pipeline doing the same jobs " +
      "on the same calls: `Effect.orElse` over the three models, `Effect.retry` with a jittered exponential Schedule (4 attempts), " +
      "`Effect.timeoutFail` (120 s), a `Ref` consecutive breaker per model, one `Effect.withSpan`. cockatiel and opossum add a retry, " +
      "a breaker and a time-out only, over a bare promise. Counts: " +
      `${countsOf("(b)").calls} calls of each Effect variant after the timed rounds, under a supervisor counting forked fibers, ` +
      "a tracer counting started spans, every metric hook counting its updates, and the run loop reporting each step (one per primitive operation, in every fiber); every counted call of (b) was served by the primary at its first attempt. " +
      "Effect's default runtime keeps fiber metrics, so each forked fiber also updates five `effect_fiber_*` metrics (counted in the last column). " +
      "The in-memory provider takes no deadline of its own, so every time-out here is one the pipeline runs itself."
    const piecesWhat = "Where the time goes: the baseline's parts, and each of the floor's jobs alone on the baseline, timed in the same rounds as the variants above."
    console.log(`${table}\n\n${summary}\n\n${countTable}\n\n${breakdown}\n\n${pieceTable}\n`)
    md.push(
      "## Overhead (success path, in-memory provider)",
      "",
      what,
      "",
      table,
      "",
      summary,
      "",
      countTable,
      "",
      ...(breakdown === "" ? [] : [breakdown, ""]),
      piecesWhat,
      "",
      pieceTable,
      ""
    )
    verdicts.push(`Overhead: (b)'s added overhead <= 2× (c)'s: ${addedB <= 2 * addedC ? "met" : "NOT met"} (${fmtNs(addedB)} vs 2 × ${fmtNs(addedC)})`)
    verdicts.push(`Overhead (stretch): (b)'s added overhead <= (c)'s: ${addedB <= addedC ? "met" : "NOT met"} (${fmtNs(addedB)} vs ${fmtNs(addedC)})`)
    const forked = countsOf("(b)").fibersForked
    verdicts.push(`Overhead: 0 fibers forked per call on the success path: ${forked === 0 ? "met" : "NOT met"} (${perCall(forked)})`)
    panels.push({
      title: "Overhead added to a call that succeeds at once",
      caption: "µs per call over the same call without resilience (lower is better)",
      bars: [
        { label: "(b) this toolkit, full pipeline", value: addedB / 1000, text: fmtNs(addedB), ours: true },
        { label: "(e) Effect floor, hand-written", value: addedE / 1000, text: fmtNs(addedE) },
        { label: "(c) cockatiel retry+breaker+timeout", value: addedC / 1000, text: fmtNs(addedC) },
        { label: "(d) opossum", value: addedD / 1000, text: fmtNs(addedD) }
      ],
      marker: { value: (2 * addedC) / 1000, label: "2× cockatiel" }
    })
  }

  if (only.includes("http")) {
    console.log("## HTTP path …")
    const http = await Http.run(quick ? { rounds: 2, roundMs: 500 } : {})
    const text = Http.format(http)
    console.log(`${text}\n`)
    md.push("## HTTP path (simulator on loopback, no faults, no latency)", "", text, "")
    verdicts.push(...Http.verdicts(http))
    panels.push({
      title: "HTTP path: requests per second",
      caption: "through the simulator on loopback (higher is better)",
      bars: http.rows.flatMap((r) => [
        { label: `bare HttpClient, concurrency ${r.concurrency}`, value: r.bare.rps, text: `${Math.round(r.bare.rps)} rps` },
        { label: `resilient client, concurrency ${r.concurrency}`, value: r.resilient.rps, text: `${Math.round(r.resilient.rps)} rps (${(100 * r.ratio).toFixed(0)} %)`, ours: true }
      ])
    })
  }

  if (only.includes("memory")) {
    console.log("## Memory …")
    const memory = await Memory.run(quick ? { requests: 2_000 } : {})
    const text = Memory.format(memory)
    console.log(`${text}\n`)
    md.push("## Memory", "", text, "")
    verdicts.push(...Memory.verdicts(memory))
    const last = (pattern: "closed" | "tripping") => [...memory.breakers].reverse().find((b) => b.pattern === pattern)
    panels.push({
      title: "Memory: one breaker's retained heap",
      caption: "bytes after the most outcomes recorded (heap snapshot)",
      bars: (["closed", "tripping"] as const).flatMap((p) => {
        const row = last(p)
        return row === undefined ? [] : [{ label: `${p}, ${row.outcomes.toLocaleString("en")} outcomes`, value: row.retainedBytes, text: `${row.retainedBytes} B`, ours: true }]
      }),
      marker: { value: 4096, label: "4 KB" }
    })
  }

  if (only.includes("imports")) {
    console.log("## Import time …")
    const imports = Imports.run(join(process.cwd(), "dist-bench", "src", "index.js"), quick ? { runs: 5 } : {})
    const text = Imports.format(imports)
    console.log(`${text}\n`)
    md.push("## Import time of the root entry point", "", text, "")
  }

  const totalS = (performance.now() - started) / 1000
  console.log(`targets:\n${verdicts.map((v) => `- ${v}`).join("\n")}\n\nbench took ${totalS.toFixed(0)} s`)
  md.push("## Targets", "", ...verdicts.map((v) => `- ${v}`), "", `The whole run took ${totalS.toFixed(0)} s.`, "")
  const dir = join(process.cwd(), "bench")
  writeFileSync(join(dir, "RESULTS.md"), md.join("\n"))
  writeFileSync(join(dir, "RESULTS.svg"), Chart.render("effect-ai-resilience benchmarks", `npm run bench on ${machine}${quick ? " (quick run)" : ""}`, panels))
  console.log("wrote bench/RESULTS.md and bench/RESULTS.svg")
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
