/**
 * The command-line interface (`effect-ai-resilience`): `demo` runs the main
 * job (an outage drill against the in-process simulator), `walkthrough`
 * classifies one request of each kind, `simulate` serves the simulator.
 *
 * Exit codes: 0 success; 1 the demo or walkthrough did not see what it checks
 * for, or a command failed; 2 bad input (a config file that does not decode,
 * bad flags, an `--out` that cannot hold files); 130 / 143 stopped by SIGINT /
 * SIGTERM (the binary; a batch then prints what finished). stdout carries
 * only results; progress, logs and errors go to stderr.
 *
 * @since 0.1.0
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { FileSystem, type HttpClient, Path } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, Config, ConfigProvider, Console, Data, Duration, Effect, Layer, Option, Redacted, Schema, type Scope } from "effect"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as ClientConfig from "./ClientConfig.js"
import * as Demo from "./Demo.js"
import * as ImageDelivery from "./ImageDelivery.js"
import { type BatchItem, type BatchOptions, failureJson, progress, runBatch, type SaveFailure } from "./internal/cli/batch.js"
import { neutralise, neutraliseLines } from "./internal/cli/terminal.js"
import * as ResilientClient from "./ResilientClient.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { formatParseError } from "./internal/formatError.js"
import { decodeBounded } from "./internal/boundedDecode.js"
import { readJsonFile } from "./internal/jsonFile.js"
import * as ModelStatus from "./ModelStatus.js"
import * as Simulator from "./Simulator.js"
import * as NodeStatusServer from "./NodeStatusServer.js"
import * as StatusServer from "./StatusServer.js"
import { Message } from "./TextGeneration.js"
import * as Walkthrough from "./Walkthrough.js"

/**
 * Bad input from the user: exits with code 2 and a message naming the field.
 *
 * @since 0.1.0
 */
export class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

/**
 * A run that checks itself (the demo, the walkthrough) saw something it did
 * not expect: exits with code 1.
 *
 * @since 0.1.0
 */
export class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly message: string }> {}

/** Text for people on stdout, neutralised: it quotes what providers sent. */
const say = (text: string) => Console.log(neutraliseLines(text))
/** Text for people on stderr, neutralised. */
const warn = (text: string) => Console.error(neutraliseLines(text))

const json = Options.boolean("json").pipe(Options.withDescription("Print a machine-readable JSON report instead of text"))

/**
 * A numeric flag whose refusal names it. The parser's own integer and float
 * flags answer `'1e309' is not a integer` without saying which flag, and
 * take `NaN`, `Infinity` and `1e309` (Infinity) as floats; here the text must
 * be a finite number (a whole one for `integer`). The range of each flag is
 * checked where it is used.
 */
