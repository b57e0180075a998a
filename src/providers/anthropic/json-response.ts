/**
 * How `response_format` is honoured on Anthropic: the forced-tool approach of Anthropic's tool-use
 * guide ("JSON mode": define one tool whose input_schema is the wanted schema and force it with
 * tool_choice), mapped back so the tool's input becomes the message content.
 *
 * Why not `output_config.format` (structured outputs): it is only served by recent models, while a
 * forced tool works on every Claude model the gateway may route to (claude-3-5-sonnet included),
 * and it is what LiteLLM sends, so traffic moving over behaves the same. The tool carries
 * LiteLLM's name; because responses are recognised by that name, clients may not define a tool
 * of their own with it.
 *
 * The tool is forced only when the client offers no tools of its own and thinking is off (Anthropic
 * allows only tool_choice "auto" with thinking). Otherwise the model may write text before the
 * answer tool: a complete response keeps only the JSON, a stream has already sent that text.
 */
export const JSON_TOOL_NAME = 'json_tool_call';

export const JSON_TOOL_DESCRIPTION = 'Respond with a JSON object that matches the input schema. The tool input is the whole answer.';
