/**
 * Memory benchmark, measured in a child process run with `--expose-gc`
 * (`support/memory-child.ts`; this module spawns it, so `npm run bench` needs
 * no flag).
 *
 * (a) One breaker after 1 M recorded outcomes (target < 4 KB, constant in
 *     traffic). Outcomes are recorded through the public API only
 *     (`CircuitBreakers.get(model)` from `CircuitBreaker.layer()`, then
 *     `withBreaker` on succeeding and failing effects) under a hand-moved
 *     `Clock` (1 ms per call), so a million outcomes span sixteen 60 s
 *     windows without waiting. Two patterns: *closed* (1 call in 10 fails
 *     with a counted `Overloaded`; it never opens) and *tripping* (each 100
 *     calls: 10 failures open it, the clock jumps 31 min, a probe closes it).
 *     Two methods:
 *     - heap snapshot (primary): `v8.writeHeapSnapshot` at 1 k, 10 k, 100 k
 *       and 1 M outcomes; the breaker object is found by its `model`, and its
 *       retained size is the self size of every object that becomes
 *       unreachable from the GC roots when the breaker is removed (the
 *       dominator set; weak edges ignored). Exact to the byte, per breaker.
 *     - many breakers (cross-check): K breakers created after a warm-up,
 *       (heapUsed after `gc()` − baseline) / K at 1 k and 5 k outcomes each;
 *       this also counts the breakers' entries in the `CircuitBreakers` map.
 * (b) 10 k concurrent in-flight requests through the resilient client
 *     against the simulator (in its own process) holding every one of them
 *     (`[sim:hang]` in the prompt): heapUsed after `gc()` before launching vs
 *     once the simulator holds all 10 k, then interrupted and measured again;
 *     the bare HttpClient with 10 k in flight is measured the same way, to
 *     show what the sockets and HTTP client alone cost; optionally a phase
 *     where a fixed simulated latency holds them and they finish on their own.
 */
import { fork } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as HeapSnapshot from "./support/heapsnapshot.js"
import type { ChildOptions, ChildResult, InflightPhase } from "./support/memory-child.js"

export const BREAKER_TARGET_BYTES = 4096
export const INFLIGHT_TARGET_BYTES = 50 * 1024 * 1024

export interface BreakerRow {
  readonly pattern: "closed" | "tripping"
  readonly outcomes: number
  /** Retained bytes without JIT code (see `HeapSnapshot.Retained.codeBytes`): the figure the target is judged on. */
  readonly retainedBytes: number
  /** JIT code retained only through this breaker's closures, besides. */
  readonly codeBytes: number
  readonly objects: number
  readonly state: string
  readonly opened: number
  /** Process heapUsed after gc at this checkpoint. */
  readonly processHeapUsed: number
}

export interface MemoryResult {
  readonly breakers: ReadonlyArray<BreakerRow>
  /** Largest contributors to the tripping breaker's retained size at the last checkpoint. */
  readonly breakerTop: ReadonlyArray<{ readonly what: string; readonly bytes: number; readonly count: number }>
  /** Retained size (data) of each property of the closed breaker at the last checkpoint. */
  readonly breakerParts: ReadonlyArray<{ readonly property: string; readonly bytes: number }>
  readonly many: ChildResult["many"]
  readonly inflight: ReadonlyArray<InflightPhase>
  readonly ulimit: string
}

export interface MemoryOptions {
  readonly checkpoints?: ReadonlyArray<number>
  readonly manyBreakers?: number
  readonly manyCheckpoints?: ReadonlyArray<number>
  readonly requests?: number
  readonly bare?: boolean
  readonly finish?: boolean
  readonly holdMs?: number
  /** In-flight requests launched at once (default 500). */
  readonly batch?: number
  readonly skipBreaker?: boolean
  readonly skipInflight?: boolean
  readonly keepSnapshots?: boolean
}

