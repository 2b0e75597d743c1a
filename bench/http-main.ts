/**
 * `node dist-bench/bench/http-main.js [--gemini] [--rounds N] [--round-ms N]`:
 * the HTTP path benchmark on its own, printing the table.
 */
import { cpus } from "node:os"
import * as Http from "./http.js"

const arg = (name: string): number | undefined => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : Number(process.argv[i + 1])
}

const main = async () => {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}\n`)
  const rounds = arg("--rounds")
  const roundMs = arg("--round-ms")
  const result = await Http.run({
    provider: process.argv.includes("--gemini") ? "gemini" : "openai",
    verbose: process.argv.includes("--verbose"),
    ...(rounds === undefined ? {} : { rounds }),
    ...(roundMs === undefined ? {} : { roundMs })
  })
  console.log(`## HTTP path\n\n${Http.format(result)}\n`)
  console.log(`targets:\n${Http.verdicts(result).map((l) => `- ${l}`).join("\n")}`)
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