const numberFlag = (name: string, kind: "integer" | "number") =>
  Options.text(name).pipe(
    Options.withPseudoName(kind),
    Options.mapEffect((text) => {
      const value = text.trim() === "" ? Number.NaN : Number(text)
      return (kind === "integer" ? Number.isSafeInteger(value) : Number.isFinite(value))
        ? Effect.succeed(value)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--${name}: must be ${kind === "integer" ? "an integer" : "a finite number"}, got ${JSON.stringify(text)}`
        )))
    })
  )


const requests = numberFlag("requests", "integer").pipe(
  Options.withDescription("Image requests in the batch (1–100000)"),
  Options.withDefault(240)
)
const demoSeed = numberFlag("seed", "integer").pipe(Options.withDescription("Seed of the simulator's random draws"), Options.optional)
const statusPort = numberFlag("status-port", "integer").pipe(
  Options.withDescription("Port of the status page on 127.0.0.1 (default: any free port)"),
  Options.withDefault(0)
)
const hold = Options.boolean("hold").pipe(Options.withDescription("Keep the simulator and the status page up after the report, until Ctrl-C"))

/**
 * The flags of the `demo` command, checked: an {@link InputError} names the
 * flag that is out of range.
 *
 * @since 0.1.0
 */
export const checkDemoFlags = (flags: { readonly requests: number }): Effect.Effect<void, InputError> =>
  !Number.isSafeInteger(flags.requests) || flags.requests < 1 || flags.requests > 100_000
    ? Effect.fail(new InputError({ message: `--requests: must be an integer from 1 to 100000, got ${flags.requests}` }))
    : Effect.void

const demo = Command.make("demo", { json, requests, seed: demoSeed, statusPort, hold }, (flags) =>
  Effect.gen(function*() {
    yield* checkDemoFlags(flags)
    // before the banner: bad input leaves stdout empty
    if (!Number.isSafeInteger(flags.statusPort) || flags.statusPort < 0 || flags.statusPort > 65_535) {
      return yield* new InputError({ message: `--status-port: must be a port from 0 to 65535, got ${flags.statusPort}` })
    }
    const log = (line: string) => (flags.json ? Effect.void : say(line))
    yield* log(
      `effect-ai-resilience demo: an outage drill. The provider simulator runs in-process (real HTTP on 127.0.0.1);\n` +
        `${flags.requests} image requests go through the resilient client (a priority list of image models) while the primary,\n` +
        `${Demo.imageModels[0]!.model}, is overloaded from ${Demo.clock(Demo.scenario.models[0]!.outages[0]!.startMinute * 60_000)} ` +
        `for ${Demo.scenario.models[0]!.outages[0]!.durationMinutes} minutes (simulated time; the clock jumps ahead whenever every call is waiting).`
    )
    yield* Effect.scoped(Effect.gen(function*() {
      const t0 = Date.now()
      const report = yield* Demo.run({
        requests: flags.requests,
        statusPort: flags.statusPort,
        ...(Option.isSome(flags.seed) ? { seed: flags.seed.value } : {})
      }).pipe(Effect.mapError((e) => new InputError({ message: `cannot serve the demo (port in use?): ${e.message}` })))
      const wallMs = Date.now() - t0
      const results = Demo.checks(report)
      if (flags.json) {
        const { outcomes, ...rest } = report
        yield* Console.log(JSON.stringify({ ...rest, wallMs, checks: results, outcomes }, null, 2))
      } else {
        yield* log(`\n${Demo.formatReport(report)}\n`)
        yield* log(`simulated ${Duration.format(Duration.seconds(Math.round(report.simulatedMs / 1000)))} in ${(wallMs / 1000).toFixed(1)} s of real time`)
        for (const c of results) yield* log(`${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`)
      }
      if (flags.hold) {
        yield* warn(`holding: the status page stays at ${report.statusUrl}/ until Ctrl-C`)
        return yield* Effect.never
      }
      const failing = results.filter((c) => !c.ok)
      if (failing.length > 0) {
        return yield* new CheckFailed({ message: `the drill did not show: ${failing.map((c) => c.name).join("; ")}` })
      }
    }))
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription(
  "Run the main job: an outage drill — the simulator in-process, the primary image model overloaded, a batch through the resilient client, and a report"
))

const walkthrough = Command.make("walkthrough", { json }, ({ json }) =>
  Effect.gen(function*() {
    if (!json) {
      yield* say("effect-ai-resilience walkthrough: one request for each kind of outcome, through the real adapters against the in-process simulator\n")
    }
    const outcomes = yield* Walkthrough.run({
      onStep: (outcome, index) => (json ? Effect.void : say(Walkthrough.formatStep(outcome, index)))
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
    const summary = Walkthrough.summarize(outcomes)
    if (json) {
      yield* Console.log(JSON.stringify({
        summary,
        steps: outcomes.map(({ failure, ...rest }) => ({ ...rest, ...(failure === undefined ? {} : { failure: failureJson(failure) }) }))
      }, null, 2))
    } else {
      yield* say(`\n${summary.asExpected}/${summary.steps} steps classified as expected`)
      yield* say(`by category/reason: ${Object.entries(summary.byClass).map(([k, n]) => `${k} ×${n}`).join(", ")}`)
    }
    if (summary.asExpected !== summary.steps) {
      return yield* new CheckFailed({ message: `${summary.steps - summary.asExpected} step(s) were not classified as expected` })
    }
  })
).pipe(Command.withDescription("Classify one request of each kind (hard, soft, silent failures and successes) through the real adapters"))

/**
 * Some requests of a `text` / `image` / `video` run failed: exits with code 1
 * (the report says which and why).
 *
 * @since 0.1.0
 */
export class RequestsFailed extends Data.TaggedError("RequestsFailed")<{ readonly message: string }> {}

/**
 * A `--config` file that must exist. A missing one is a validation error
 * naming the flag ("--config: no such file: models.json"), where the parser's
 * own check would say only "Path 'models.json' must exist".
 */
const existingConfigFile = Options.file("config").pipe(
  Options.mapEffect((path) =>
    Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(path)).pipe(
      Effect.orElseSucceed(() => false),
      Effect.flatMap((exists) =>
        exists ? Effect.succeed(path) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--config: no such file: ${path}`)))
      )
    )
  )
)

const clientConfig = existingConfigFile.pipe(
  Options.withDescription("Client configuration (JSON): models in priority order per operation, key variables, prices, policy options")
)
const promptText = Options.text("prompt").pipe(Options.withDescription("The prompt"))
const count = numberFlag("count", "integer").pipe(Options.withDescription("How many requests to send (a batch)"), Options.withDefault(1))
const concurrency = numberFlag("concurrency", "integer").pipe(Options.withDescription("How many requests at once"), Options.withDefault(4))

