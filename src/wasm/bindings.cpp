// Embind surface of the wasm build: the JS hosts (web/worker.js, web/node.mjs) are its only users.
// Every entry point turns a webaccel::Error into a JS Error whose `kind` is io/format/input/internal.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>

#include "core/error.h"
#include "wasm/engine.h"
#include "wasm/file_buffer.h"
#include "wasm/guarded.h"
#include "wasm/package_buffer.h"

namespace webaccel::wasm {
namespace {

using emscripten::val;

GenerateOptions options_from(const val& o) {
  GenerateOptions g;
  auto num = [&](const char* key, double fallback) { return o[key].isUndefined() ? fallback : o[key].as<double>(); };
  g.max_tokens = static_cast<int>(num("maxTokens", g.max_tokens));
  g.temperature = static_cast<float>(num("temperature", g.temperature));
  g.top_k = static_cast<int>(num("topK", g.top_k));
  g.top_p = static_cast<float>(num("topP", g.top_p));
  g.seed = num("seed", g.seed);
  if (!o["chat"].isUndefined()) g.chat = o["chat"].as<bool>();
  if (!o["ignoreEos"].isUndefined()) g.ignore_eos = o["ignoreEos"].as<bool>();
  return g;
}

val to_int32_array(const std::vector<int32_t>& v) {
  return val::global("Int32Array").new_(emscripten::typed_memory_view(v.size(), v.data())).call<val>("slice");
}

class Llama {
 public:
  // backend: 'wasm' | 'webgpu' | 'auto'; WebGPU needs the bridge attached as Module.webaccelGpu,
  // and with precompile the host awaits its settle() before the first step.
  // source: a GGUF FileBuffer or a PackageBuffer.
  Llama(ModelSource& source, int threads, int n_ctx, const std::string& backend, bool precompile)
      : engine_(guarded([&] {
          return std::make_unique<LlamaEngine>(source.open_model(), static_cast<size_t>(std::max(1, threads)),
                                               static_cast<size_t>(std::max(1, n_ctx)), BackendRequest{backend, precompile});
        })) {}
  val start(const std::string& prompt, const val& options) {
    return guarded([&] { return to_int32_array(engine_->start(prompt, options_from(options))); });
  }
  val next() {
    return guarded([&] {
      const Step s = engine_->next();
      val out = val::object();
      out.set("token", s.token);
      out.set("text", s.text);
      out.set("done", s.done);
      return out;
    });
  }
  // The logits after the last evaluated position: tests compare them with the native engine's.
  val last_logits() {
    return guarded([&] {
      const auto& l = engine_->last_logits();
      return val::global("Float32Array").new_(emscripten::typed_memory_view(l.size(), l.data())).call<val>("slice");
    });
  }
  std::string info() const { return engine_->info_json(); }
  void lose_gpu() { engine_->lose_gpu(); }

 private:
  std::unique_ptr<LlamaEngine> engine_;
};

class Bert {
 public:
  // texts: a JS object mapping relative paths ("config.json", "vocab.txt", ...) to their contents.
  Bert(const std::string& dir, const val& texts, FileBuffer& weights, int threads, const std::string& backend,
       bool precompile)
      : engine_(guarded([&] {
          std::map<std::string, std::string> files;
          const val keys = val::global("Object").call<val>("keys", texts);
          for (int i = 0, n = keys["length"].as<int>(); i < n; ++i) {
            const auto key = keys[i].as<std::string>();
            files.emplace(key, texts[key].as<std::string>());
          }
          return std::make_unique<BertEngine>(BertFiles{dir, std::move(files), weights.take()},
                                              static_cast<size_t>(std::max(1, threads)), BackendRequest{backend, precompile});
        })) {}
  // A BERT webaccel package (a PackageBuffer).
  Bert(ModelSource& package, int threads, const std::string& backend, bool precompile)
      : engine_(guarded([&] {
          return std::make_unique<BertEngine>(package.open_model(), static_cast<size_t>(std::max(1, threads)),
                                              BackendRequest{backend, precompile});
        })) {}
  // embedStart, then (WebGPU) await the bridge's settle(), then embedFinish.
  void embed_start(const std::string& text) {
    guarded([&] {
      engine_->embed_start(text);
      return 0;
    });
  }
  val embed_finish() {
    return guarded([&] {
      const auto v = engine_->embed_finish();
      return val::global("Float32Array").new_(emscripten::typed_memory_view(v.size(), v.data())).call<val>("slice");
    });
  }
  bool on_gpu() const { return engine_->on_gpu(); }
  // The wasm path: {embeddings: Float32Array (texts.length * n_embd), tokens}.
  val embed_batch(const val& texts) {
    return guarded([&] {
      std::vector<std::string> all;
      for (int i = 0, n = texts["length"].as<int>(); i < n; ++i) all.push_back(texts[i].as<std::string>());
      size_t n_tokens = 0;
      const auto flat = engine_->embed_batch(all, n_tokens);
      val r = val::object();
      r.set("embeddings", val::global("Float32Array").new_(emscripten::typed_memory_view(flat.size(), flat.data())).call<val>("slice"));
      r.set("tokens", static_cast<double>(n_tokens));
      return r;
    });
  }
  int count_tokens(const std::string& text) const {
    return guarded([&] { return static_cast<int>(engine_->count_tokens(text)); });
  }
  std::string info() const { return engine_->info_json(); }
  void lose_gpu() { engine_->lose_gpu(); }

 private:
  std::unique_ptr<BertEngine> engine_;
};

}  // namespace
}  // namespace webaccel::wasm

EMSCRIPTEN_BINDINGS(webaccel) {
  using namespace webaccel::wasm;
  emscripten::class_<ModelSource>("ModelSource");
  emscripten::class_<FileBuffer, emscripten::base<ModelSource>>("FileBuffer")
      .constructor<const std::string&, double>()
      .function("write", &FileBuffer::write);
  emscripten::class_<PackageBuffer, emscripten::base<ModelSource>>("PackageBuffer")
      .constructor<FileBuffer&>()
      .function("addShard", &PackageBuffer::add_shard);
  emscripten::class_<Llama>("Llama")
      .constructor<ModelSource&, int, int, const std::string&, bool>()
      .function("start", &Llama::start)
      .function("next", &Llama::next)
      .function("lastLogits", &Llama::last_logits)
      .function("info", &Llama::info)
      .function("loseGpu", &Llama::lose_gpu);
  emscripten::class_<Bert>("Bert")
      .constructor<const std::string&, const emscripten::val&, FileBuffer&, int, const std::string&, bool>()
      .constructor<ModelSource&, int, const std::string&, bool>()
      .function("embedStart", &Bert::embed_start)
      .function("embedFinish", &Bert::embed_finish)
      .function("onGpu", &Bert::on_gpu)
      .function("embedBatch", &Bert::embed_batch)
      .function("countTokens", &Bert::count_tokens)
      .function("info", &Bert::info)
      .function("loseGpu", &Bert::lose_gpu);
}
