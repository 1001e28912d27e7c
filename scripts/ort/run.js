// Runs a model in ONNX Runtime (onnxruntime-node, CPU) on .npy inputs and
// writes every output as OUT_DIR/<name>.npy. pare's reference peer for
// cross-checks and benchmarks; never a dependency of pare itself.
//
//   NODE_PATH=~/.cache/pare/ort/node_modules node run.js MODEL OUT_DIR NAME=FILE.npy ...
//   add --repeat N --threads T to print min/median latency in ms as JSON;
//   --config KEY=VALUE sets a session config entry (e.g.
//   session.qdq_matmulnbits_accuracy_level=0), repeatable;
//   --optimized FILE writes the graph as ONNX Runtime optimized it (and, with
//   no inputs given, stops there);
//   --each DATA_DIR runs every DATA_DIR/test_data_set_K/<input>.npy and writes
//   OUT_DIR/test_data_set_K/<output>.npy (the NAME=FILE specs are then unused).
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const DTYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const [type, Ctor] = DTYPES[descr];
  const bytes = buf.subarray(start + headerLen);
  const data = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(data) : data, shape);
}

function writeNpy(file, tensor) {
  const descr = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', int8: '|i1', bool: '|b1' }[tensor.type];
  const shape = tensor.dims.length === 1 ? `${tensor.dims[0]},` : tensor.dims.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const args = process.argv.slice(2);
  let repeat = 0, threads = 0, optimized = '', each = '';
  const positional = [], config = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--repeat') repeat = Number(args[++i]);
    else if (args[i] === '--threads') threads = Number(args[++i]);
    else if (args[i] === '--optimized') optimized = args[++i];
    else if (args[i] === '--each') each = args[++i];
    else if (args[i] === '--config') {
      const [key, value] = args[++i].split('=');
      config[key] = value;
    }
    else positional.push(args[i]);
  }
  const [model, outDir, ...specs] = positional;
  const options = { graphOptimizationLevel: 'all' };
  // Config entries are passed as a nested object that ONNX Runtime flattens
  // into dotted keys.
  for (const [key, value] of Object.entries(config)) {
    let node = (options.extra = options.extra || {});
    const parts = key.split('.');
    for (const part of parts.slice(0, -1)) node = (node[part] = node[part] || {});
    node[parts[parts.length - 1]] = value;
  }
  if (threads > 0) { options.intraOpNumThreads = threads; options.interOpNumThreads = 1; }
  if (optimized) options.optimizedModelFilePath = optimized;
  const session = await ort.InferenceSession.create(model, options);
  if (each) return runEach(session, each, outDir);
  if (optimized && specs.length === 0) return;  // only the optimized graph wanted
  const feeds = {};
  for (const spec of specs) {
    const at = spec.indexOf('=');
    feeds[spec.slice(0, at)] = readNpy(spec.slice(at + 1));
  }
  let results = await session.run(feeds);
  if (repeat > 0) {
    const times = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = process.hrtime.bigint();
      results = await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ min_ms: times[0], median_ms: times[Math.floor(times.length / 2)] }));
  }
  writeOutputs(session, results, outDir);
}

function writeOutputs(session, results, outDir) {
  if (outDir === '-') return;
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    writeNpy(path.join(outDir, name.replace(/[\/\\:]/g, '_') + '.npy'), results[name]);
  }
}

// One run per sample folder, inputs found by name.
async function runEach(session, dataDir, outDir) {
  const sets = fs.readdirSync(dataDir).filter((d) => d.startsWith('test_data_set_')).sort();
  for (const set of sets) {
    const feeds = {};
    for (const name of session.inputNames) feeds[name] = readNpy(path.join(dataDir, set, `${name}.npy`));
    writeOutputs(session, await session.run(feeds), path.join(outDir, set));
  }
}

main().catch((e) => { console.error(`ort: ${e.message}`); process.exit(1); });
