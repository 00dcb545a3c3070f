// The /v1 checks through the official `openai` package for Node (node --test), against a
// live LUKHAS site started by tests/facade/test_sdk_js.py with model aliases and CORS on.
//
//   OPENAI_BASE_URL, OPENAI_API_KEY   the site's /v1 and a key with every /v1 scope
//   LUKHAS_CORS_ORIGIN               the origin the site allows (LUKHAS_CORS_ORIGINS)
//
// What the Python SDK tests check in tests/facade/, asked the way a Node client asks:
// tools (chat and responses), the parse helpers, parameter rules (dropped ones named in
// x-lukhas-ignored-params, refused ones a 400 naming the parameter, unknown ones a 400),
// the lifecycle operations, aliases, embeddings and the CORS preflight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';

const client = new OpenAI({ maxRetries: 0, timeout: 30_000 }); // OPENAI_BASE_URL / _API_KEY
const ASK = [{ role: 'user', content: 'Is the canary healthy?' }];
const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'city name' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

async function refused(call) {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof OpenAI.BadRequestError, `${error.constructor.name}: ${error.message}`);
    return error;
  }
  assert.fail('expected a 400');
}

test('chat: a named tool comes back as tool_calls with schema-valid arguments', async () => {
  const answer = await client.chat.completions.create({
    model: 'matriz-echo',
    messages: [{ role: 'user', content: 'Weather in celsius in Oslo?' }],
    tools: [WEATHER],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const [choice] = answer.choices;
  assert.equal(choice.finish_reason, 'tool_calls');
  const [call] = choice.message.tool_calls;
  assert.equal(call.function.name, 'get_weather');
  assert.match(call.id, /^call_/);
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, 'string');
  assert.ok(['celsius', 'fahrenheit', undefined].includes(args.unit));

  const followed = await client.chat.completions.create({
    model: 'matriz-echo',
    messages: [
      { role: 'user', content: 'Weather in Oslo?' },
      choice.message,
      { role: 'tool', tool_call_id: call.id, content: '-3 C, snow' },
    ],
    tools: [WEATHER],
  });
  assert.equal(followed.choices[0].message.content, '-3 C, snow');
});

test('chat: the stream helper accumulates a streamed tool call', async () => {
  const stream = client.chat.completions.stream({
    model: 'matriz-echo',
    messages: [{ role: 'user', content: 'weather in Rome' }],
    tools: [WEATHER],
    tool_choice: 'required',
  });
  const final = await stream.finalChatCompletion();
  const [call] = final.choices[0].message.tool_calls;
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
});

test('responses: function_call out, function_call_output in, tools echoed as sent', async () => {
  const tool = { type: 'function', name: 'get_weather', strict: false, ...WEATHER.function };
  delete tool.function;
  const first = await client.responses.create({
    model: 'matriz-echo',
    input: 'Weather in celsius in Oslo?',
    tools: [tool],
    tool_choice: 'required',
  });
  assert.deepEqual(first.tools.map((t) => t.name), ['get_weather']);
  const [item] = first.output;
  assert.equal(item.type, 'function_call');
  const follow = await client.responses.create({
    model: 'matriz-echo',
    previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: item.call_id, output: 'windy' }],
    tools: [tool],
  });
  assert.equal(follow.output_text, 'windy');
});

test('parse helpers: chat.completions.parse and responses.parse fill a JSON schema', async () => {
  const schema = {
    type: 'object',
    properties: { answer: { type: 'string' } },
    required: ['answer'],
    additionalProperties: false,
  };
  const chat = await client.chat.completions.parse({
    model: 'matriz-echo',
    messages: ASK,
    response_format: { type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } },
  });
  assert.equal(typeof chat.choices[0].message.parsed.answer, 'string');
  const response = await client.responses.parse({
    model: 'matriz-echo',
    input: 'Is the canary healthy?',
    text: { format: { type: 'json_schema', name: 'reply', schema, strict: true } },
  });
  assert.equal(typeof response.output_parsed.answer, 'string');
  assert.equal(response.text.format.name, 'reply'); // echoed as sent
});

test('parameters: dropped ones are named, refused and unknown ones are a 400 naming them', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'matriz-echo', messages: ASK, temperature: 0.2, seed: 7 })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(response.headers.get('x-lukhas-ignored-params'), 'seed, temperature');
  assert.ok(Number(response.headers.get('openai-processing-ms')) >= 0);

  const logprobs = await refused(() =>
    client.chat.completions.create({ model: 'matriz-echo', messages: ASK, logprobs: true }),
  );
  assert.equal(logprobs.param, 'logprobs');
  const unknown = await refused(() =>
    client.chat.completions.create({ model: 'matriz-echo', messages: ASK, not_a_parameter: 1 }),
  );
  assert.match(unknown.message, /not_a_parameter/);
  const n = await client.chat.completions.create({ model: 'matriz-echo', messages: ASK, n: 3 });
  assert.deepEqual(n.choices.map((c) => c.index), [0, 1, 2]);
  const stopped = await client.chat.completions.create({
    model: 'matriz-echo',
    messages: [{ role: 'user', content: 'alpha beta. gamma delta' }],
    stop: ['. '],
  });
  assert.equal(stopped.choices[0].message.content, 'alpha beta');
});

