#!/usr/bin/env node
/**
 * Entry point of the `effect-ai-resilience` binary.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import { exitCode } from "./Cli.js"

exitCode(process.argv).pipe(
  Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
  // Structured logs (every failed attempt, breaker transitions) go to stderr, and only errors by
  // default: the commands print their own reports; `--log-level warning` shows the rest.
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
