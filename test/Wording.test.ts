/**
 * What ships speaks for itself: the README, the sources and the examples give
 * reasons in their own words, never a pointer into documents the user does
 * not have (a project spec's sections, an issue tracker's numbers). This
 * guard lists every such pointer as `file:line: text`.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")

/** A pointer into a document the user does not have. */
const patterns: ReadonlyArray<RegExp> = [
  /\bSPEC\b/, // "SPEC §5", "SPEC gives none", "(SPEC)"
  /\bissues? #\d/i, // "issue #3", "Issue #5 §1"
  /§\s?\d/ // "§9", "bench §1"
]

/** `label:line: text` for each line of `text` that holds a pointer. */
const pointersIn = (label: string, text: string): Array<string> =>
  text.split("\n").flatMap((line, i) => patterns.some((p) => p.test(line)) ? [`${label}:${i + 1}: ${line.trim()}`] : [])

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : []
  })

const pointersInFiles = (files: ReadonlyArray<string>): Array<string> =>
  files.flatMap((file) => pointersIn(relative(root, file), readFileSync(file, "utf8")))

describe("Wording", () => {
  it("finds each kind of pointer, and only those", () => {
    const text = [
      "a breaker needs a sample before it judges: at least 5 calls", // 1: fine
      "defaults from SPEC §5", // 2
      "the prices are SPEC's", // 3
      "see issue #3 for why", // 4
      "Issue #5 §1: the replay", // 5
      "issues #2 and #3", // 6
      "the cap (bench §1)", // 7
      "BLOCK_REASON_UNSPECIFIED is not a block", // 8: fine
      "the HTTP-date forms of RFC 9110, section 5.6.7", // 9: fine
      "a 503 costs nothing (§ 1)" // 10
    ].join("\n")
    expect(pointersIn("f.ts", text).map((l) => l.split(":").slice(0, 2).join(":"))).toEqual(
      [2, 3, 4, 5, 6, 7, 10].map((n) => `f.ts:${n}`)
    )
    expect(pointersIn("f.ts", "see SPEC §9")).toEqual(["f.ts:1: see SPEC §9"])
  })

  it("README.md and examples/ refer to no spec section or issue number", () => {
    const files = [join(root, "README.md"), ...filesUnder(join(root, "examples"))]
    expect(files.length).toBeGreaterThan(1)
    expect(pointersInFiles(files)).toEqual([])
  })

  it("src/ refers to no spec section or issue number", () => {
    const files = filesUnder(join(root, "src"))
    expect(files.length).toBeGreaterThan(10)
    expect(pointersInFiles(files)).toEqual([])
  })
})