test('lifecycle: stored responses and stored chat completions', async () => {
  const made = await client.responses.create({ model: 'matriz-echo', input: 'keep me' });
  assert.equal((await client.responses.retrieve(made.id)).output_text, 'keep me');
  const items = await client.responses.inputItems.list(made.id);
  assert.equal(items.data[0].content[0].text, 'keep me');
  const cut = await client.responses.create({
    model: 'matriz-echo',
    input: 'one two three four five six seven eight nine ten',
    max_output_tokens: 16,
  });
  assert.ok(['completed', 'incomplete'].includes(cut.status));
  await client.responses.delete(made.id);
  await assert.rejects(client.responses.retrieve(made.id), OpenAI.NotFoundError);

  const stored = await client.chat.completions.create({
    model: 'matriz-echo',
    messages: [{ role: 'user', content: 'remember this' }],
    store: true,
    metadata: { suite: 'js' },
  });
  assert.match(stored.id, /^chatcmpl-/);
  const again = await client.chat.completions.retrieve(stored.id);
  assert.equal(again.choices[0].message.content, 'remember this');
  const listed = await client.chat.completions.list({ metadata: { suite: 'js' } });
  assert.ok(listed.data.some((c) => c.id === stored.id));
  const updated = await client.chat.completions.update(stored.id, { metadata: { suite: 'js2' } });
  assert.deepEqual(updated.metadata, { suite: 'js2' });
  const messages = await client.chat.completions.messages.list(stored.id);
  assert.equal(messages.data[0].content, 'remember this');
  const gone = await client.chat.completions.delete(stored.id);
  assert.equal(gone.deleted, true);
});

test('streaming: responses.stream and chat deltas add up to the final text', async () => {
  const stream = client.responses.stream({ model: 'matriz-echo', input: 'streamed words here' });
  let text = '';
  stream.on('response.output_text.delta', (event) => {
    text += event.delta;
  });
  const final = await stream.finalResponse();
  assert.equal(text, final.output_text);
  assert.equal(final.output_text, 'streamed words here');
  const chunks = await client.chat.completions.create({
    model: 'matriz-echo',
    messages: [{ role: 'user', content: 'chunked reply' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let chat = '';
  let usage = null;
  for await (const chunk of chunks) {
    chat += chunk.choices[0]?.delta?.content ?? '';
    usage = chunk.usage ?? usage;
  }
  assert.equal(chat, 'chunked reply');
  assert.ok(usage.total_tokens > 0);
});

test('aliases: listed, retrieved and answered as their target', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes('gpt-4o-mini') && ids.includes('lukhas-matriz-1'), ids.join(', '));
  assert.equal((await client.models.retrieve('gpt-echo')).id, 'gpt-echo');
  const answer = await client.chat.completions.create({ model: 'gpt-echo', messages: ASK });
  assert.equal(answer.choices[0].message.content, 'Is the canary healthy?');
  await assert.rejects(client.models.retrieve('gpt-none'), OpenAI.NotFoundError);
});

test('embeddings: the SDK decodes base64, dimensions is honoured, never a zero vector', async () => {
  const { data } = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: ['the canary rollout was halted', '🙂🚀'],
    dimensions: 32,
  });
  assert.equal(data.length, 2);
  for (const { embedding } of data) {
    assert.equal(embedding.length, 32);
    assert.ok(Math.hypot(...embedding) > 0.5);
  }
});

test('errors: the OpenAI envelope on 401, 404 and 405', async () => {
  const stranger = new OpenAI({ apiKey: 'lk-not-a-key', maxRetries: 0 });
  await assert.rejects(stranger.models.list(), OpenAI.AuthenticationError);
  const missing = await client.get('/no-such-thing').catch((error) => error);
  assert.ok(missing instanceof OpenAI.NotFoundError);
  assert.equal(missing.error.type, 'invalid_request_error');
  const wrongVerb = await client.delete('/models').catch((error) => error);
  assert.equal(wrongVerb.status, 405);
  assert.ok(wrongVerb.error.message.length > 0);
});

test('CORS: the preflight of an allowed origin is answered, a stranger is not', async () => {
  const url = `${client.baseURL}/chat/completions`;
  const ask = (origin) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-stainless-lang',
      },
    });
  const allowed = await ask(process.env.LUKHAS_CORS_ORIGIN);
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get('access-control-allow-origin'), process.env.LUKHAS_CORS_ORIGIN);
  assert.match(allowed.headers.get('access-control-allow-headers'), /authorization/i);
  const stranger = await ask('https://evil.example');
  assert.equal(stranger.headers.get('access-control-allow-origin'), null);
});
