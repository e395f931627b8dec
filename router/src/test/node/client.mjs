// Drives the router with the official openai npm package: one plain and one streamed chat completion.
import OpenAI from 'openai';

const [, , baseURL, model] = process.argv;
const client = new OpenAI({ baseURL, apiKey: 'not-needed' });
const messages = [{ role: 'user', content: 'Say hello' }];

const plain = await client.chat.completions.create({
  model, messages, max_tokens: 8, ignore_eos: true,
});
const stream = await client.chat.completions.create({
  model, messages, max_tokens: 8, ignore_eos: true, stream: true,
  stream_options: { include_usage: true },
});
let text = '';
let usage = null;
let finish = null;
for await (const chunk of stream) {
  const choice = chunk.choices[0];
  if (choice?.delta?.content) text += choice.delta.content;
  if (choice?.finish_reason) finish = choice.finish_reason;
  if (chunk.usage) usage = chunk.usage;
}
console.log(JSON.stringify({
  plainText: plain.choices[0].message.content,
  plainTokens: plain.usage.completion_tokens,
  streamText: text,
  streamTokens: usage?.completion_tokens ?? null,
  streamFinish: finish,
}));
