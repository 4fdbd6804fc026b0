// `webaccel serve`: a local static server for the demo page, the wasm build and model files, with
// the headers browsers need for wasm threads (COOP/COEP), correct MIME types and byte ranges.
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

namespace webaccel::cli {
namespace {

namespace fs = std::filesystem;

struct ServeOptions {
  std::string root = ".";
  std::string host = "127.0.0.1";
  int port = 8080;
  bool isolation = true;
  std::string results_dir;
};

std::string mime_type(const fs::path& path) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".wasm", "application/wasm"},
      {".json", "application/json"}, {".css", "text/css; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
      {".ts", "text/plain; charset=utf-8"}, {".md", "text/markdown; charset=utf-8"}, {".svg", "image/svg+xml"},
      {".png", "image/png"}, {".ico", "image/x-icon"}, {".onnx", "application/octet-stream"},
      {".gguf", "application/octet-stream"}, {".safetensors", "application/octet-stream"}};
  const auto it = types.find(path.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

// Maps a URL path onto a file under root; nullopt for anything outside it or missing.
std::optional<fs::path> resolve(const fs::path& root, const std::string& url_path) {
  if (url_path.empty() || url_path[0] != '/' || url_path.find('\0') != std::string::npos) return std::nullopt;
  fs::path p = (root / url_path.substr(1)).lexically_normal();
  const auto rel = p.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  std::error_code ec;
  if (fs::is_directory(p, ec)) p /= "index.html";
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  return p;
}

void serve_file(const fs::path& path, httplib::Response& res) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (ec || !*in) {
    res.status = 403;
    res.set_content(path.string() + ": cannot read\n", "text/plain");
    return;
  }
  // httplib cuts a Range request's window out of this provider (offset, length).
  res.set_content_provider(size, mime_type(path), [in](size_t offset, size_t length, httplib::DataSink& sink) {
    std::vector<char> buf(std::min<size_t>(length, 1 << 20));
    in->seekg(static_cast<std::streamoff>(offset));
    in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in->gcount() <= 0) return false;
    return sink.write(buf.data(), static_cast<size_t>(in->gcount()));
  });
}

void run_serve(const ServeOptions& o) {
  std::error_code ec;
  const fs::path root = fs::canonical(o.root, ec);
  if (ec || !fs::is_directory(root)) fail(ErrorKind::kIo, o.root + ": not a directory");
  if (!o.results_dir.empty()) fs::create_directories(o.results_dir);

  httplib::Server server;
  httplib::Headers headers = {{"Cache-Control", "no-cache"}, {"Accept-Ranges", "bytes"},
                              {"Cross-Origin-Resource-Policy", "same-origin"}};
  if (o.isolation) {
    headers.emplace("Cross-Origin-Opener-Policy", "same-origin");
    headers.emplace("Cross-Origin-Embedder-Policy", "require-corp");
  }
  server.set_default_headers(headers);
  server.Get(".*", [&root](const httplib::Request& req, httplib::Response& res) {
    const auto path = resolve(root, req.path);
    if (!path) {
      res.status = 404;
      res.set_content(req.path + ": not found\n", "text/plain");
      return;
    }
    serve_file(*path, res);
  });
  if (!o.results_dir.empty()) {
    // Browsers that cannot be driven by a test framework (Firefox here) report results this way.
    server.Post(R"(/__results/([A-Za-z0-9_.-]+))", [dir = o.results_dir](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      std::ofstream out(fs::path(dir) / (name + ".partial"), std::ios::binary | std::ios::trunc);
      out << req.body;
      out.close();
      fs::rename(fs::path(dir) / (name + ".partial"), fs::path(dir) / name);
      res.set_content("ok\n", "text/plain");
    });
  }
  if (!server.bind_to_port(o.host, o.port)) {
    fail(ErrorKind::kIo, "cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use, or not a local address)");
  }
  std::fprintf(stderr, "[webaccel] serving %s at http://%s:%d/ (demo: /web/demo/)%s\n", root.c_str(), o.host.c_str(),
               o.port, o.isolation ? ", cross-origin isolated" : ", NOT cross-origin isolated");
  server.listen_after_bind();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Serve the demo page, the wasm build and models locally (COOP/COEP, ranges)");
  cmd->add_option("-r,--root", o->root, "folder to serve")->capture_default_str();
  cmd->add_option("--host", o->host, "address to bind (keep it local)")->capture_default_str();
  cmd->add_option("-p,--port", o->port, "TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
  cmd->add_flag("--isolation,!--no-isolation", o->isolation,
                "send COOP/COEP so pages are cross-origin isolated (wasm threads); default on");
  cmd->add_option("--accept-results", o->results_dir, "accept POST /__results/NAME into this folder (browser tests)");
  cmd->callback([o] { run_serve(*o); });
}

}  // namespace webaccel::cli
