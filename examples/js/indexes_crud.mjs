// Create a memory index, fill it, ask MATRIZ about it, and delete it.
//
//   export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...
//   node examples/js/indexes_crud.mjs   # indexes:read, indexes:write, responses:write
//
// /v1/indexes is a LUKHAS extension: the SDK has no method for it, so the example uses
// the client's generic verbs (`client.post/get/delete(path, { body })`, which return
// the decoded JSON) and keeps the SDK's auth, retries and error classes. A question
// reaches an index through the response's metadata: `metadata: { indexes: name }`.
// Exits 1 on an API error, when the index does not hold what was added, when the
// answer does not use the memories or when the deleted index is still there; 2
// without a key. The index is deleted even when something fails.
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';

const LOCAL = 'http://127.0.0.1:8000/v1';
const MEMORIES = [
  { text: 'The release train for LUKHAS 2.4 departs on Thursday at 14:00 UTC.',
    metadata: { team: 'release' } },
  { text: 'The canary rollout stopped at 5 percent because p95 latency doubled.',
    metadata: { team: 'release' } },
  { text: "Guardian's kill switch is owned by the safety on-call, currently Priya.",
    metadata: { team: 'safety' } },
];
const QUESTION = 'Why did the canary rollout stop?';
const EXPECTED = 'p95 latency';

function makeClient() {
  const apiKey = process.env.OPENAI_API_KEY || process.env.LUKHAS_API_KEY;
  if (!apiKey) {
    console.error('Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).');
    process.exit(2);
  }
  const baseURL = process.env.OPENAI_BASE_URL || LOCAL;
  return new OpenAI({ apiKey, baseURL });
}

function fail(message) {
  console.error(message);
  return 1;
}

async function main() {
  const client = makeClient();
  const name = `example-${randomBytes(4).toString('hex')}`;
  let index = null;
  try {
    index = await client.post('/indexes', { body: { name } });
    console.log(`created index ${index.id} (${index.name})`);
    await client.post(`/indexes/${index.id}/items`, { body: { items: MEMORIES } });
    console.log(`added ${MEMORIES.length} memories`);
    const shown = await client.get(`/indexes/${index.id}`);
    console.log(`index now: ${JSON.stringify(shown)}`);
    if (shown.item_count !== MEMORIES.length) {
      return fail(`Expected ${MEMORIES.length} items in the index, it says ${JSON.stringify(shown)}.`);
    }
    const listed = await client.get('/indexes');
    const names = (listed.data ?? []).map((each) => each.name);
    console.log(`indexes of this key: ${names.length}`);
    if (!names.includes(name)) return fail(`The new index ${name} is not in the list ${names}.`);
    const answer = await client.responses.create({
      model: process.env.LUKHAS_MODEL || 'lukhas-matriz-1',
      input: QUESTION,
      metadata: { indexes: name },
    });
    console.log(`\nQ: ${QUESTION}\nA: ${answer.output_text}\n`);
    if (!answer.output_text.includes(EXPECTED)) {
      return fail(`The answer does not mention '${EXPECTED}': recall failed.`);
    }
    const deleted = index;
    await client.delete(`/indexes/${deleted.id}`);
    index = null;
    console.log(`deleted index ${deleted.id}`);
    try {
      await client.get(`/indexes/${deleted.id}`);
    } catch (error) {
      if (error instanceof OpenAI.NotFoundError) return 0;
      throw error;
    }
    return fail(`Index ${deleted.id} is still there after DELETE.`);
  } finally {
    if (index !== null) { // something failed before the planned delete
      await client.delete(`/indexes/${index.id}`).catch((error) => {
        console.error(`Could not delete index ${index.id}: ${error.message}`);
      });
    }
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    if (!(error instanceof OpenAI.APIError)) throw error;
    console.error(`The API refused (${error.constructor.name}): ${error.message}`);
    process.exitCode = 1;
  },
);
