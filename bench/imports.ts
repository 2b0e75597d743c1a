/**
 * Import time of the package's root entry point against `effect` alone: a new
 * Node process per import (a warm file cache, a cold module cache — what an
 * app's start-up pays), the two measured in alternation so the machine's
 * drift falls on both alike.
 */
import { execFileSync } from "node:child_process"
import { pathToFileURL } from "node:url"

export interface ImportRow {
  readonly what: string
  readonly medianMs: number
  readonly p90Ms: number
}

export interface ImportResult {
  readonly runs: number
  readonly rows: ReadonlyArray<ImportRow>
}

// The time from before the import to after it, read inside the child, so the
// process's own start (the same for both) is not counted.
const timeImport = (specifier: string): number => {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t))`
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }))
}

const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** `root` is the built root entry point (a path to its `.js` file). */
export const run = (root: string, options: { readonly runs?: number } = {}): ImportResult => {
  const runs = options.runs ?? 15
  const subjects = [
    { what: "effect alone", specifier: "effect" },
    { what: "effect + @effect/platform", specifier: "@effect/platform" },
    { what: "effect-ai-resilience (root entry point)", specifier: pathToFileURL(root).href }
  ]
  const samples = subjects.map(() => [] as Array<number>)
  for (const s of subjects) timeImport(s.specifier) // warm the file cache
  for (let round = 0; round < runs; round++) {
    subjects.forEach((s, i) => samples[i]!.push(timeImport(s.specifier)))
  }
  return {
    runs,
    rows: subjects.map((s, i) => ({ what: s.what, medianMs: quantile(samples[i]!, 0.5), p90Ms: quantile(samples[i]!, 0.9) }))
  }
}

export const format = (r: ImportResult): string =>
  [
    `${r.runs} imports each, one new process per import, alternating; time of the \`import()\` itself`,
    "",
    "| entry point | median | p90 |",
    "|---|---:|---:|",
    ...r.rows.map((row) => `| ${row.what} | ${row.medianMs.toFixed(0)} ms | ${row.p90Ms.toFixed(0)} ms |`)
  ].join("\n")