const checkBatchFlags = (flags: { readonly count: number; readonly concurrency: number }): Effect.Effect<void, InputError> =>
  !Number.isSafeInteger(flags.count) || flags.count < 1 || flags.count > 100_000
    ? Effect.fail(new InputError({ message: `--count: must be an integer from 1 to 100000, got ${flags.count}` }))
    : !Number.isSafeInteger(flags.concurrency) || flags.concurrency < 1 || flags.concurrency > 1_000
    ? Effect.fail(new InputError({ message: `--concurrency: must be an integer from 1 to 1000, got ${flags.concurrency}` }))
    : Effect.void

/**
 * The key variables a config file names, read once, with the blanks and line
 * breaks around each value removed (a key saved with `echo key > file` ends in
 * a newline). HTTP trims a header's value, so an untrimmed key would be sent —
 * and echoed back by the provider — in a form the scrubber does not know.
 * A variable that is not set stays unset (the build reports it).
 */
const trimmedKeys = (file: ClientConfig.ClientConfigFile): Effect.Effect<ConfigProvider.ConfigProvider> =>
  Effect.gen(function*() {
    const values = new Map<string, string>()
    for (const { entry } of ClientConfig.entries(file)) {
      if (values.has(entry.apiKeyEnv)) continue
      const value = yield* Effect.option(Config.redacted(entry.apiKeyEnv))
      if (Option.isSome(value)) values.set(entry.apiKeyEnv, Redacted.value(value.value).trim())
    }
    return ConfigProvider.fromMap(values)
  })

/**
 * The resilient client described by a config file, with its policies. Every
 * problem with the file (including a key variable that is not set) is an
 * {@link InputError} naming the field; nothing is sent.
 *
 * @since 0.1.0
 */
export const clientFromFile = (
  path: string,
  extra: Partial<ResilientClient.ResilientClientConfig> = {}
): Effect.Effect<ResilientClient.ResilientClientService, InputError, FileSystem.FileSystem | HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const toInput = (e: { readonly message: string }) => new InputError({ message: e.message })
    const file = yield* ClientConfig.load(path).pipe(Effect.mapError(toInput))
    const keys = yield* trimmedKeys(file)
    const routes = yield* ClientConfig.build(file, path).pipe(Effect.withConfigProvider(keys), Effect.mapError(toInput))
    const policies = Layer.mergeAll(RetryPolicy.layer(ClientConfig.retryOptions(file)), CircuitBreaker.layer(ClientConfig.breakerOptions(file)))
    const context = yield* Layer.build(policies).pipe(
      Effect.mapError((e) => new InputError({ message: `${path}: ${e._tag === "InvalidRetryOptions" ? "retry" : "breaker"}.${e.message}` }))
    )
    return yield* ResilientClient.make({ ...routes, ...extra }).pipe(
      Effect.provide(context),
      Effect.mapError((e) =>
        new InputError({
          message: `${path}: ${
            e._tag === "InvalidLoadControlOptions" ? "load" : e._tag === "InvalidRequestCacheOptions" ? "cacheTtl" : "image delivery"
          }: ${e.message}`
        })
      )
    )
  })

const batchReport = (items: ReadonlyArray<BatchItem>, requested: number, interrupted: boolean) => {
  const completed = items.filter((i) => i.interrupted !== true)
  const served = completed.filter((i) => i.ok)
  const durations = served.map((i) => i.durationMs).sort((a, b) => a - b)
  const at = (p: number) => durations.length === 0 ? 0 : durations[Math.min(durations.length - 1, Math.ceil(p * durations.length) - 1)]!
  return {
    requests: requested,
    completed: completed.length,
    interrupted,
    served: served.length,
    fellBack: served.filter((i) => i.fellBack === true).length,
    failed: completed.length - served.length,
    notSaved: served.filter((i) => i.saveFailure !== undefined).length,
    // every billed call, those of requests cut short included; rounded so that a sum of prices prints as one
    cost: Math.round(items.reduce((sum, i) => sum + i.cost, 0) * 1e9) / 1e9,
    latencyMs: { p50: at(0.5), p95: at(0.95), p99: at(0.99) }
  }
}

