// `webaccel convert`: a GGUF to another GGUF of the same model in other tensor types (today F32,
// the full-precision copy the llama.cpp comparison in docs/correctness.md runs on).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "quant/gguf_to_f32.h"

namespace webaccel::cli {
namespace {

struct ConvertOptions {
  std::string model;
  std::string out;
  std::string to = "f32";
};

void run_convert(const ConvertOptions& o) {
  if (o.out.empty()) fail(ErrorKind::kUsage, "-o/--output: the output file name is empty");
  const GgufFile in(o.model);
  const auto stats = quant::convert_gguf_to_f32(in, o.out);
  std::fprintf(stderr, "[webaccel] %s -> %s: %zu tensors (%zu dequantized to F32), %.1f MiB\n", o.model.c_str(), o.out.c_str(),
               stats.tensors, stats.dequantized, static_cast<double>(stats.output_bytes) / (1 << 20));
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  auto* cmd = app.add_subcommand("convert", "Convert a GGUF's tensors to another type (f32: every tensor dequantized)");
  cmd->add_option("-m,--model", o->model, "input GGUF file")->required();
  cmd->add_option("-o,--output", o->out, "output GGUF file (written to FILE.partial, then renamed)")->required();
  cmd->add_option("--to", o->to, "tensor type of the output")->capture_default_str()->check(CLI::IsMember({"f32"}));
  cmd->callback([o] { run_convert(*o); });
}

}  // namespace webaccel::cli
