// Ask MATRIZ one question through the Responses API and print the answer.
//
//   export OPENAI_BASE_URL=http://127.0.0.1:8000/v1   # `make run`
//   export OPENAI_API_KEY=lk-...   # manage.py create_api_key --name me --scopes responses:write,ops:read
//   node examples/js/responses_minimal.mjs "Which tasks are blocked?"
//
// lukhas-matriz-1 answers an ops question (blockers, the critical path, the soak, a task
// by key) from the release's own tools over live data, with the ops:read scope; a
// question about your own memories names an index (see indexes_crud.mjs). The `lukhas`
// field of the response is the reasoning chain: which node or tool answered.
// `new OpenAI()` reads OPENAI_BASE_URL and OPENAI_API_KEY itself; they are read here
// first so that a missing key is a sentence, not a stack trace, and so that the
// default is `make run`, never api.openai.com. LUKHAS_MODEL (default lukhas-matriz-1)
// chooses whom to ask. Exits 1 on an API error or an answer that is not a completed,
// non-empty text, 2 without a key.
import OpenAI from 'openai';

const LOCAL = 'http://127.0.0.1:8000/v1';
const DEFAULT_QUESTION = 'Which tasks are blocked?';

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
  const response = await client.responses.create({ model, input: question || DEFAULT_QUESTION });
  console.log(`model: ${response.model}   id: ${response.id}   status: ${response.status}`);
  const chain = response.lukhas?.reasoning_chain ?? [];
  console.log(`answered by: ${chain.map((link) => link.node).join(', ') || model}\n`);
  console.log(`${response.output_text}\n`);
  if (response.usage) {
    console.log(`tokens: ${response.usage.input_tokens} in, ${response.usage.output_tokens} out`);
  }
  if (response.status !== 'completed' || !response.output_text.trim()) {
    console.error(`Expected a completed text answer, got status ${response.status} ` +
      `and ${response.output_text.length} characters.`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2).join(' ')).then(
  (code) => { process.exitCode = code; },
  (error) => {
    if (!(error instanceof OpenAI.APIError)) throw error;
    console.error(`The API refused (${error.constructor.name}): ${error.message}`);
    process.exitCode = 1;
  },
);
