// Peer measurement for scripts/bench/inspect_rss.sh: how much memory ONNX
// Runtime needs just to open the same model (session creation, CPU).
// usage: node ort_load.js MODEL   (needs onnxruntime-node on NODE_PATH)
const ort = require('onnxruntime-node');
const start = process.hrtime.bigint();
ort.InferenceSession.create(process.argv[2], { graphOptimizationLevel: 'disabled' }).then(() => {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`ort session created in ${seconds.toFixed(2)} s`);
});
