// Runs a GGUF file in llama.cpp through the npm package node-llama-cpp (its
// prebuilt CPU binary) and prints the next-token logits at every position
// of a token sequence as JSON: {"vocab": V, "logits": [[...], ...]}.
// pare's reference client for GGUF exports; never a dependency of pare.
//
//   NODE_PATH=~/.cache/pare/llama/node_modules node llama_logits.mjs MODEL.gguf TOKEN...
import {createRequire} from "node:module";

const require = createRequire(import.meta.url);
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));

const [modelPath, ...rest] = process.argv.slice(2);
const tokens = rest.map(Number);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: Math.max(tokens.length + 1, 64), batchSize: 512});
const sequence = context.getSequence();
const vocab = model.fileInsights.tensorInfo ? undefined : undefined;
const results = await sequence.controlledEvaluate(
    tokens.map((t) => [t, {generateNext: {logits: true}}]));
const rows = [];
for (let i = 0; i < tokens.length; ++i) {
  const logits = results[i]?.next?.logits;
  if (!logits) throw new Error(`no logits at position ${i}`);
  const row = new Array(logits.size);
  for (const [token, value] of logits) row[token] = value;
  rows.push(row);
}
process.stdout.write(JSON.stringify({vocab: rows[0].length, logits: rows}));
await context.dispose();
await model.dispose();