const runAndReport = <A>(
  flags: { readonly json: boolean; readonly count: number; readonly concurrency: number },
  batch: Pick<BatchOptions<A>, "call" | "keep" | "describeValue">
) =>
  Effect.gen(function*() {
    // progress goes to stderr whatever stdout is: stdout carries the report only
    const bar = progress(flags.count, { tty: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) })
    const print = (items: ReadonlyArray<BatchItem>, interrupted: boolean) =>
      Effect.gen(function*() {
        const report = batchReport(items, flags.count, interrupted)
        if (interrupted) yield* warn(`interrupted after ${report.completed} of ${report.requests} request(s)`)
        if (flags.json) {
          yield* Console.log(JSON.stringify({ ...report, items }, null, 2))
          return report
        }
        if (flags.count === 1 && items[0] !== undefined) {
          for (const a of items[0].attempts) {
            yield* say(`  ${a.model} #${a.attempt}: ${a.outcome}${a.reason === undefined ? "" : ` ${a.category ?? ""}/${a.reason}`}${a.status === undefined ? "" : ` HTTP ${a.status}`} (${(a.durationMs / 1000).toFixed(1)} s)`)
          }
        }
        const failed = items.filter((i) => !i.ok && i.interrupted !== true)
        for (const item of failed.slice(0, 20)) yield* say(`  #${item.index + 1} failed: ${neutralise(item.summary)}`)
        if (failed.length > 20) yield* say(`  … and ${failed.length - 20} more failed`)
        for (const item of items) {
          if (item.saveFailure !== undefined) yield* say(`  #${item.index + 1} not saved: ${neutralise(item.saveFailure.message)}`)
        }
        const saved = items.flatMap((i) => i.saved ?? [])
        if (saved.length > 0) yield* say(`saved: ${saved.join(", ")}`)
        yield* say(
          `${interrupted ? `interrupted: ${report.completed} of ${report.requests} request(s) finished` : `${report.requests} request(s)`}: ` +
            `${report.served} served (${report.fellBack} by a fallback), ${report.failed} failed` +
            `${report.notSaved > 0 ? `, ${report.notSaved} not saved` : ""}; cost $${report.cost.toFixed(3)}; ` +
            `latency p50 ${(report.latencyMs.p50 / 1000).toFixed(1)} s, p95 ${(report.latencyMs.p95 / 1000).toFixed(1)} s`
        )
        return report
      })
    const items = yield* runBatch({ ...batch, count: flags.count, concurrency: flags.concurrency, bar, onInterrupt: (partial) => Effect.asVoid(print(partial, true)) })
    const report = yield* print(items, false)
    if (report.failed > 0) return yield* new RequestsFailed({ message: `${report.failed} of ${report.requests} request(s) failed` })
    if (report.notSaved > 0) {
      return yield* new RequestsFailed({ message: `${report.notSaved} of ${report.requests} result(s) were generated and billed but could not be saved (see the report for where they were kept)` })
    }
  })

