#!/usr/bin/env node
/**
 * Entry point of the `effect-ai-resilience` binary.
 *
 * @since 0.1.0
 */
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Logger, LogLevel } from "effect"
import { cli } from "./Cli.js"

cli(process.argv).pipe(
  Effect.catchTags({
    InputError: (e) => Console.error(`error: ${e.message}`).pipe(Effect.andThen(Effect.sync(() => { process.exitCode = 2 }))),
    RequestsFailed: (e) => Console.error(`error: ${e.message}`).pipe(Effect.andThen(Effect.sync(() => { process.exitCode = 1 }))),
    CheckFailed: (e) => Console.error(`error: ${e.message}`).pipe(Effect.andThen(Effect.sync(() => { process.exitCode = 1 })))
  }),
  Effect.catchIf(ValidationError.isValidationError, () => Effect.sync(() => { process.exitCode = 2 })),
  // Structured logs (every failed attempt, breaker transitions) go to stderr, and only errors by
  // default: the commands print their own reports; `--log-level warning` shows the rest.
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
