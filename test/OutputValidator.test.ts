import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option, Schema } from "effect"
import * as OutputValidator from "../src/OutputValidator.js"

const problem = (validator: OutputValidator.OutputValidator, output: string): string | undefined =>
  Option.getOrUndefined(validator.check(output))

describe("OutputValidator.json", () => {
  const Verdict = Schema.Struct({ label: Schema.Literal("positive", "negative", "neutral"), score: Schema.Number })
  const verdict = OutputValidator.json(Verdict)

  it("is named json and describes the expected shape", () => {
    expect(verdict.name).toBe("json")
    expect(verdict.description).toContain("label")
    expect(verdict.description).toContain("score")
  })

  it("accepts valid JSON matching the schema", () => {
    expect(problem(verdict, "{\"label\":\"positive\",\"score\":0.92}")).toBeUndefined()
    expect(problem(verdict, "  {\n  \"label\": \"neutral\",\n  \"score\": 0\n}\n")).toBeUndefined()
  })

  it("rejects text that is not JSON", () => {
    const p = problem(verdict, "Sure! Here is the sentiment: positive (0.92)")
    expect(p).toBeDefined()
    expect(p).toMatch(/JSON/i)
  })

  it("rejects truncated JSON", () => {
    expect(problem(verdict, "{\"label\":\"positive\",\"sco")).toBeDefined()
  })

  it("names the field that does not match", () => {
    const wrongType = problem(verdict, "{\"label\":\"positive\",\"score\":\"high\"}")
    expect(wrongType).toContain("[\"score\"]")
    const missing = problem(verdict, "{\"label\":\"positive\"}")
    expect(missing).toContain("[\"score\"]")
    const outside = problem(verdict, "{\"label\":\"mixed\",\"score\":0.5}")
    expect(outside).toContain("[\"label\"]")
    expect(outside).not.toContain("[\"score\"]")
  })

  it("reports every mismatching field, not just the first", () => {
    const p = problem(verdict, "{\"label\":\"mixed\",\"score\":\"high\"}")
    expect(p).toContain("[\"label\"]")
    expect(p).toContain("[\"score\"]")
  })

  it("tolerates one surrounding ```json fence (and a bare ``` fence)", () => {
    expect(problem(verdict, "```json\n{\"label\":\"negative\",\"score\":0.1}\n```")).toBeUndefined()
    expect(problem(verdict, "```JSON\n{\"label\":\"negative\",\"score\":0.1}\n```\n")).toBeUndefined()
    expect(problem(verdict, "```\n{\"label\":\"negative\",\"score\":0.1}\n```")).toBeUndefined()
    expect(problem(verdict, "```json\r\n{\"label\":\"negative\",\"score\":0.1}\r\n```")).toBeUndefined()
  })

  it("a fenced block is still checked against the schema", () => {
    expect(problem(verdict, "```json\n{\"label\":\"negative\"}\n```")).toContain("[\"score\"]")
  })

  it("prose around a fence is not JSON", () => {
    expect(problem(verdict, "Here you go:\n```json\n{\"label\":\"negative\",\"score\":0.1}\n```")).toBeDefined()
  })
})

describe("OutputValidator.oneOf", () => {
  const sentiment = OutputValidator.oneOf(["positive", "negative", "neutral"])

  it("is named oneOf", () => expect(sentiment.name).toBe("oneOf"))

  it.each(["positive", "Positive", "NEUTRAL", "  negative \n", "positive.", "Negative."])("accepts %j", (output) => {
    expect(problem(sentiment, output)).toBeUndefined()
  })

  it.each(["mixed", "positive!", "positive..", "pos", "positive, mostly", "", "The sentiment is positive."])(
    "rejects %j and quotes it",
    (output) => {
      const p = problem(sentiment, output)
      expect(p).toBeDefined()
      expect(p).toContain(JSON.stringify(output))
      expect(p).toContain("positive, negative, neutral")
    }
  )

  it("caseSensitive", () => {
    const strict = OutputValidator.oneOf(["OK", "NG"], { caseSensitive: true })
    expect(problem(strict, "OK")).toBeUndefined()
    expect(problem(strict, "NG.")).toBeUndefined()
    expect(problem(strict, "ok")).toBeDefined()
  })

  it("labels are trimmed too", () => {
    expect(problem(OutputValidator.oneOf([" yes ", "no"]), "YES")).toBeUndefined()
  })

  it.prop("accepts exactly the labels, modulo case and one trailing full stop", [fc.string()], ([s]) => {
    const expected = ["positive", "negative", "neutral"].includes(s.trim().replace(/\.$/, "").toLowerCase())
    expect(Option.isNone(sentiment.check(s))).toBe(expected)
  })
})

