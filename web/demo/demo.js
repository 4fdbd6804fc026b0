// The demo page: load a model with progress, chat with SmolLM2 (GGUF or a webaccel package) or
// compare sentences with MiniLM.
import * as webaccel from '../src/index.js';

const MODELS = {
  smollm2: { url: '/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53' },
  minilm: { url: '/models/minilm/',
    sha256: { 'model.safetensors': '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db' } },
};
const $ = (id) => document.getElementById(id);
let model = null;
let controller = null;

// A package is any URL typed in (`webaccel serve` serves the checkout, so /build/q4/ is `quantize -o build/q4`).
$('model').onchange = () => $('packageUrl').classList.toggle('hidden', $('model').value !== 'package');

// Packages report progress per component (embeddings, layers.N, head): how many are complete.
function componentsDone(p) {
  if (!p.components) return '';
  const all = Object.values(p.components);
  return `, components ${all.filter((c) => c.loaded === c.total).length} of ${all.length}`;
}

const caps = webaccel.capabilities();
$('threads').value = caps.threads ? Math.min(4, caps.hardwareConcurrency) : 1;

function describe(info) {
  const gpu = info.backend === 'webgpu' ? ` on ${info.gpu.adapter} (${info.gpu.implementation})` : '';
  const note = info.gpu_note ? ` [${info.gpu_note}]` : '';
  return `${info.backend}${gpu}${note} (${info.variant}, SIMD ${info.simd}), ${info.threads} thread(s)` +
    `${caps.crossOriginIsolated ? '' : ', not cross-origin isolated'}; loaded in ${(info.loadMs / 1000).toFixed(2)} s` +
    `${info.fromCache ? ' from the cache' : ''}`;
}

$('load').onclick = async () => {
  model?.dispose();
  model = null;
  const choice = $('model').value === 'package' ? { url: $('packageUrl').value } : MODELS[$('model').value];
  $('chat').classList.add('hidden');
  $('embed').classList.add('hidden');
  $('status').textContent = 'Loading...';
  try {
    model = await webaccel.load(choice.url, {
      sha256: choice.sha256,
      threads: Number($('threads').value),
      backend: $('backend').value,
      onProgress: (p) => {
        $('progress').max = p.allTotal || 1;
        $('progress').value = p.allLoaded;
        $('status').textContent = `${p.source === 'cache' ? 'From cache' : 'Downloading'}: ` +
          `${(p.allLoaded / 2 ** 20).toFixed(1)} of ${(p.allTotal / 2 ** 20).toFixed(1)} MiB${componentsDone(p)}`;
      },
    });
    const info = model.info();
    $('status').textContent = describe(info);
    $(info.kind === 'llama' ? 'chat' : 'embed').classList.remove('hidden');
  } catch (e) {
    $('status').textContent = `Error (${e.kind}): ${e.message}`;
  }
};

$('send').onclick = async () => {
  controller = new AbortController();
  $('output').textContent = '';
  $('send').disabled = true;
  $('stop').disabled = false;
  try {
    const r = await model.generate($('prompt').value, {
      maxTokens: Number($('maxTokens').value), temperature: Number($('temperature').value),
      signal: controller.signal, onToken: (text) => { $('output').textContent += text; },
    });
    $('status').textContent = `${describe(model.info())} | prompt ${r.promptTokens.length} tokens at ` +
      `${r.timings.promptTokensPerSecond.toFixed(1)} tokens/s, ${r.tokens.length} generated at ` +
      `${r.timings.decodeTokensPerSecond.toFixed(1)} tokens/s`;
  } catch (e) {
    $('status').textContent = e.name === 'AbortError' ? 'Stopped.' : `Error (${e.kind}): ${e.message}`;
  } finally {
    $('send').disabled = false;
    $('stop').disabled = true;
  }
};
$('stop').onclick = () => controller?.abort();

$('embedButton').onclick = async () => {
  const sentences = $('sentences').value.split('\n').map((s) => s.trim()).filter(Boolean);
  try {
    const r = await model.embed(sentences);
    const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
    let html = '<table><tr><th></th>' + sentences.map((_, j) => `<th>${j + 1}</th>`).join('') + '</tr>';
    r.embeddings.forEach((a, i) => {
      html += `<tr><th title="${sentences[i].replace(/"/g, '&quot;')}">${i + 1}</th>` +
        r.embeddings.map((b) => `<td>${dot(a, b).toFixed(3)}</td>`).join('') + '</tr>';
    });
    $('similarities').innerHTML = html + '</table>' + sentences.map((s, i) => `<div>${i + 1}: ${s.replace(/</g, '&lt;')}</div>`).join('');
    $('status').textContent = `${describe(model.info())} | ${r.sentencesPerSecond.toFixed(1)} sentences/s (${r.tokens} tokens)`;
  } catch (e) {
    $('status').textContent = `Error (${e.kind}): ${e.message}`;
  }
};
