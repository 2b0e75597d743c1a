/**
 * What each entry point loads, read from the sources: every module reached
 * from it through runtime imports (`import type` loads nothing and is not
 * followed). The packed package's real loading is checked by
 * test/Consumer.test.ts; this one is the fast guard that names the import
 * that pulled something in.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const src = resolve(import.meta.dirname, "..", "src")

interface Graph {
  /** src-relative module → the import chain that first reached it */
  readonly modules: Map<string, ReadonlyArray<string>>
  /** bare or `node:` specifier → the chain that first imported it */
  readonly external: Map<string, ReadonlyArray<string>>
}

const runtimeImports = (code: string): Array<string> => {
  const out: Array<string> = []
  // static imports and re-exports, skipping type-only ones
  // the clause between the keyword and `from` holds only names, braces, commas and `* as`
  for (const m of code.matchAll(/^[ \t]*(import|export)\s+(type\s+)?([\w$*{},\s]*?)\s*from\s+"([^"]+)"/gm)) {
    if (m[2] === undefined) out.push(m[4]!)
  }
  for (const m of code.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push(m[1]!)
  for (const m of code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(m[1]!)
  return out
}

const walk = (entry: string): Graph => {
  const modules = new Map<string, ReadonlyArray<string>>([[entry, [entry]]])
  const external = new Map<string, ReadonlyArray<string>>()
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.shift()!
    const chain = modules.get(file)!
    for (const spec of runtimeImports(readFileSync(join(src, file), "utf8"))) {
      if (spec.startsWith(".")) {
        const target = relative(src, resolve(dirname(join(src, file)), spec)).replace(/\.js$/, ".ts")
        if (!modules.has(target)) {
          modules.set(target, [...chain, target])
          queue.push(target)
        }
      } else {
        const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.startsWith("node:") ? spec : spec.split("/")[0]!
        if (!external.has(pkg)) external.set(pkg, [...chain, spec])
      }
    }
  }
  return { modules, external }
}

// Not for an app's library import: the CLI and its printers, Node's servers
// and processes, and the modules that exist for the CLI or for tests.
const CLI_OR_SERVER_PACKAGES = ["@effect/cli", "@effect/printer", "@effect/printer-ansi", "@effect/platform-node", "@effect/platform-node-shared"]
const NODE_SERVER_MODULES = ["node:http", "node:https", "node:http2", "node:net", "node:tls", "node:child_process"]
const NOT_IN_ROOT = ["Cli.ts", "bin.ts", "Demo.ts", "Walkthrough.ts", "ClientConfig.ts", "Simulator.ts", "ScriptedProvider.ts", "internal/jsonFile.ts"]

const offenders = (graph: Graph, names: ReadonlyArray<string>, from: "external" | "modules") =>
  names.flatMap((name) => {
    const chain = graph[from].get(name)
    return chain === undefined ? [] : [`${name} via ${chain.join(" → ")}`]
  })

describe("entry points", () => {
  it("the root entry point is the library: no CLI, printer, Node server module, simulator, config loader or test helper", () => {
    const root = walk("index.ts")
    expect(root.modules.has("ResilientClient.ts")).toBe(true)
    expect(offenders(root, CLI_OR_SERVER_PACKAGES, "external")).toEqual([])
    expect(offenders(root, NODE_SERVER_MODULES, "external")).toEqual([])
    expect(offenders(root, NOT_IN_ROOT, "modules")).toEqual([])
    // what it may load from outside: effect and the abstract platform
    expect([...root.external.keys()].filter((p) => !p.startsWith("node:")).sort()).toEqual(["@effect/platform", "effect"])
  })

  it("the testing entry point needs no Node server either", () => {
    const testing = walk("Testing.ts")
    expect(offenders(testing, [...CLI_OR_SERVER_PACKAGES, ...NODE_SERVER_MODULES], "external")).toEqual([])
  })

  it("the walker sees through re-exports and skips type-only imports (so the checks above can fail)", () => {
    const cli = walk("bin.ts")
    expect(cli.external.has("@effect/cli")).toBe(true)
    expect(cli.modules.has("Simulator.ts")).toBe(true)
    expect(runtimeImports(`import type { A } from "./a.js"\nexport type { B } from "./b.js"\nexport * as C from "./c.js"\nimport { type D, e } from "./d.js"`)).toEqual(["./c.js", "./d.js"])
  })

  it("no module of src/ reaches itself again through runtime imports (no load-order cycle)", () => {
    const files: Array<string> = []
    const walkDir = (dir: string) => {
      for (const name of readdirSync(join(src, dir))) {
        const rel = dir === "" ? name : `${dir}/${name}`
        if (statSync(join(src, rel)).isDirectory()) walkDir(rel)
        else if (rel.endsWith(".ts")) files.push(rel)
      }
    }
    walkDir("")
    const cycles = files.flatMap((file) => {
      const reached = walk(file).modules
      // a module that imports something leading back to it: the chain names the way round
      return [...reached.entries()].filter(([target]) =>
        target !== file && runtimeImports(readFileSync(join(src, target), "utf8")).some((spec) =>
          spec.startsWith(".") && relative(src, resolve(dirname(join(src, target)), spec)).replace(/\.js$/, ".ts") === file
        )
      ).map(([, chain]) => `${[...chain, file].join(" → ")}`).slice(0, 1)
    })
    expect(cycles).toEqual([])
  })
})
