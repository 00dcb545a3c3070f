// Embed a few sentences and show which are close to the first one.
//
//   export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...   # embeddings:write
//   node examples/js/embeddings.mjs
//
// The embedding model is LUKHAS_EMBEDDING_MODEL, or else the first model in /v1/models
// whose id contains "embed". The Node SDK asks for base64 vectors and decodes them
// itself; the numbers are the same as Python's. Exits 1 on an API error, when no
// embedding model is listed, when a vector is missing or all zeros, or when the
// question about the canary is not the sentence closest to the canary statement;
// 2 without a key.
import OpenAI from 'openai';

const LOCAL = 'http://127.0.0.1:8000/v1';
const SENTENCES = [
  'The canary rollout stopped at 5 percent.',
  'Why did the canary rollout stop?',
  'The release train departs on Thursday.',
  'Guardian refuses keys without the right scope.',
];

function makeClient() {
  const apiKey = process.env.OPENAI_API_KEY || process.env.LUKHAS_API_KEY;
  if (!apiKey) {
    console.error('Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).');
    process.exit(2);
  }
  const baseURL = process.env.OPENAI_BASE_URL || LOCAL;
  return new OpenAI({ apiKey, baseURL });
}

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const norm = Math.sqrt(na) * Math.sqrt(nb);
  return norm ? dot / norm : 0;
}

async function embeddingModel(client) {
  if (process.env.LUKHAS_EMBEDDING_MODEL) return process.env.LUKHAS_EMBEDDING_MODEL;
  for await (const model of client.models.list()) {
    if (model.id.includes('embed')) return model.id;
  }
  return null;
}

async function main() {
  const client = makeClient();
  const model = await embeddingModel(client);
  if (model === null) {
    console.error('No embedding model in /v1/models; set LUKHAS_EMBEDDING_MODEL.');
    return 1;
  }
  const result = await client.embeddings.create({ model, input: SENTENCES });
  const vectors = [...result.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
  const sizes = new Set(vectors.map((v) => v.length));
  if (vectors.length !== SENTENCES.length || sizes.size !== 1) {
    console.error(`Expected ${SENTENCES.length} vectors of one size, got ` +
      `${JSON.stringify(vectors.map((v) => v.length))}.`);
    return 1;
  }
  if (vectors.some((v) => v.every((x) => x === 0))) {
    console.error('A non-empty sentence got an all-zero vector.');
    return 1;
  }
  console.log(`model: ${result.model}   ${vectors.length} vectors of ${vectors[0].length} dimensions`);
  console.log(`tokens: ${result.usage.prompt_tokens}\n`);
  console.log(`similarity to ${JSON.stringify(SENTENCES[0])}:`);
  const scores = vectors.slice(1).map((v) => cosine(vectors[0], v));
  scores.forEach((score, i) => {
    console.log(`  ${score >= 0 ? '+' : ''}${score.toFixed(3)}  ${SENTENCES[i + 1]}`);
  });
  if (Math.max(...scores) !== scores[0]) {
    console.error(`Expected ${JSON.stringify(SENTENCES[1])} to be the closest sentence.`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    if (!(error instanceof OpenAI.APIError)) throw error;
    console.error(`The API refused (${error.constructor.name}): ${error.message}`);
    process.exitCode = 1;
  },
);
