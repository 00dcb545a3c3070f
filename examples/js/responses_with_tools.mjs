// An agent loop with a function tool of your own: the model asks, your code answers.
//
//   export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...   # responses:write
//   node examples/js/responses_with_tools.mjs "Is v0.9.0-rc ready for GA? Show the gates."
//
// The tool (`get_release_status`) runs here, in the client: the request offers it with a
// JSON schema, the response carries a `function_call` item (its `call_id` and JSON
// `arguments`), this script runs the function and sends a `function_call_output` back
// with `previous_response_id`; the second response is the answer. `tool_choice` names
// the function, so a local model (lukhas-matriz-1) must call it, with arguments built
// from the question and valid against the schema; with `auto` it may answer in text.
// Exits 1 on an API error, when no valid call comes back or when the final answer does
// not use the tool's result, 2 without a key.
import OpenAI from 'openai';

const LOCAL = 'http://127.0.0.1:8000/v1';
const DEFAULT_QUESTION = 'Is v0.9.0-rc ready for GA? Show the gates.';
const RELEASE_TAG = '^v[0-9]+\\.[0-9]+\\.[0-9]+(-rc)?$';
const TOOL = {
  type: 'function',
  name: 'get_release_status',
  description: 'The soak phase and GA gates of a release candidate',
  parameters: {
    type: 'object',
    properties: {
      release: { type: 'string', pattern: RELEASE_TAG, description: 'a release tag' },
      detail: { type: 'string', enum: ['summary', 'gates'] },
    },
    required: ['release'],
    additionalProperties: false,
  },
  strict: false, // "detail" is optional; OpenAI's strict mode wants every field required
};
// What your own system would know; here a table, so the example runs anywhere.
const RELEASES = {
  'v0.9.0-rc': { phase: 'soaking', hours_left: 20, gates: { p95_latency: 'passing' } },
};

// The function the model may call (the client's side of the tool).
function getReleaseStatus({ release, detail = 'summary' }) {
  const known = RELEASES[release];
  if (!known) return { release, phase: 'unknown' };
  const status = { release, phase: known.phase, hours_left: known.hours_left };
  return detail === 'gates' ? { ...status, gates: known.gates } : status;
}

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
  question ||= DEFAULT_QUESTION;
  const first = await client.responses.create({
    model,
    input: question,
    tools: [TOOL],
    tool_choice: { type: 'function', name: TOOL.name },
  });
  const calls = first.output.filter((item) => item.type === 'function_call');
  if (calls.length === 0) {
    console.error(`Expected a function_call, got ${JSON.stringify(first.output.map((i) => i.type))}.`);
    return 1;
  }
  const outputs = [];
  for (const call of calls) {
    let args;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      console.error(`The arguments of ${call.name} are not JSON: ${call.arguments}`);
      return 1;
    }
    console.log(`model calls ${call.name}(${JSON.stringify(args)})   call_id ${call.call_id}`);
    if (call.name !== TOOL.name || !new RegExp(RELEASE_TAG).test(args.release ?? '')) {
      console.error(`Not a call this script can run: ${call.name} ${call.arguments}`);
      return 1;
    }
    const result = JSON.stringify(getReleaseStatus(args));
    console.log(`  → ${result}`);
    outputs.push({ type: 'function_call_output', call_id: call.call_id, output: result });
  }
  const final = await client.responses.create({
    model, previous_response_id: first.id, input: outputs, tools: [TOOL],
  });
  console.log(`\nQ: ${question}\nA: ${final.output_text}\n`);
  if (final.status !== 'completed' || !final.output_text.includes('soaking')) {
    console.error("The final answer does not use the tool's result (the phase 'soaking').");
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
