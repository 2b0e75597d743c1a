/**
 * Text generation (chat completion): the normalised request and result that
 * every provider adapter speaks.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { OutputValidator } from "./OutputValidator.js"
import { Usage } from "./Usage.js"

/**
 * A tool call the model made instead of answering in text.
 *
 * @since 0.1.0
 */
export class ToolCall extends Schema.Class<ToolCall>("effect-ai-resilience/ToolCall")({
  id: Schema.String,
  name: Schema.String,
  /** The arguments as the model wrote them (a JSON string). */
  arguments: Schema.String
}) {}

/**
 * One message of a conversation.
 *
 * @since 0.1.0
 */
export class Message extends Schema.Class<Message>("effect-ai-resilience/Message")({
  role: Schema.Literal("system", "user", "assistant", "tool"),
  content: Schema.NullOr(Schema.String),
  /** For `role: "assistant"`: the tool calls the model made (hand them back to continue). */
  toolCalls: Schema.optional(Schema.Array(ToolCall)),
  /** For `role: "tool"`: the id of the call this message answers. */
  toolCallId: Schema.optional(Schema.String),
  /** For `role: "tool"`: the tool's name (Gemini needs it; found from `toolCallId` when absent). */
  name: Schema.optional(Schema.String)
}) {}

/**
 * A tool the model may call (function calling).
 *
 * @since 0.1.0
 */
export class ToolDefinition extends Schema.Class<ToolDefinition>("effect-ai-resilience/ToolDefinition")({
  name: Schema.String,
  description: Schema.optional(Schema.String),
  /** JSON Schema of the arguments. */
  parameters: Schema.Unknown
}) {}

/**
 * A text generation request.
 *
 * @example
 * ```ts
 * import { TextGeneration, OutputValidator } from "effect-ai-resilience"
 *
 * const request = TextGeneration.TextRequest.make({
 *   model: "gpt-4.1-mini",
 *   messages: [TextGeneration.Message.make({ role: "user", content: "Label this review: 'great!'" })],
 *   validate: [OutputValidator.oneOf(["positive", "negative", "neutral"])]
 * })
 * ```
 *
 * @since 0.1.0
 */
export class TextRequest extends Schema.Class<TextRequest>("effect-ai-resilience/TextRequest")({
  model: Schema.NonEmptyTrimmedString,
  messages: Schema.NonEmptyArray(Message),
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
  temperature: Schema.optional(Schema.Number.pipe(Schema.between(0, 2))),
  /** Ask for a JSON object (`response_format: {type: "json_object"}`). */
  responseFormat: Schema.optional(Schema.Literal("text", "json")),
  tools: Schema.optional(Schema.Array(ToolDefinition)),
  /** Declarative checks; a failing one is a `SilentFailure("InvalidOutput")`. */
  validate: Schema.optional(Schema.Array(OutputValidator))
}) {}

/**
 * Finish reasons, normalised to the OpenAI vocabulary (`stop`, `length`, `content_filter`, `tool_calls`); anything
 * else is kept as sent.
 *
 * @since 0.1.0
 */
export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls" | (string & {})

/**
 * A usable text generation result: either text (`content`) or tool calls.
 *
 * @since 0.1.0
 */
export class TextResult extends Schema.Class<TextResult>("effect-ai-resilience/TextResult")({
  provider: Schema.String,
  /** The model that served the request, as the provider reported it. */
  model: Schema.String,
  content: Schema.NullOr(Schema.String),
  toolCalls: Schema.Array(ToolCall),
  finishReason: Schema.String,
  usage: Schema.optional(Usage),
  requestId: Schema.optional(Schema.String)
}) {}
