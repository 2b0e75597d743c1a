#!/usr/bin/env node
/**
 * Entry point of the `effect-ai-resilience` binary.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { exitCode } from "./Cli.js"
import { exitCodeOf, program, type StopSignal } from "./internal/cli/main.js"

// The runtime interrupts the program on SIGINT and SIGTERM (a batch then prints
// what finished) but does not say which signal came: remember it for the exit code.
let signal: StopSignal | undefined
const remember = (name: NodeJS.Signals) => {
  if (name === "SIGINT" || name === "SIGTERM") signal ??= name
  // a second signal while shutting down gets Node's default: the process ends at once
  process.off("SIGINT", remember)
  process.off("SIGTERM", remember)
}
process.on("SIGINT", remember)
process.on("SIGTERM", remember)

program(exitCode(process.argv)).pipe(
  Effect.provide(NodeContext.layer),
  // no logger of the runtime's own (it writes to stdout) and no error report of its own:
  // `program` sends both to stderr
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      const code = exitCodeOf(exit as Exit.Exit<number, unknown>, signal)
      // A finished run ends when its output has drained, with this code; after a
      // signal (or a failure) the runtime ends the process at once with it.
      process.exitCode = code
      onExit(signal === undefined && Exit.isSuccess(exit) ? 0 : code)
    }
  })
)
