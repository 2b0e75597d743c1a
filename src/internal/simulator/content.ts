/**
 * Deterministic generated content and prompt directives.
 *
 * @internal
 */
import { type Fault, isFault } from "./faults.js"
import { hash32, Rng } from "./prng.js"


/** What the `[sim:…]` markers of a prompt ask for. @internal */
export interface Directives {
  /** A forced outcome (`[sim:<fault>]` or `[sim:ok]`); the first one wins. */
  readonly outcome?: Fault | "ok" | undefined
  /** `[sim:tool]`: answer with a tool call when the request has tools. */
  readonly tool: boolean
  /** `[sim:reply=<text>]`: the exact text of a successful answer. */
  readonly reply?: string | undefined
}

/** Parse `[sim:…]` markers. @internal */
export const parseDirectives = (text: string): Directives => {
  let outcome: Fault | "ok" | undefined
  let tool = false
  let reply: string | undefined
  for (const m of text.matchAll(/\[sim:([A-Za-z]+)(?:=([^\]]*))?\]/g)) {
    const name = m[1] ?? ""
    if (name === "reply" && m[2] !== undefined) reply ??= m[2]
    else if (name === "tool") tool = true
    else if (outcome === undefined && (name === "ok" || isFault(name))) outcome = name as Fault | "ok"
  }
  return {
    tool,
    ...(outcome === undefined ? {} : { outcome }),
    ...(reply === undefined ? {} : { reply })
  }
}

/** Estimated tokens of a text: `ceil(chars / 4)`. @internal */
export const tokens = (text: string): number => Math.ceil(text.length / 4)

const SENTENCES = [
  "The short answer is that it depends on the constraints you care about most.",
  "A careful reading of the request suggests three practical options worth comparing.",
  "In most real deployments the simplest approach turns out to be the most robust one.",
  "Start with a small experiment, measure the result, and only then scale it up.",
  "The main risk here is hidden coupling between parts that look independent.",
  "Keeping the interface narrow makes later changes considerably cheaper to ship.",
  "Historical data shows a clear pattern once the noise from outliers is removed.",
  "It is worth writing the assumptions down so that they can be checked later.",
  "A fallback path should exist before the primary path is ever needed in anger.",
  "Users tend to notice latency long before they notice small quality differences.",
  "The trade-off between cost and quality shifts as the volume of requests grows.",
  "Clear error messages save more time than almost any other investment in tooling.",
  "Caching repeated work is usually the cheapest performance win available today.",
  "Each component should fail loudly and recover quietly whenever that is possible.",
  "The evidence points in one direction, although a second opinion would not hurt.",
  "Breaking the task into smaller steps makes every individual step easy to verify."
]

/** A few deterministic sentences for a model and prompt. @internal */
export const textAnswer = (model: string, prompt: string): string => {
  const rng = new Rng(hash32("text", model, prompt))
  const first = Math.floor(rng.next() * SENTENCES.length)
  const count = 2 + Math.floor(rng.next() * 3)
  const picked: Array<string> = []
  for (let i = 0; i < count; i++) picked.push(SENTENCES[(first + i * 5) % SENTENCES.length] ?? "")
  return picked.join(" ")
}

/** A small deterministic JSON object (as text) for JSON mode. @internal */
export const jsonAnswer = (model: string, prompt: string): string => {
  const rng = new Rng(hash32("json", model, prompt))
  return JSON.stringify({
    answer: rng.pick(SENTENCES),
    label: rng.pick(["positive", "neutral", "negative"]),
    confidence: Math.round((0.5 + rng.next() * 0.5) * 100) / 100
  })
}

/** The first part of a text, cut at a word boundary when possible. @internal */
export const truncate = (text: string, maxChars: number): string => {
  const limit = Math.max(1, Math.min(maxChars, Math.floor(text.length / 2)))
  const cut = text.slice(0, limit)
  const space = cut.lastIndexOf(" ")
  return space > limit / 2 ? cut.slice(0, space) : cut
}

/** Example arguments for a tool's JSON-schema parameters. @internal */
export const toolArguments = (parameters: unknown, key: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const props = typeof parameters === "object" && parameters !== null
    ? (parameters as { properties?: unknown }).properties
    : undefined
  if (typeof props !== "object" || props === null) return out
  const rng = new Rng(hash32("tool", key))
  for (const [name, schema] of Object.entries(props as Record<string, unknown>).slice(0, 8)) {
    const type = typeof schema === "object" && schema !== null ? (schema as { type?: unknown }).type : undefined
    const en = typeof schema === "object" && schema !== null ? (schema as { enum?: unknown }).enum : undefined
    if (Array.isArray(en) && en.length > 0) out[name] = en[0]
    else if (type === "number") out[name] = Math.round(rng.next() * 10000) / 100
    else if (type === "integer") out[name] = Math.floor(rng.next() * 100)
    else if (type === "boolean") out[name] = rng.next() < 0.5
    else if (type === "array") out[name] = []
    else if (type === "object") out[name] = {}
    else out[name] = `${name}-${rng.hex(6)}`
  }
  return out
}