describe("OutputValidator.minWords (a summary under 10 words is suspicious)", () => {
  const summary = OutputValidator.minWords(10)

  it("is named minWords", () => expect(summary.name).toBe("minWords"))

  it("9 words fail, 10 pass", () => {
    expect(problem(summary, "The model was overloaded so the request was retried twice.")).toBeUndefined() // 10
    expect(problem(summary, "The model was overloaded so the request was retried.")).toBe( // 9
      "expected at least 10 words, got 9"
    )
  })

  it("punctuation-only tokens and extra whitespace are not words", () => {
    expect(problem(summary, "one two three - four five — six seven ... eight nine")).toBe(
      "expected at least 10 words, got 9"
    )
    expect(problem(summary, "  one\ttwo\n\nthree four five six seven eight nine ten  ")).toBeUndefined()
  })

  it("an empty answer has zero words", () => {
    expect(problem(summary, "")).toBe("expected at least 10 words, got 0")
  })

  it("numbers count as words", () => {
    expect(problem(OutputValidator.minWords(3), "503 then 200")).toBeUndefined()
  })

  it("Japanese text (no spaces) is counted in words, not as one token", () => {
    // 生成 / AI / の / API / は / 混雑 / 時に / 503 / エラー / を / 返す / こと / が / あり / ます
    const ja = "生成AIのAPIは混雑時に503エラーを返すことがあります。"
    expect(problem(summary, ja)).toBeUndefined()
    expect(problem(summary, "エラーです。")).toMatch(/^expected at least 10 words, got [12]$/)
  })
})

describe("OutputValidator.make and validate", () => {
  const noApology = OutputValidator.make("noApology", "does not apologise", (out) =>
    /\bsorry\b/i.test(out) ? Option.some("the model apologised instead of answering") : Option.none())

  it("make builds a validator that is recognised as one", () => {
    expect(OutputValidator.isOutputValidator(noApology)).toBe(true)
    expect(OutputValidator.isOutputValidator({ name: "x", check: () => Option.none() })).toBe(false)
    expect(noApology.name).toBe("noApology")
    expect(noApology.description).toBe("does not apologise")
    expect(problem(noApology, "Sorry, I can't help with that.")).toBe("the model apologised instead of answering")
    expect(problem(noApology, "Here is the answer.")).toBeUndefined()
  })

  it("the OutputValidator schema accepts validators and rejects look-alikes", () => {
    const is = Schema.is(OutputValidator.OutputValidator)
    expect(is(OutputValidator.minWords(1))).toBe(true)
    expect(is({ name: "json", description: "", check: () => Option.none() })).toBe(false)
  })

  it("validate returns the first failing validator's name and problem", () => {
    const validators = [OutputValidator.minWords(3), noApology, OutputValidator.oneOf(["a", "b"])]
    // Passes minWords, fails noApology and oneOf: the first failure wins.
    expect(Option.getOrUndefined(OutputValidator.validate(validators, "Sorry, I cannot classify this."))).toEqual({
      validator: "noApology",
      problem: "the model apologised instead of answering"
    })
    // Fails minWords first.
    expect(Option.getOrUndefined(OutputValidator.validate(validators, "sorry"))?.validator).toBe("minWords")
    // Passes the first two, fails oneOf.
    expect(Option.getOrUndefined(OutputValidator.validate(validators, "this is fine"))?.validator).toBe("oneOf")
  })

  it("validate is None when all pass, and for no validators", () => {
    expect(Option.isNone(OutputValidator.validate([OutputValidator.minWords(1), noApology], "fine answer"))).toBe(true)
    expect(Option.isNone(OutputValidator.validate([], "anything"))).toBe(true)
  })

  it("validate stops at the first failure (later validators are not run)", () => {
    const ran: Array<string> = []
    const spy = (name: string, ok: boolean) =>
      OutputValidator.make(name, name, () => {
        ran.push(name)
        return ok ? Option.none() : Option.some(`${name} failed`)
      })
    OutputValidator.validate([spy("a", true), spy("b", false), spy("c", false)], "x")
    expect(ran).toEqual(["a", "b"])
  })
})

describe("OutputValidator.json on output nested thousands of levels deep", () => {
  it("rejects it with a reason instead of crashing", () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000)
    const validator = OutputValidator.json(Schema.Struct({ title: Schema.String }))
    const problem = OutputValidator.validate([validator], deep)
    expect(Option.isSome(problem)).toBe(true)
  })
})

