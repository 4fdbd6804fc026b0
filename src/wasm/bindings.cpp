// Embind surface of the wasm build: the JS hosts (web/worker.js, web/node.mjs) are its only users.
// Every entry point turns a webaccel::Error into a JS Error whose `kind` is io/format/input/internal.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "wasm/engine.h"
#include "wasm/guarded.h"

namespace webaccel::wasm {
namespace {

using emscripten::val;

// One model file's bytes, written by JS straight into wasm memory (no second copy) before a model takes them.
class FileBuffer {
 public:
  FileBuffer(const std::string& name, double size)
      : file_(guarded([&] {
          if (!(size >= 1 && size <= 4294967295.0)) fail(ErrorKind::kIo, name + ": size " + std::to_string(size) + " is not loadable");
          return std::optional<MappedFile>(std::in_place, name, static_cast<size_t>(size));
        })) {}
  // Copies a Uint8Array into the buffer at offset; an overrun is an error naming the file.
  void write(double offset, const val& chunk) {
    guarded([&] {
      if (!file_) fail(ErrorKind::kInternal, "file buffer already handed to a model");
      const auto length = chunk["length"].as<double>();
      auto bytes = file_->writable_bytes();
      if (offset < 0 || offset + length > static_cast<double>(bytes.size())) {
        fail(ErrorKind::kIo, file_->path() + ": more bytes than the announced size " + std::to_string(bytes.size()));
      }
      val(emscripten::typed_memory_view(static_cast<size_t>(length), bytes.data() + static_cast<size_t>(offset)))
          .call<void>("set", chunk);
      return 0;
    });
  }
  MappedFile take() {
    if (!file_) fail(ErrorKind::kInternal, "file buffer already handed to a model");
    MappedFile f = std::move(*file_);
    file_.reset();
    return f;
  }

 private:
  std::optional<MappedFile> file_;
};

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
  Llama(FileBuffer& gguf, int threads, int n_ctx, const std::string& backend, bool precompile)
      : engine_(guarded([&] {
          return std::make_unique<LlamaEngine>(gguf.take(), static_cast<size_t>(std::max(1, threads)),
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
  emscripten::class_<FileBuffer>("FileBuffer")
      .constructor<const std::string&, double>()
      .function("write", &FileBuffer::write);
  emscripten::class_<Llama>("Llama")
      .constructor<FileBuffer&, int, int, const std::string&, bool>()
      .function("start", &Llama::start)
      .function("next", &Llama::next)
      .function("lastLogits", &Llama::last_logits)
      .function("info", &Llama::info)
      .function("loseGpu", &Llama::lose_gpu);
  emscripten::class_<Bert>("Bert")
      .constructor<const std::string&, const emscripten::val&, FileBuffer&, int, const std::string&, bool>()
      .function("embedStart", &Bert::embed_start)
      .function("embedFinish", &Bert::embed_finish)
      .function("countTokens", &Bert::count_tokens)
      .function("info", &Bert::info)
      .function("loseGpu", &Bert::lose_gpu);
}
