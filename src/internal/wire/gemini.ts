/**
 * Gemini `generateContent` response body as a Schema (only the fields we read).
 *
 * @internal
 */
import { Schema } from "effect"

/** @internal */
export const Part = Schema.Struct({
  text: Schema.optional(Schema.String),
  thought: Schema.optional(Schema.Boolean),
  inlineData: Schema.optional(Schema.Struct({ mimeType: Schema.String, data: Schema.String })),
  functionCall: Schema.optional(Schema.Struct({ name: Schema.String, args: Schema.optional(Schema.Unknown) }))
})

/** @internal */
export const GenerateContentResponse = Schema.Struct({
  candidates: Schema.optional(
    Schema.Array(
      Schema.Struct({
        content: Schema.optional(Schema.Struct({ parts: Schema.optional(Schema.Array(Part)), role: Schema.optional(Schema.String) })),
        finishReason: Schema.optional(Schema.String),
        finishMessage: Schema.optional(Schema.String),
        index: Schema.optional(Schema.Number)
      })
    )
  ),
  promptFeedback: Schema.optional(
    Schema.Struct({ blockReason: Schema.optional(Schema.String), blockReasonMessage: Schema.optional(Schema.String) })
  ),
  usageMetadata: Schema.optional(
    Schema.Struct({
      promptTokenCount: Schema.optional(Schema.Number),
      candidatesTokenCount: Schema.optional(Schema.Number),
      totalTokenCount: Schema.optional(Schema.Number)
    })
  ),
  modelVersion: Schema.optional(Schema.String),
  responseId: Schema.optional(Schema.String)
})