const runChild = (options: ChildOptions): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const entry = fileURLToPath(new URL("./support/memory-child.js", import.meta.url))
    const child = fork(entry, [JSON.stringify(options)], {
      execArgv: ["--expose-gc", "--max-old-space-size=4096"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    let result: ChildResult | undefined
    child.on("message", (m: any) => {
      if (m?.type === "result") result = m.result as ChildResult
    })
    child.once("error", reject)
    child.once("exit", (code) => (result === undefined ? reject(new Error(`the memory child exited with ${code}`)) : resolve(result)))
  })

export const run = async (options: MemoryOptions = {}): Promise<MemoryResult> => {
  const snapshotDir = mkdtempSync(join(tmpdir(), "bench-memory-"))
  try {
    const child = await runChild({
      snapshotDir,
      breaker: {
        checkpoints: options.checkpoints ?? [1_000, 10_000, 100_000, 1_000_000],
        many: options.manyBreakers ?? 100,
        manyCheckpoints: options.manyCheckpoints ?? [1_000, 3_000]
      },
      inflight: {
        requests: options.requests ?? 10_000,
        bare: options.bare ?? true,
        finish: options.finish ?? false,
        holdMs: options.holdMs ?? 30_000,
        launchTimeoutMs: 60_000,
        batch: options.batch ?? 500
      },
      ...(options.skipBreaker ? { skipBreaker: true } : {}),
      ...(options.skipInflight ? { skipInflight: true } : {})
    })
    const breakers: Array<BreakerRow> = []
    let breakerTop: MemoryResult["breakerTop"] = []
    let breakerParts: MemoryResult["breakerParts"] = []
    for (const point of child.snapshots) {
      const g = HeapSnapshot.load(point.file)
      const base = HeapSnapshot.reachable(g)
      for (const [pattern, model] of [["closed", child.breakerModels.closed], ["tripping", child.breakerModels.tripping]] as const) {
        const found = HeapSnapshot.findObjects(g, ["withBreaker", "changes", "snapshot"], "model", model)
        if (found.length !== 1) throw new Error(`expected one breaker for ${model} in ${point.file}, found ${found.length}`)
        const r = HeapSnapshot.retained(g, found, base)
        const s = point.states[model]!
        breakers.push({ pattern, outcomes: point.outcomes, retainedBytes: r.bytes - r.codeBytes, codeBytes: r.codeBytes, objects: r.objects, state: s.state, opened: s.opened, processHeapUsed: point.heapUsed })
        if (pattern === "closed") {
          breakerTop = r.top
          breakerParts = HeapSnapshot.properties(g, found[0]!).map(([property, node]) => {
            const p = HeapSnapshot.retained(g, [node], base)
            return { property, bytes: p.bytes - p.codeBytes }
          })
        }
      }
      if (!options.keepSnapshots) rmSync(point.file, { force: true })
    }
    return { breakers, breakerTop, breakerParts, many: child.many, inflight: child.inflight, ulimit: child.ulimit }
  } finally {
    if (!options.keepSnapshots) rmSync(snapshotDir, { recursive: true, force: true })
  }
}

const int = (n: number) => Math.round(n).toLocaleString("en-US")
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const signedMb = (bytes: number) => `${bytes >= 0 ? "+" : "−"}${mb(Math.abs(bytes))}`

/** Is a breaker's retained size constant in traffic? Same bytes at the last checkpoint as at the first, within 64 B. */
export const breakerVerdict = (rows: ReadonlyArray<BreakerRow>) => {
  const byPattern = (p: BreakerRow["pattern"]) => rows.filter((r) => r.pattern === p)
  const verdicts = (["closed", "tripping"] as const).map((p) => {
    const xs = byPattern(p)
    const first = xs[0]
    const last = xs[xs.length - 1]
    const constant = first !== undefined && last !== undefined && Math.abs(last.retainedBytes - first.retainedBytes) <= 64
    const under = xs.every((r) => r.retainedBytes < BREAKER_TARGET_BYTES)
    return { pattern: p, constant, under, first, last }
  })
  return verdicts
}

/** Did the heap come back after the requests ended? Within 2 MB or 5 % of the growth. */
export const returned = (p: InflightPhase) => {
  const growth = p.peak.heapUsed - p.before.heapUsed
  return p.after.heapUsed - p.before.heapUsed <= Math.max(2 * 1024 * 1024, 0.05 * growth)
}

export const format = (result: MemoryResult): string => {
  const out: Array<string> = []
  if (result.breakers.length > 0) {
    out.push(
      "### (a) One breaker's retained heap (heap snapshot, dominator set)",
      "",
      "| pattern | outcomes recorded | retained (data) | + JIT code held by its closures | objects | state after | times opened |",
      "|---|---:|---:|---:|---:|---|---:|",
      ...result.breakers.map((r) =>
        `| ${r.pattern} | ${int(r.outcomes)} | ${int(r.retainedBytes)} B | ${int(r.codeBytes)} B | ${r.objects} | ${r.state} | ${int(r.opened)} |`
      ),
      ""
    )
    const many = result.many
    out.push(
      `Cross-check, ${many.breakers} breakers measured together (closed pattern; (heapUsed after gc − baseline) / ${many.breakers}, map entries included): ` +
        many.points.map((p) => `${int(p.bytesPerBreaker)} B per breaker after ${int(p.outcomes)} outcomes each`).join(", ") + ".",
      ""
    )
    if (result.breakerParts.length > 0) {
      out.push(
        "Retained by each property of the closed breaker at the last checkpoint (the rest is the breaker object itself and what its closures share): " +
          result.breakerParts.map((p) => `\`${p.property}\` ${int(p.bytes)} B`).join(", ") + ".",
        ""
      )
    }
    if (result.breakerTop.length > 0) {
      out.push(
        "Largest kinds of object in the closed breaker at the last checkpoint: " +
          result.breakerTop.map((t) => `${t.what.trim()} ×${t.count} ${int(t.bytes)} B`).join("; ") + ".",
        ""
      )
    }
    for (const v of breakerVerdict(result.breakers)) {
      if (v.first === undefined || v.last === undefined) continue
      out.push(
        `- ${v.pattern}: ${int(v.last.retainedBytes)} B after ${int(v.last.outcomes)} outcomes vs ${int(v.first.retainedBytes)} B after ${int(v.first.outcomes)}: ` +
          `< 4 KB ${v.under ? "met" : "NOT met"}; constant in traffic ${v.constant ? "met" : "NOT met"}`
      )
    }
    out.push("")
  }
  if (result.inflight.length > 0) {
    out.push(
      `### (b) Heap with ${int(result.inflight[0]!.requests)} requests in flight (client process; file descriptors ${result.ulimit})`,
      "",
      "| phase | launch → all held | held by simulator | heapUsed growth at peak | per request | after end vs before | external / rss growth at peak | client sockets before / peak / after | simulator sockets at peak | target < 50 MB |",
      "|---|---:|---:|---:|---:|---:|---:|---|---:|:-:|",
      ...result.inflight.map((p) => {
        const growth = p.peak.heapUsed - p.before.heapUsed
        const resilient = p.name.startsWith("resilient")
        return `| ${p.name} | ${(p.launchMs / 1000).toFixed(1)} s | ${int(p.held)} | ${signedMb(growth)} | ${int(growth / p.requests)} B | ${signedMb(p.after.heapUsed - p.before.heapUsed)} (${returned(p) ? "returned" : "NOT returned"}) | ${signedMb(p.peak.external - p.before.external)} / ${signedMb(p.peak.rss - p.before.rss)} | ${p.clientSocketsBefore} / ${p.clientSocketsPeak} / ${p.clientSocketsAfter} | ${p.serverSocketsPeak} | ${resilient ? (growth < INFLIGHT_TARGET_BYTES && p.held >= p.requests ? "met" : "NOT met") : "—"} |`
      }),
      ""
    )
    const bare = result.inflight.find((p) => p.name.startsWith("bare"))
    const resilient = result.inflight.find((p) => p.name.startsWith("resilient") && p.how === "interrupted")
    if (bare !== undefined && resilient !== undefined) {
      const g = (p: InflightPhase) => p.peak.heapUsed - p.before.heapUsed
      out.push(
        `The resilient pipeline's own share (resilient − bare, same number in flight): ${signedMb(g(resilient) - g(bare))}, ` +
          `${int((g(resilient) - g(bare)) / resilient.requests)} B per request; the bare HttpClient alone is ${signedMb(g(bare))}.`,
        ""
      )
    }
  }
  return out.join("\n")
}

/** One line per target: met / NOT met. */
export const verdicts = (result: MemoryResult): ReadonlyArray<string> => [
  ...breakerVerdict(result.breakers).map((v) =>
    `Memory: breaker (${v.pattern}) after ${int(v.last?.outcomes ?? 0)} outcomes: ${int(v.last?.retainedBytes ?? 0)} B < 4 KB ${v.under ? "met" : "NOT met"}; constant in traffic ${v.constant ? "met" : "NOT met"}`
  ),
  ...result.inflight.filter((p) => p.name.startsWith("resilient")).map((p) => {
    const growth = p.peak.heapUsed - p.before.heapUsed
    const ok = growth < INFLIGHT_TARGET_BYTES && p.held >= p.requests
    return `Memory: ${int(p.requests)} in flight (${p.how}): heap growth ${mb(growth)} < 50 MB ${ok ? "met" : "NOT met"}${p.held < p.requests ? ` (only ${int(p.held)} held)` : ""}; heap returned after: ${returned(p) ? "yes" : "no"}`
  })
]
