// Submit a dream over a fresh memory index and wait for its narrative.
//
//   export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...
//   node examples/js/dreams_basic.mjs   # indexes:write and dreams:write scopes
//
// A dream is a background job (a Celery worker runs it; `make run` starts one):
// `POST /v1/dreams` answers at once with its id and status `queued`, and
// `GET /v1/dreams/<id>` is polled until the status is `succeeded` or `failed`.
// /v1/dreams and /v1/indexes are LUKHAS extensions, called with the SDK's generic verbs.
// LUKHAS_DREAM_TIMEOUT (seconds, default 60) bounds the wait. Exits 1 on an API error,
// a failed dream, a timeout or a narrative that recombines none of the memories, 2
// without a key.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';

const LOCAL = 'http://127.0.0.1:8000/v1';
const MEMORIES = [
  { text: 'The canary rollout stopped at 5 percent because p95 latency doubled.' },
  { text: 'Latency doubled after the new attention ranker shipped on Tuesday.' },
  { text: 'The attention ranker was rolled back and the canary resumed on Wednesday.' },
  { text: 'The release train for LUKHAS 2.4 departs on Thursday at 14:00 UTC.' },
];
const SEED = 'canary rollout latency';
const FINISHED = new Set(['succeeded', 'failed']);

function makeClient() {
  const apiKey = process.env.OPENAI_API_KEY || process.env.LUKHAS_API_KEY;
  if (!apiKey) {
    console.error('Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).');
    process.exit(2);
  }
  const baseURL = process.env.OPENAI_BASE_URL || LOCAL;
  return new OpenAI({ apiKey, baseURL });
}

async function waitFor(client, dreamId, timeoutSeconds) {
  const deadline = performance.now() + timeoutSeconds * 1000;
  for (;;) {
    const dream = await client.get(`/dreams/${dreamId}`);
    if (FINISHED.has(dream.status)) return dream;
    if (performance.now() >= deadline) return null;
    await sleep(500);
  }
}

async function main() {
  const client = makeClient();
  const timeout = Number(process.env.LUKHAS_DREAM_TIMEOUT || 60);
  const name = `dream-example-${randomBytes(4).toString('hex')}`;
  let index = null;
  try {
    index = await client.post('/indexes', { body: { name } });
    await client.post(`/indexes/${index.id}/items`, { body: { items: MEMORIES } });
    console.log(`index ${index.id} (${name}) holds ${MEMORIES.length} memories`);
    const dream = await client.post('/dreams', { body: { index: name, seed: SEED } });
    console.log(`dream ${dream.id} ${dream.status}; waiting up to ${timeout} s …`);
    const finished = await waitFor(client, dream.id, timeout);
    if (finished === null) {
      console.error(`Dream ${dream.id} did not finish in ${timeout} s: is a worker running?`);
      return 1;
    }
    if (finished.status !== 'succeeded') {
      console.error(`Dream ${dream.id} failed: ${JSON.stringify(finished.error)}`);
      return 1;
    }
    const narrative = finished.narrative ?? '';
    console.log(`\n${narrative}\n`);
    if (!['canary', 'latency', 'ranker'].some((word) => narrative.toLowerCase().includes(word))) {
      console.error('The narrative recombines none of the memories.');
      return 1;
    }
    return 0;
  } finally {
    if (index !== null) {
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