const text = Command.make("text", { config: clientConfig, prompt: promptText, count, concurrency, json }, (flags) =>
  Effect.gen(function*() {
    yield* checkBatchFlags(flags)
    const client = yield* clientFromFile(flags.config)
    yield* runAndReport(flags, {
      call: (_index, hooks) => client.generateText({ messages: [Message.make({ role: "user", content: flags.prompt })] }, hooks),
      describeValue: (served) =>
        served.value.content === null ? `tool calls: ${served.value.toolCalls.map((c) => c.name).join(", ")}` : JSON.stringify(served.value.content.slice(0, 200))
    })
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Generate text along the config's text models (retries, breakers, fallback); --count for a batch"))

const imageCount = numberFlag("images", "integer").pipe(Options.withDescription("Images per request (split into single calls for models that take one)"), Options.withDefault(1))
// plain text: the parser's own path check dies on some paths (ENOTDIR); checkOutputDirectory says what is wrong
const outDir = Options.text("out").pipe(Options.withDescription("Write each image to this directory (request-<i>-<n>.<ext>)"), Options.optional)

/** Kernel filesystems: files cannot be made there, and a recursive `mkdir` under `/proc` never returns. */
const systemRoots = ["/proc", "/sys", "/dev"]
const systemRootOf = (path: string) => systemRoots.find((root) => path === root || path.startsWith(`${root}/`))

/**
 * Check, before anything is generated, that files can be written to the
 * directory `dir` (created later if missing): what exists of it is a
 * directory, writable, and not on a kernel filesystem (a symbolic link is
 * followed). Bounded: one `stat` per path segment, and a time limit for
 * filesystems that do not answer. Otherwise an {@link InputError} naming
 * `flag`.
 */
const checkOutputDirectory = (flag: string, dir: string): Effect.Effect<void, InputError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const refuse = (why: string) => new InputError({ message: `${flag}: ${why}` })
    const absolute = path.resolve(dir)
    const lexical = systemRootOf(absolute)
    if (lexical !== undefined) return yield* refuse(`${dir} is under ${lexical}, a kernel filesystem; choose a directory on disk`)
    // the nearest part of the path that can be looked at (missing parts are created
    // later; a file in the way shows up as a part that is not a directory): every
    // step is a shorter path, and the walk stops at "/"
    let existing = absolute
    let info = yield* Effect.either(fs.stat(existing))
    while (info._tag === "Left" && path.dirname(existing) !== existing) {
      existing = path.dirname(existing)
      info = yield* Effect.either(fs.stat(existing))
    }
    if (info._tag === "Left") return yield* refuse(`cannot check ${existing}: ${info.left.message}`)
    const real = yield* fs.realPath(existing).pipe(Effect.mapError((e) => refuse(`cannot check ${existing}: ${e.message}`)))
    const linked = systemRootOf(real)
    if (linked !== undefined) return yield* refuse(`${dir} leads to ${real}, on a kernel filesystem; choose a directory on disk`)
    if (info.right.type !== "Directory") {
      return yield* refuse(existing === absolute ? `${dir} is not a directory` : `${dir} cannot be created: ${existing} is not a directory`)
    }
    yield* fs.access(existing, { writable: true }).pipe(
      Effect.mapError(() => refuse(existing === absolute ? `${dir} is not writable` : `${dir} cannot be created: ${existing} is not writable`))
    )
  }).pipe(Effect.timeoutFail({
    duration: Duration.seconds(5),
    onTimeout: () => new InputError({ message: `${flag}: ${dir} did not answer within 5 s; choose a directory on a local disk` })
  }))

const image = Command.make("image", { config: clientConfig, prompt: promptText, n: imageCount, out: outDir, count, concurrency, json }, (flags) =>
  Effect.gen(function*() {
    yield* checkBatchFlags(flags)
    if (!Number.isSafeInteger(flags.n) || flags.n < 1 || flags.n > 10) {
      return yield* new InputError({ message: `--images: must be an integer from 1 to 10, got ${flags.n}` })
    }
    if (Option.isSome(flags.out)) yield* checkOutputDirectory("--out", flags.out.value)
    const client = yield* clientFromFile(flags.config)
    const files = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    // one directory for every image that could not be saved where asked, made on first need
    const spare = yield* Effect.cached(
      Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectory({ prefix: "effect-ai-resilience-images-" }))
    )
    const keepAside = (prefix: string, result: ImageDelivery.ImageDeliveryResult, failure: ImageDelivery.ImageSaveFailed): Effect.Effect<SaveFailure> =>
      spare.pipe(
        Effect.flatMap((dir) => ImageDelivery.saveTo(dir, { prefix })(result)),
        Effect.map((written): SaveFailure => ({
          message: `${failure.message}; the image${written.length === 1 ? " is" : "s are"} kept in ${written.map((f) => f.path).join(", ")}`,
          keptAt: written.map((f) => f.path)
        })),
        Effect.orElseSucceed((): SaveFailure => ({ message: `${failure.message}; no temporary file could be written either, so the result is lost` })),
        Effect.provide(files)
      )
    yield* runAndReport<ImageDelivery.ImageDeliveryResult>(flags, {
      call: (_index, hooks) => client.generateImage({ prompt: flags.prompt, ...(flags.n === 1 ? {} : { n: flags.n }) }, hooks),
      ...(Option.isNone(flags.out) ? {} : {
        keep: (index, served) =>
          ImageDelivery.saveTo(flags.out.pipe(Option.getOrElse(() => ".")), { prefix: `request-${index + 1}` })(served.value).pipe(
            Effect.map((written) => written.map((f) => f.path)),
            Effect.provide(files),
            Effect.catchAll((failure) => Effect.flip(keepAside(`request-${index + 1}`, served.value, failure)))
          )
      }),
      describeValue: (served) =>
        served.value.images.map((i) => `${i.mimeType} ${i.bytes.byteLength} bytes${i.source === "url" ? " (downloaded)" : ""}`).join(", ") +
        (served.value.images[0]?.revisedPrompt === undefined ? "" : `; revised prompt: ${JSON.stringify(served.value.images[0].revisedPrompt.slice(0, 60))}`)
    })
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Generate images along the config's image models; URL outputs are downloaded at once; --out DIR saves them"))

const videoSeconds = numberFlag("seconds", "integer").pipe(Options.withDescription("Length of the video in seconds"), Options.optional)
const videoOut = Options.text("out").pipe(Options.withDescription("Write the video to this file"), Options.optional)

const video = Command.make("video", { config: clientConfig, prompt: promptText, seconds: videoSeconds, out: videoOut, json }, (flags) =>
  Effect.gen(function*() {
    // checked here, so that a bad length is refused before anything starts and named by
    // its flag (the request's own schema would only refuse it once the job is under way)
    if (Option.isSome(flags.seconds) && flags.seconds.value < 1) {
      return yield* new InputError({ message: `--seconds: must be a whole number of seconds, at least 1, got ${flags.seconds.value}` })
    }
    const client = yield* clientFromFile(flags.config)
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (Option.isSome(flags.out)) {
      const target = yield* Effect.option(fs.stat(flags.out.value))
      if (Option.isSome(target) && target.value.type === "Directory") {
        return yield* new InputError({ message: `--out: ${flags.out.value} is a directory; give the name of the video file` })
      }
      yield* checkOutputDirectory("--out", path.dirname(path.resolve(flags.out.value)))
    }
    // progress quotes the provider (statuses, error messages): neutralised wherever it goes
    const log = (line: string) => (flags.json ? Effect.sync(() => process.stderr.write(`${neutralise(line)}\n`)) : say(neutralise(line)))
    const t0 = yield* Clock.currentTimeMillis
    const since = Effect.map(Clock.currentTimeMillis, (now) => `${((now - t0) / 1000).toFixed(0).padStart(4)} s`)
    const exit = yield* Effect.exit(client.generateVideo(
      { prompt: flags.prompt, ...Option.match(flags.seconds, { onNone: () => ({}), onSome: (seconds) => ({ seconds }) }) },
      {
        onProgress: (event) =>
          Effect.flatMap(since, (at) =>
            log(
              event._tag === "Submitted"
                ? `${at}  ${event.model}: submitted, task ${event.taskId}`
                : event._tag === "Status"
                ? `${at}  ${event.model}: ${event.rawStatus}${event.progress === undefined ? "" : ` ${event.progress}%`}`
                : event._tag === "FellOver"
                ? `${at}  ${event.from}: giving up (${event.reason}: ${event.message.slice(0, 120)}); trying the next model`
                : `${at}  ${event.model}: downloaded ${event.bytes} bytes`
            ))
      }
    ))
    if (exit._tag === "Failure") {
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (flags.json) {
        yield* Console.log(JSON.stringify({
          ok: false,
          failure: error === undefined ? String(exit.cause) : error._tag === "VideoJobFailed"
            ? { _tag: error._tag, message: error.message, attempts: error.attempts.map((a) => ({ ...a, failure: a.failure === undefined ? undefined : failureJson(a.failure) })) }
            : failureJson(error)
        }, null, 2))
      }
      return yield* new RequestsFailed({ message: error === undefined ? "the video job was interrupted" : error.message })
    }
    const job = exit.value
    // the video is billed: if it cannot be written where asked, it is kept in a temporary file
    let saveFailure: SaveFailure | undefined
    if (Option.isSome(flags.out) && job.video !== undefined) {
      const file = flags.out.value
      const bytes = job.video.bytes
      const written = yield* Effect.either(fs.makeDirectory(path.dirname(path.resolve(file)), { recursive: true }).pipe(
        Effect.zipRight(fs.writeFile(file, bytes))
      ))
      if (written._tag === "Left") {
        const reason = `cannot write ${file}: ${written.left.message}`
        saveFailure = yield* fs.makeTempDirectory({ prefix: "effect-ai-resilience-video-" }).pipe(
          Effect.map((dir) => path.join(dir, path.basename(file) || "video.mp4")),
          Effect.tap((kept) => fs.writeFile(kept, bytes)),
          Effect.map((kept): SaveFailure => ({ message: `${reason}; the video is kept in ${kept}`, keptAt: [kept] })),
          Effect.orElseSucceed((): SaveFailure => ({ message: `${reason}; no temporary file could be written either, so the video is lost` }))
        )
      }
    }
    if (flags.json) {
      yield* Console.log(JSON.stringify({
        ok: true,
        model: job.model,
        fellBack: job.fellBack,
        cost: job.cost,
        task: { id: job.task.id, status: job.task.status, rawStatus: job.task.rawStatus },
        video: job.video === undefined ? undefined : { bytes: job.video.bytes.byteLength, mimeType: job.video.mimeType },
        ...(Option.isSome(flags.out) && job.video !== undefined && saveFailure === undefined ? { saved: [flags.out.value] } : {}),
        ...(saveFailure === undefined ? {} : { saveFailure }),
        attempts: job.attempts.map((a) => ({ ...a, failure: a.failure === undefined ? undefined : failureJson(a.failure) }))
      }, null, 2))
    } else {
      yield* say(
        `served by ${job.model}${job.fellBack ? " (fallback)" : ""}: ${job.video === undefined ? "no download" : `${job.video.mimeType}, ${job.video.bytes.byteLength} bytes`}` +
          `${Option.isSome(flags.out) && saveFailure === undefined ? ` → ${flags.out.value}` : ""}; cost $${job.cost.toFixed(2)}`
      )
      if (saveFailure !== undefined) yield* say(`not saved: ${neutralise(saveFailure.message)}`)
    }
    if (saveFailure !== undefined) {
      return yield* new RequestsFailed({ message: `the video was generated and billed but not saved: ${saveFailure.message}` })
    }
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription("Generate a video along the config's video models: submit, poll, fall over, download at once"))

const pagePort = numberFlag("port", "integer").pipe(Options.withDescription("Port of the page on 127.0.0.1 (0 = any free port)"), Options.withDefault(8787))
const probeInterval = numberFlag("probe-interval", "integer").pipe(
  Options.withDescription("Seconds between two probes of a model (each probe is a 1-token text or one image: it costs the model's price)"),
  Options.withDefault(300)
)
const videoProbeInterval = Options.integer("video-probe-interval").pipe(
  Options.withDescription(
    "Seconds between two probes of a video model that takes jobs (each probe submits one short video job: it costs the model's price); " +
      "a model that refuses them is probed every --probe-interval instead, which costs nothing"
  ),
  Options.withDefault(1800)
)

const status = Command.make("status", { config: clientConfig, port: pagePort, probeInterval, videoProbeInterval }, (flags) =>
  Effect.gen(function*() {
    if (!Number.isSafeInteger(flags.port) || flags.port < 0 || flags.port > 65_535) {
      return yield* new InputError({ message: `--port: must be a port from 0 to 65535, got ${flags.port}` })
    }
    // at most a day: past Effect's timer range (about 24 days) a probe would silently never run
    if (!Number.isSafeInteger(flags.probeInterval) || flags.probeInterval < 10 || flags.probeInterval > 86_400) {
      return yield* new InputError({ message: `--probe-interval: must be a whole number of seconds from 10 to 86400, got ${flags.probeInterval}` })
    }
    if (!Number.isSafeInteger(flags.videoProbeInterval) || flags.videoProbeInterval < 60) {
      return yield* new InputError({
        message: `--video-probe-interval: must be a whole number of seconds, at least 60, got ${flags.videoProbeInterval}`
      })
    }
    const token = yield* StatusServer.tokenConfig().pipe(
      Effect.mapError(() => new InputError({ message: "STATUS_TOKEN: must not be blank when it is set (unset it for a page without a token)" }))
    )
    const client = yield* clientFromFile(flags.config, {
      probes: {
        always: true,
        // no traffic here: without a probe at the start, every model would look fine until the first interval ends
        immediate: true,
        interval: Duration.seconds(flags.probeInterval),
        text: { messages: [Message.make({ role: "user", content: "ping" })], maxTokens: 1 },
        image: { prompt: "a small grey dot on white" },
        // the vendor's default (shortest) length and size: the cheapest job it takes
        video: { prompt: "a small grey dot on white" },
        videoInterval: Duration.seconds(flags.videoProbeInterval)
      }
    })
    const server = yield* NodeStatusServer.make({
      port: flags.port,
      title: "Model status",
      ...Option.match(token, { onNone: () => ({}), onSome: (value) => ({ token: value }) })
    }).pipe(
      Effect.provideService(ModelStatus.ModelStatus, client.status),
      Effect.mapError((e) => new InputError({ message: `--port: cannot serve on ${flags.port}: ${e.message}` }))
    )
    yield* say(`status page: ${server.url}/   (JSON: ${server.url}/status, events: ${server.url}/status/events)`)
    if (server.tokenRequired) {
      yield* say("the page needs the token in STATUS_TOKEN: a browser asks for it once; programs send Authorization: Bearer <token>")
    }
    yield* say(
      `probing every text and image model every ${flags.probeInterval} s and every video model every ${flags.videoProbeInterval} s; Ctrl-C to stop`
    )
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
).pipe(Command.withDescription(
  "Serve the status page for a config's models, judged from probes (and any traffic of this process); with STATUS_TOKEN set, the page needs that token"
))

const configFile = existingConfigFile.pipe(
  Options.withDescription("Simulator configuration (JSON); default: the built-in scenario (five image models, two text, three video)"),
  Options.optional
)
const port = numberFlag("port", "integer").pipe(Options.withDescription("Port on 127.0.0.1 (0 = any free port)"), Options.optional)
const timeScale = numberFlag("time-scale", "number").pipe(Options.withDescription("Simulated seconds per real second"), Options.optional)
const seed = numberFlag("seed", "integer").pipe(Options.withDescription("PRNG seed"), Options.optional)

/**
 * Read and decode a simulator config file; errors name the file and field.
 *
 * @since 0.1.0
 */
export const loadSimulatorConfig = (path: string): Effect.Effect<Simulator.SimulatorConfig, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const parsed = yield* readJsonFile(path).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
    // the same checks as Simulator.decodeConfig; the report lists the first problems of a huge file
    return yield* decodeBounded(Simulator.SimulatorConfig, [{ key: "models", entry: Simulator.ModelProfile }], parsed).pipe(
      Effect.mapError((lines) => new InputError({ message: `${path} is not a valid simulator config:\n${lines.join("\n").replace(/^/gm, "  ")}` }))
    )
  })

/**
 * The flags of the `simulate` command.
 *
 * @since 0.1.0
 */
export interface SimulateFlags {
  /** A config file (JSON); none: the built-in {@link Simulator.defaultScenario}. */
  readonly config: Option.Option<string>
  readonly port: Option.Option<number>
  readonly timeScale: Option.Option<number>
  readonly seed: Option.Option<number>
}

const flagNames: Readonly<Record<string, string>> = { port: "--port", timeScale: "--time-scale", seed: "--seed" }

/**
 * The configuration `simulate` serves: the config file (or the built-in
 * scenario) with `--port`, `--time-scale` and `--seed` laid over it, decoded
 * as a whole. Anything invalid is an {@link InputError} whose message names
 * the field (`port: Expected …`).
 *
 * @since 0.1.0
 */
export const resolveSimulatorConfig = (
  flags: SimulateFlags
): Effect.Effect<Simulator.SimulatorConfig, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const base = Option.isSome(flags.config) ? yield* loadSimulatorConfig(flags.config.value) : Simulator.defaultScenario
    const overrides = {
      ...Option.match(flags.port, { onNone: () => ({}), onSome: (port) => ({ port }) }),
      ...Option.match(flags.timeScale, { onNone: () => ({}), onSome: (timeScale) => ({ timeScale }) }),
      ...Option.match(flags.seed, { onNone: () => ({}), onSome: (seed) => ({ seed }) })
    }
    if (Object.keys(overrides).length === 0) return base
    // The base is valid: encode it back to its JSON form, lay the flags over it
    // and decode the result, so the flags get the same checks as a file.
    const encoded = yield* Schema.encode(Simulator.SimulatorConfig)(base).pipe(Effect.orDie)
    return yield* Simulator.decodeConfig({ ...encoded, ...overrides }).pipe(
      Effect.mapError((e) => {
        const given = Object.keys(overrides).map((key) => flagNames[key] ?? key).join(", ")
        return new InputError({ message: `invalid simulator settings (from ${given}):\n${formatParseError(e).replace(/^/gm, "  ")}` })
      })
    )
  })

const simulate = Command.make("simulate", { config: configFile, port, timeScale, seed }, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveSimulatorConfig(flags)
    const sim = yield* Simulator.make(config)
    yield* say(`provider simulator listening on ${sim.url}`)
    yield* say(`  OpenAI-compatible: ${sim.url}/v1/chat/completions, /v1/images/generations, /v1/videos`)
    yield* say(`  Gemini:            ${sim.url}/v1beta/models/{model}:generateContent`)
    yield* say(`  state:             ${sim.url}/_simulator/state`)
    yield* say(`  models: ${config.models.map((m) => `${m.id} (${m.kind})`).join(", ")}`)
    yield* say(`  time scale ×${config.timeScale}, seed ${config.seed}; Ctrl-C to stop`)
    return yield* Effect.never
  }).pipe(Effect.scoped)
).pipe(Command.withDescription("Serve the provider simulator (real HTTP, real wire formats) until interrupted"))

const root = Command.make("effect-ai-resilience").pipe(
  Command.withDescription(
    "Resilience for AI generation APIs.\n\nExit codes: 0 ok; 1 failure (or the demo / walkthrough did not see what it checks for); 2 bad input (config file, flags, --out); 130 / 143 stopped by Ctrl-C / SIGTERM."
  ),
  Command.withSubcommands([demo, walkthrough, text, image, video, status, simulate])
)

/**
 * The CLI as an Effect of its arguments.
 *
 * @since 0.1.0
 */
export const cli = Command.run(root, { name: "effect-ai-resilience", version: "0.1.0" })

/**
 * The exit code of a CLI run: 0 success; 1 a command failed or a run that
 * checks itself did not see what it checks for; 2 bad input (flags, a config
 * file), after which nothing has been started. The error goes to stderr as
 * `error: …` (bad flags are reported by the parser itself).
 *
 * @since 0.1.0
 */
export const exitCode = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchTags({
      InputError: (e) => Effect.as(warn(`error: ${e.message}`), 2),
      RequestsFailed: (e) => Effect.as(warn(`error: ${e.message}`), 1),
      CheckFailed: (e) => Effect.as(warn(`error: ${e.message}`), 1)
    }),
    Effect.catchIf(ValidationError.isValidationError, () => Effect.succeed(2))
  )
