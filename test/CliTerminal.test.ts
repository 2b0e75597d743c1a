import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { progress } from "../src/internal/cli/batch.js"
import { neutralise, neutraliseLines } from "../src/internal/cli/terminal.js"
import { terminalControls } from "./support/cliRun.js"

/** Characters a terminal acts on, each on its own, and strings rich in them. */
const controlChar = fc.oneof(
  fc.integer({ min: 0x00, max: 0x1f }),
  fc.integer({ min: 0x7f, max: 0x9f }),
  fc.integer({ min: 0x202a, max: 0x202e }),
  fc.integer({ min: 0x2066, max: 0x2069 }),
  fc.constantFrom(0x200e, 0x200f, 0x061c, 0x2028, 0x2029)
).map((code) => String.fromCodePoint(code))
const anyText = fc.array(fc.oneof(controlChar, fc.string({ unit: "binary", maxLength: 4 })), { maxLength: 40 }).map((parts) => parts.join(""))
const printable = fc.string({ unit: "binary", maxLength: 80 }).map((s) => [...s].filter((c) => terminalControls(c).length === 0).join(""))

describe("neutralise", () => {
  it.prop("leaves no character a terminal acts on, whatever the input", [anyText], ([text]) => {
    expect(terminalControls(neutralise(text))).toEqual([])
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("leaves printable text unchanged", [printable], ([text]) => {
    expect(neutralise(text)).toBe(text)
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("shows every control it removes (as many escapes as controls) and is idempotent", [anyText], ([text]) => {
    const once = neutralise(text)
    expect(neutralise(once)).toBe(once)
    expect(once.split("\\").length - text.split("\\").length).toBe(terminalControls(text).length)
  }, { fastCheck: { numRuns: 1000 } })

  it.prop("neutraliseLines keeps the line breaks, and only them", [fc.array(anyText, { maxLength: 5 })], ([lines]) => {
    const text = lines.map((l) => l.replaceAll("\n", "")).join("\n")
    const out = neutraliseLines(text)
    expect(out.split("\n").length).toBe(text.split("\n").length)
    expect(terminalControls(out.replaceAll("\n", ""))).toEqual([])
  })

  it("spells out what it replaced", () => {
    expect(neutralise("a\u001b]0;t\u0007\r\n\t\u202e\u009b")).toBe("a\\x1b]0;t\\x07\\r\\n\\t\\u202e\\x9b")
  })
})

describe("progress lines", () => {
  it.effect("quote the provider neutralised, one line per request", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const bar = progress(2, { tty: false, write: (text) => written.push(text) })
      yield* bar.update(1, 0, 1, {
        index: 0, ok: false, durationMs: 1200, cost: 0, attempts: [],
        summary: "HardFailure(BadRequest) — \u001b]0;owned\u0007\r[2/2] #2 ok forged\u202e"
      })
      expect(written).toEqual(["[1/2] #1 FAILED HardFailure(BadRequest) — \\x1b]0;owned\\x07\\r[2/2] #2 ok forged\\u202e (1.2 s)\n"])
    }))
})
