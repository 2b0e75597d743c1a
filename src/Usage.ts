/**
 * Token usage reported by a provider, normalised across wire formats.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Token counts. OpenAI reports `prompt_tokens` / `completion_tokens`; Gemini
 * reports `promptTokenCount` / `candidatesTokenCount`; both end up here.
 *
 * @since 0.1.0
 */
export class Usage extends Schema.Class<Usage>("effect-ai-resilience/Usage")({
  promptTokens: Schema.optional(Schema.Number),
  completionTokens: Schema.optional(Schema.Number),
  totalTokens: Schema.optional(Schema.Number)
}) {}
