import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Exit } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { exitCode } from "../../src/Cli.js"
import { program } from "../../src/internal/cli/main.js"
import { KEY } from "./simulator.js"

/** A file in a fresh temporary directory. */
export const tempFile = (name: string, content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "ear-cli-")), name)
  writeFileSync(path, content)
  return path
}

/** What a CLI run wrote: stdout and stderr as the Console saw them, and its exit code (undefined if interrupted). */
export interface CliRun {
  readonly code: number | undefined
  readonly stdout: string
  readonly stderr: string
}

/**
 * Run the CLI in-process the way the binary does (`program` around
 * `exitCode`: its logger, its crash reports), with a console that keeps what
 * goes to stdout and to stderr — log lines included, which the logger writes
 * through the console's `unsafe.error`. `SIM_KEY` holds the simulator's key.
 */
export const runCli = (args: ReadonlyArray<string>, sink?: { out: Array<string>; err: Array<string> }) =>
  runProgram(exitCode(["node", "effect-ai-resilience", ...args]), sink)

/** {@link runCli} for any effect that yields an exit code. */
export const runProgram = <E, R>(run: Effect.Effect<number, E, R>, sink?: { out: Array<string>; err: Array<string> }) =>
  Effect.gen(function*() {
    const out = sink?.out ?? []
    const err = sink?.err ?? []
    const base = yield* Console.consoleWith(Effect.succeed)
    const line = (parts: ReadonlyArray<unknown>) => parts.map(String).join(" ")
    const console: Console.Console = {
      ...base,
      log: (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { out.push(line(parts)) }),
      error: (...parts: ReadonlyArray<unknown>) => Effect.sync(() => { err.push(line(parts)) }),
      unsafe: {
        ...base.unsafe,
        log: (...parts: ReadonlyArray<unknown>) => { out.push(line(parts)) },
        error: (...parts: ReadonlyArray<unknown>) => { err.push(line(parts)) }
      }
    }
    const exit = yield* Effect.exit(
      program(run).pipe(
        Effect.withConsole(console),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_KEY", KEY]]))),
        Effect.provide(NodeContext.layer)
      )
    )
    return { code: Exit.isSuccess(exit) ? exit.value : undefined, stdout: out.join("\n"), stderr: err.join("\n") } satisfies CliRun
  })

/**
 * Characters a terminal acts on rather than shows: C0 and C1 controls, DEL,
 * bidi embeddings, overrides, isolates and marks, line and paragraph
 * separators. Spelled out here on their own so the tests do not borrow the
 * code's list.
 */
export const terminalControls = (text: string): ReadonlyArray<string> =>
  [...text].filter((c) => {
    const code = c.codePointAt(0)!
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069) || code === 0x200e || code === 0x200f || code === 0x061c || code === 0x2028 || code === 0x2029
  })
