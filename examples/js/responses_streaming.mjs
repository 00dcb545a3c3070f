// Stream an answer as it is written, with the SDK's `responses.stream` helper.
//
//   export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...
//   node examples/js/responses_streaming.mjs "Tell me about the release train"
//
// The helper rebuilds the whole response from the server-sent events
// (`response.created` … `response.output_text.delta` … `response.completed`);
// `finalResponse()` is that response. The lower-level way is
// `client.responses.create({ ..., stream: true })` and a `for await` over the events.
// Exits 1 on an error, when no text streamed or when the pieces do not add up to the
// final answer, 2 without a key.
import OpenAI from 'openai';

const LOCAL = 'http://127.0.0.1:8000/v1';
const DEFAULT_QUESTION = 'What is the critical path?';

function makeClient() {
  const apiKey = process.env.OPENAI_API_KEY || process.env.LUKHAS_API_KEY;
  if (!apiKey) {
    console.error('Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).');
    process.exit(2);
  }
  const baseURL = process.env.OPENAI_BASE_URL || LOCAL;
  return new OpenAI({ apiKey, baseURL });
}

async function main(question) {
  const client = makeClient();
  const model = process.env.LUKHAS_MODEL || 'lukhas-matriz-1';
  const started = performance.now();
  let firstToken = null;
  const pieces = [];
  const stream = client.responses.stream({ model, input: question || DEFAULT_QUESTION });
  for await (const event of stream) {
    if (event.type === 'response.output_text.delta') {
      firstToken ??= performance.now() - started;
      pieces.push(event.delta);
      process.stdout.write(event.delta);
    }
  }
  const final = await stream.finalResponse();
  const took = (performance.now() - started) / 1000;
  const first = firstToken === null ? 'no text' : `${firstToken.toFixed(0)} ms`;
  console.log(`\n\n${final.id}: ${final.status}; ${pieces.length} pieces, first after ${first}, ` +
    `all after ${took.toFixed(2)} s`);
  if (final.usage) {
    console.log(`tokens: ${final.usage.input_tokens} in, ${final.usage.output_tokens} out`);
  }
  if (final.status !== 'completed' || pieces.length === 0) {
    console.error(`Expected a completed, streamed answer: status ${final.status}, ` +
      `${pieces.length} text pieces.`);
    return 1;
  }
  if (pieces.join('') !== final.output_text) {
    console.error('The streamed pieces do not add up to the final answer.');
    return 1;
  }
  return 0;
}

main(process.argv.slice(2).join(' ')).then(
  (code) => { process.exitCode = code; },
  (error) => {
    if (!(error instanceof OpenAI.APIError)) throw error;
    console.error(`\nThe API refused (${error.constructor.name}): ${error.message}`);
    process.exitCode = 1;
  },
);
