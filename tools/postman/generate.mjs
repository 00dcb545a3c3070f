// The Postman collection of the /v1 API, generated from the committed OpenAPI document.
//
//   node tools/postman/generate.mjs <openapi.json> <collection.json>
//
// openapi-to-postmanv2 does the conversion; this script only makes its output
// deterministic (the converter fakes free-form example values with Math.random
// and gives every item a random uuid) and wires the two variables a caller sets:
// {{baseUrl}} (the site, without /v1) and {{apiKey}} (a bearer key, lk-...).
// The drift test (tests/contract/test_postman_collection.py) regenerates from
// the committed spec and compares bytes, so the same spec must give the same file.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

// Seeded before the converter runs: its json-schema-faker draws from Math.random.
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
Math.random = mulberry32(17);

const require = createRequire(import.meta.url);
const converter = require("openapi-to-postmanv2");

// What the converter is asked for (OPTIONS.md of openapi-to-postmanv2):
const OPTIONS = {
  folderStrategy: "Tags",
  requestNameSource: "Fallback", // the operation's summary
  parametersResolution: "Schema", // "<string>" placeholders a person replaces
  enableOptionalParameters: false, // optional query params (cursors) off, not "<string>"
  alwaysInheritAuthentication: true, // every request uses the collection's bearer key
};

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";

/** A uuid-shaped id derived from where the object sits in the collection. */
function stableId(where) {
  const hex = createHash("sha256").update(`lukhas-postman/${where}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Replace every generated id (items, responses, the collection's own) by a stable one. */
function normaliseIds(node, where) {
  if (Array.isArray(node)) {
    node.forEach((child, index) => normaliseIds(child, `${where}/${index}`));
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === "id" || key === "_postman_id") && typeof value === "string") {
      node[key] = stableId(`${where}/${key}`);
    } else {
      normaliseIds(value, `${where}/${key}`);
    }
  }
}

// Checks newman (or Postman's runner) makes on every answer: nothing the server
// failed on, and every refusal in the OpenAI error envelope.
const COLLECTION_TESTS = [
  'pm.test("no server error (5xx)", () => pm.expect(pm.response.code).to.be.below(500));',
  "if (pm.response.code >= 400) {",
  '  pm.test("the error is an OpenAI envelope", () => {',
  "    const error = pm.response.json().error;",
  '    pm.expect(error).to.be.an("object");',
  '    pm.expect(error.message).to.be.a("string");',
  '    pm.expect(error.type).to.be.a("string");',
  '    pm.expect(error).to.have.property("param");',
  '    pm.expect(error.code).to.be.a("string");',
  "  });",
  "}",
];

/** Each request's own check: its status is one its operation declares in the spec. */
function addDeclaredStatusTests(node, spec) {
  for (const item of node.item ?? []) {
    if (item.item) {
      addDeclaredStatusTests(item, spec);
      continue;
    }
    const template = `/${item.request.url.path.map((part) => part.replace(/^:(.+)$/, "{$1}")).join("/")}`;
    const operation = spec.paths[template]?.[item.request.method.toLowerCase()];
    if (!operation) throw new Error(`no operation in the spec for ${item.request.method} ${template}`);
    const declared = Object.keys(operation.responses).map(Number).sort((a, b) => a - b);
    item.event = [
      {
        listen: "test",
        script: {
          type: "text/javascript",
          exec: [
            `// ${operation.operationId}: the statuses docs/openapi/lukhas-openai.json declares.`,
            `const declared = ${JSON.stringify(declared)};`,
            'pm.test("the status is one the OpenAPI document declares", () => pm.expect(declared).to.include(pm.response.code));',
          ],
        },
      },
    ];
  }
}

function convert(specText) {
  return new Promise((resolve, reject) => {
    converter.convert({ type: "string", data: specText }, OPTIONS, (error, result) => {
      if (error) return reject(error);
      if (!result.result) return reject(new Error(`conversion failed: ${result.reason}`));
      resolve(result.output[0].data);
    });
  });
}

async function main() {
  const [specPath, outPath] = process.argv.slice(2);
  if (!specPath || !outPath) {
    console.error("usage: node generate.mjs <openapi.json> <collection.json>");
    process.exit(2);
  }
  const specText = readFileSync(specPath, "utf8");
  const collection = await convert(specText);
  addDeclaredStatusTests(collection, JSON.parse(specText));
  collection.event = [
    { listen: "test", script: { type: "text/javascript", exec: COLLECTION_TESTS } },
  ];
  collection.auth = { type: "bearer", bearer: [{ key: "token", value: "{{apiKey}}", type: "string" }] };
  collection.variable = [
    { key: "baseUrl", value: DEFAULT_BASE_URL, type: "string" },
    { key: "apiKey", value: "", type: "string" },
  ];
  normaliseIds(collection, "collection");
  writeFileSync(outPath, `${JSON.stringify(collection, null, 2)}\n`);
}

await main();
