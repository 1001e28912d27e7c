// Runs a GGUF file in llama.cpp through the npm package node-llama-cpp (its
// prebuilt CPU binary) and writes the next-token logits at every position
// of each token chunk, as raw little-endian float32 [chunks, tokens, vocab].
// pare's reference client for GGUF exports; never a dependency of pare.
//
//   NODE_PATH=~/.cache/pare/llama/node_modules node llama_logits.mjs MODEL.gguf CHUNKS.json OUT.f32
// CHUNKS.json: [[token, ...], ...], every chunk the same length. Prints
// {"vocab", "chunks", "tokens", "context", "model_bytes", "kv_cache_mib"} as
// JSON (the KV cache size as llama.cpp logs it). PARE_LLAMA_CONTEXT sets the
// context size (default: the chunk length + 1).
import {createRequire} from "node:module";
import {readFileSync, writeFileSync} from "node:fs";

const require = createRequire(import.meta.url);
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));

const [modelPath, chunksPath, outPath] = process.argv.slice(2);
const chunks = JSON.parse(readFileSync(chunksPath, "utf8"));
const length = chunks[0].length;
// llama.cpp's own account of its KV cache, from its log.
let kvCacheMib = null;
const llama = await getLlama({
  gpu: false, build: "never", logLevel: LlamaLogLevel.info,
  logger: (level, message) => {
    const m = /llama_kv_cache: size =\s*([0-9.]+) MiB/.exec(message);
    if (m) kvCacheMib = Number(m[1]);
    if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) console.error(message);
  },
});
const model = await llama.loadModel({modelPath});
const contextSize = Number(process.env.PARE_LLAMA_CONTEXT || Math.max(length + 1, 64));
const context = await model.createContext({contextSize, batchSize: 512});
let vocab = 0;
const parts = [];
const sequence = context.getSequence();
for (const chunk of chunks) {
  await sequence.clearHistory();  // each chunk starts from an empty cache
  // One extra token closes the batch: node-llama-cpp post-processes the
  // logits of a batch's last token, so that one is not read.
  const results = await sequence.controlledEvaluate(
      [...chunk.map((t) => [t, {generateNext: {logits: true}}]), chunk[0]]);
  for (let i = 0; i < chunk.length; ++i) {
    const logits = results[i]?.next?.logits;
    if (!logits) throw new Error(`no logits at position ${i}`);
    vocab = logits.size;
    const row = new Float32Array(vocab);
    for (const [token, value] of logits) row[token] = value;
    parts.push(row);
  }
}
const out = new Float32Array(parts.length * vocab);
parts.forEach((row, i) => out.set(row, i * vocab));
writeFileSync(outPath, Buffer.from(out.buffer));
process.stdout.write(JSON.stringify({vocab, chunks: chunks.length, tokens: length, context: contextSize,
                                     model_bytes: model.size, kv_cache_mib: kvCacheMib}));
await context.dispose();
await model.dispose();
