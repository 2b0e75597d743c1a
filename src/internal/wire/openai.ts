/**
 * OpenAI-compatible response bodies as Schemas (only the fields we read).
 *
 * @internal
 */
import { Schema } from "effect"

const OptNum = Schema.optional(Schema.NullOr(Schema.Number))

/** @internal */
export const ChatUsage = Schema.Struct({
  prompt_tokens: OptNum,
  completion_tokens: OptNum,
  total_tokens: OptNum
})

/** @internal */
export const ChatToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.optional(Schema.String),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})

/** @internal */
export const ChatCompletion = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.optional(Schema.Number),
      message: Schema.Struct({
        role: Schema.optional(Schema.String),
        content: Schema.optional(Schema.NullOr(Schema.String)),
        refusal: Schema.optional(Schema.NullOr(Schema.String)),
        tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ChatToolCall)))
      }),
      finish_reason: Schema.optional(Schema.NullOr(Schema.String))
    })
  ),
  usage: Schema.optional(Schema.NullOr(ChatUsage))
})

/** @internal */
export const ImagesResponse = Schema.Struct({
  created: Schema.optional(Schema.Number),
  data: Schema.Array(
    Schema.Struct({
      url: Schema.optional(Schema.NullOr(Schema.String)),
      b64_json: Schema.optional(Schema.NullOr(Schema.String)),
      revised_prompt: Schema.optional(Schema.NullOr(Schema.String))
    })
  ),
  output_format: Schema.optional(Schema.String),
  usage: Schema.optional(
    Schema.NullOr(Schema.Struct({ input_tokens: OptNum, output_tokens: OptNum, total_tokens: OptNum }))
  )
})

const VideoError = Schema.Struct({ code: Schema.optional(Schema.NullOr(Schema.String)), message: Schema.optional(Schema.NullOr(Schema.String)) })

/** OpenAI `/v1/videos` object. @internal */
export const OpenAIVideo = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("video"),
  status: Schema.String,
  model: Schema.optional(Schema.String),
  progress: Schema.optional(Schema.NullOr(Schema.Number)),
  error: Schema.optional(Schema.NullOr(VideoError))
})

/** Kling-style envelope. @internal */
export const KlingTask = Schema.Struct({
  code: Schema.Number,
  message: Schema.optional(Schema.String),
  request_id: Schema.optional(Schema.String),
  data: Schema.Struct({
    task_id: Schema.String,
    task_status: Schema.String,
    task_status_msg: Schema.optional(Schema.NullOr(Schema.String)),
    task_result: Schema.optional(
      Schema.NullOr(Schema.Struct({ videos: Schema.optional(Schema.Array(Schema.Struct({ url: Schema.String }))) }))
    )
  })
})

/** Runway-style task (the submit answer has only `id`). @internal */
export const RunwayTask = Schema.Struct({
  id: Schema.String,
  status: Schema.optional(Schema.String),
  progress: Schema.optional(Schema.NullOr(Schema.Number)),
  output: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  failure: Schema.optional(Schema.NullOr(Schema.String)),
  failureCode: Schema.optional(Schema.NullOr(Schema.String))
})

/** Any of the three video dialects; Kling first (it has the most specific shape). @internal */
export const VideoTaskBody = Schema.Union(KlingTask, OpenAIVideo, RunwayTask)
