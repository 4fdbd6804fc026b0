#include "bench/report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "bench/host_facts.h"
#include "core/error.h"

namespace webaccel::bench {
namespace {

// One stored measurement with its run, as text columns by name.
struct Row {
  std::map<std::string, SqlCell> v;
  std::string text(const std::string& k) const {
    auto it = v.find(k);
    return it == v.end() || !it->second ? "" : *it->second;
  }
  std::optional<double> num(const std::string& k) const {
    const std::string s = text(k);
    if (s.empty()) return std::nullopt;
    return std::stod(s);
  }
};

// Measured rows only (skipped cells carry a reason, not figures), and those matching condition.
std::vector<Row> load_rows(BenchStore& store, const std::string& condition, bool skipped = false) {
  const std::string status = skipped ? "p.cell_status = 'skipped'" : "COALESCE(p.cell_status, 'measured') = 'measured'";
  const SqlRows r = store.read(
      "SELECT p.*, r.status AS run_status, r.machine AS run_machine, r.pid AS run_pid, r.process_start AS run_process_start "
      "FROM web_platform_performance p LEFT JOIN benchmark_runs r ON p.run_id = r.run_id WHERE " + status +
      (condition.empty() ? "" : " AND (" + condition + ")") + " ORDER BY p.id");
  std::vector<Row> rows;
  for (const auto& cells : r.rows) {
    Row row;
    for (size_t i = 0; i < r.columns.size(); ++i) row.v[r.columns[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string fmt(std::optional<double> x, const char* spec = "%.1f") {
  if (!x) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, *x);
  return buf;
}

std::optional<double> median(std::vector<double> xs) {
  if (xs.empty()) return std::nullopt;
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

// Measurements are compared only within one configuration: everything but the engine must match.
std::string config_key(const Row& r) {
  std::string k;
  for (const char* c : {"model_name", "precision_name", "platform", "host", "browser", "browser_version", "adapter", "batch_size",
                        "sequence_length", "decode_tokens", "threads"}) {
    std::string v = r.text(c);
    // Zero-padded numbers sort s8 before s16.
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) v = std::string(10 - std::min<size_t>(10, v.size()), '0') + v;
    k += v + "|";
  }
  return k;
}

// "q4_1 wasm@chromium 156.0.8078.108 b1 s32+16 t2": the backend where it ran, as --backends names it.
std::string host_label(const Row& r) {
  const std::string host = r.text("host");
  std::string s = r.text("platform") + (host.empty() || host == "native" ? "" : "@" + host);
  if (!r.text("host_version").empty()) s += " " + r.text("host_version");
  else if (r.text("browser") != "none" && !r.text("browser").empty()) s += " " + r.text("browser") + " " + r.text("browser_version");
  return s;
}

std::string config_label(const Row& r) {
  std::string s = r.text("precision_name") + " " + host_label(r);
  s += " b" + r.text("batch_size");
  if (!r.text("sequence_length").empty()) s += " s" + r.text("sequence_length");
  if (!r.text("decode_tokens").empty() && r.text("decode_tokens") != "0") s += "+" + r.text("decode_tokens");
  return s + " t" + r.text("threads");
}

struct Group {
  Row first;  // the configuration's columns
  std::string engine;
  std::vector<const Row*> rows;
  std::optional<double> med(const std::string& k) const {
    std::vector<double> xs;
    for (const Row* r : rows) if (auto x = r->num(k)) xs.push_back(*x);
    return median(xs);
  }
  std::optional<double> sequences_per_second() const {
    auto ms = med("average_inference_time_ms");
    auto b = first.num("batch_size");
    if (!ms || !b || *ms <= 0) return std::nullopt;
    return *b * 1000.0 / *ms;
  }
};

// Groups in a stable order: by configuration, webaccel first, then peers by name.
std::vector<Group> group_rows(const std::vector<Row>& rows) {
  std::map<std::pair<std::string, std::string>, Group> by_key;
  for (const Row& r : rows) {
    const std::string engine = r.text("engine").empty() ? "unknown" : r.text("engine");
    auto& g = by_key[{config_key(r), engine == "webaccel" ? std::string("0") : "1" + engine}];
    if (g.rows.empty()) { g.first = r; g.engine = engine; }
    g.rows.push_back(&r);
  }
  std::vector<Group> out;
  for (auto& [k, g] : by_key) out.push_back(g);
  return out;
}

std::string effective_run_status(const Row& r) {
  if (r.text("run_status").empty()) return "";
  return effective_status(r.text("run_status"), r.text("run_machine"), r.num("run_pid").value_or(0), r.text("run_process_start"));
}

ReportTable runs_table(BenchStore& store) {
  ReportTable t{"Runs (provenance of every measurement)",
                {"run", "status", "source", "started (UTC)", "machine", "cpu", "gpu", "git commit", "measurements", "command"}, {}};
  const SqlRows r = store.read(
      "SELECT r.run_id, r.status, r.source, r.started_at, r.machine, r.cpu, r.git_commit, "
      "(SELECT count(*) FROM web_platform_performance p WHERE p.run_id = r.run_id) AS n, r.cells_planned, r.command_line, "
      "r.pid, r.process_start, r.gpu FROM benchmark_runs r ORDER BY r.started_at, r.run_id");
  for (const auto& c : r.rows) {
    auto s = [&](size_t i) { return c[i].value_or(""); };
    const std::string status = effective_status(s(1), s(4), c[10] ? std::stol(*c[10]) : 0, s(11));
    const std::string planned = s(8).empty() || s(8) == "0" ? "" : " of " + s(8);
    t.rows.push_back({s(0), status, s(2), s(3), s(4), s(5), s(12), s(6), s(7) + planned, s(9)});
  }
  return t;
}

std::optional<double> throughput(const Row& r, const std::string& key) {
  if (!key.empty()) return r.num(key);
  auto ms = r.num("average_inference_time_ms"), b = r.num("batch_size");
  if (!ms || !b || *ms <= 0) return std::nullopt;
  return *b * 1000.0 / *ms;
}

// webaccel's throughput over the peer's, paired within a run: a peer is only compared with the
// webaccel measurement made beside it (same machine, same moment), never across runs.
std::optional<double> ratio_vs(const Group& webaccel, const Group& peer) {
  std::vector<double> ratios;
  for (const Row* p : peer.rows) {
    for (const Row* w : webaccel.rows) {
      if (w->text("run_id") != p->text("run_id")) continue;
      for (const char* k : {"decode_tokens_per_second", "tokens_per_second", "prefill_tokens_per_second", ""}) {
        auto a = throughput(*w, k), b = throughput(*p, k);
        if (a && b && *b > 0) {
          ratios.push_back(*a / *b);
          break;
        }
      }
    }
  }
  return median(ratios);
}

ReportTable performance_table(const std::vector<Group>& groups, const std::string& title) {
  ReportTable t{title,
                {"model", "configuration", "engine", "n", "load ms", "first inference ms", "mean inference ms", "tokens/s",
                 "prefill tokens/s", "decode tokens/s", "sequences/s", "peak MB", "webaccel / this"},
                {}};
  std::map<std::string, const Group*> webaccel_of;
  for (const Group& g : groups) if (g.engine == "webaccel") webaccel_of[config_key(g.first)] = &g;
  for (const Group& g : groups) {
    std::string ratio;
    auto w = webaccel_of.find(config_key(g.first));
    if (g.engine != "webaccel" && w != webaccel_of.end()) ratio = fmt(ratio_vs(*w->second, g), "%.2fx");
    t.rows.push_back({g.first.text("model_name"), config_label(g.first), g.engine, std::to_string(g.rows.size()),
                      fmt(g.med("loading_time_ms")), fmt(g.med("first_inference_time_ms")),
                      fmt(g.med("average_inference_time_ms"), "%.2f"), fmt(g.med("tokens_per_second")),
                      fmt(g.med("prefill_tokens_per_second")), fmt(g.med("decode_tokens_per_second")),
                      fmt(g.sequences_per_second(), "%.2f"), fmt(g.med("memory_usage_mb")), ratio});
  }
  return t;
}

// One chart per model and metric, so each chart compares like with like.
void add_throughput_charts(const std::vector<Group>& groups, Report& rep) {
  std::map<std::string, std::vector<const Group*>> by_model;
  for (const Group& g : groups) by_model[g.first.text("model_name")].push_back(&g);
  for (const auto& [model, gs] : by_model) {
    const bool generates = gs.front()->first.text("model_type") == "text-generation";
    const std::vector<std::pair<std::string, std::string>> metrics =
        generates ? std::vector<std::pair<std::string, std::string>>{{"prefill_tokens_per_second", "prefill tokens/s"},
                                                                     {"decode_tokens_per_second", "decode tokens/s"}}
                  : std::vector<std::pair<std::string, std::string>>{{"", "sequences/s"}};
    for (const auto& [key, unit] : metrics) {
      BarChart c{model + ": " + unit + " (median per configuration; higher is better)", unit, {}};
      for (const Group* g : gs) {
        auto v = key.empty() ? g->sequences_per_second() : g->med(key);
        if (v) c.bars.push_back({config_label(g->first) + " [" + g->engine + "]", g->engine, *v});
      }
      if (!c.bars.empty()) rep.charts.push_back(std::move(c));
    }
  }
}

// The same work (model, precision, sizes, threads) whatever ran it.
std::string workload_key(const Row& r) {
  std::string k;
  for (const char* c : {"model_name", "precision_name", "batch_size", "sequence_length", "decode_tokens", "threads"}) k += r.text(c) + "|";
  return k;
}

bool is_native_cpu(const Row& r) {
  return r.text("platform") == "cpu" && (r.text("host").empty() || r.text("host") == "native");
}

// This backend's throughput over the native CPU's for the same work, paired within a run.
ReportTable versus_native_table(const std::vector<Group>& groups) {
  ReportTable t{"Each backend and host against the native CPU (same run, same work)",
                {"model", "configuration", "measure", "native CPU", "this", "this / native CPU"}, {}};
  std::vector<const Row*> natives;
  for (const Group& g : groups) {
    if (g.engine == "webaccel" && is_native_cpu(g.first)) natives.insert(natives.end(), g.rows.begin(), g.rows.end());
  }
  for (const Group& g : groups) {
    if (g.engine != "webaccel" || is_native_cpu(g.first)) continue;
    const bool generates = g.first.text("model_type") == "text-generation";
    const std::string key = generates ? "decode_tokens_per_second" : "";
    std::vector<double> mine, theirs, ratios;
    for (const Row* r : g.rows) {
      for (const Row* n : natives) {
        if (n->text("run_id") != r->text("run_id") || workload_key(*n) != workload_key(*r)) continue;
        auto a = throughput(*r, key), b = throughput(*n, key);
        if (!a || !b || *b <= 0) continue;
        mine.push_back(*a);
        theirs.push_back(*b);
        ratios.push_back(*a / *b);
      }
    }
    if (ratios.empty()) continue;
    t.rows.push_back({g.first.text("model_name"), config_label(g.first), generates ? "decode tokens/s" : "sequences/s",
                      fmt(median(theirs), "%.3g"), fmt(median(mine), "%.3g"), fmt(median(ratios), "%.2gx")});
  }
  return t;
}

ReportTable provenance_table(const std::vector<Group>& groups) {
  ReportTable t{"How each configuration was measured", {"model", "configuration", "engine", "runtime", "adapter", "command"}, {}};
  for (const Group& g : groups) {
    t.rows.push_back({g.first.text("model_name"), config_label(g.first), g.engine, g.first.text("runtime_variant"),
                      g.first.text("adapter"), g.first.text("cell_command")});
  }
  return t;
}

ReportTable skipped_table(BenchStore& store) {
  ReportTable t{"Cells not measured here (skipped, with the reason)", {"model", "configuration", "reason", "command", "run"}, {}};
  for (const Row& r : load_rows(store, "", true)) {
    t.rows.push_back({r.text("model_name"), config_label(r), r.text("skip_reason"), r.text("cell_command"), r.text("run_id")});
  }
  return t;
}

void web_platform(BenchStore& store, Report& rep) {
  rep.title = "Web platform performance";
  const auto rows = load_rows(store, "");
  const auto groups = group_rows(rows);
  if (rows.empty()) rep.notes.push_back("The database holds no measurements yet: run `webaccel bench`.");
  const bool peers = std::any_of(groups.begin(), groups.end(), [](const Group& g) { return g.engine != "webaccel"; });
  if (!rows.empty() && !peers) {
    rep.notes.push_back("No peer measurements in this database. To add llama.cpp and PyTorch figures from the same machine: "
                        "`bench/run_native_bench.sh --json peers.json && webaccel bench --import peers.json`.");
  }
  if (std::none_of(rows.begin(), rows.end(), [](const Row& r) { return r.text("host") != "native" && !r.text("host").empty(); })) {
    rep.notes.push_back("No Node or browser runs in this database: every row is a native binary. Add them with "
                        "`webaccel bench --backends cpu,wasm@node,wasm@chromium,wasm@firefox` (see the browser_comparison report).");
  }
  rep.notes.push_back("Medians over stored measurements of the same configuration (model, precision, backend, browser, batch, "
                      "sequence length, generated tokens, threads). Batches run sequence after sequence. 'webaccel / this' is "
                      "webaccel's throughput divided by the peer's, paired within the run that measured both (decode tokens/s where both have it, "
                      "else tokens/s, prefill tokens/s or sequences/s); blank where no webaccel row was measured beside the peer.");
  add_throughput_charts(groups, rep);
  rep.tables.push_back(performance_table(groups, "Measurements by configuration"));
  for (const Row& r : rows) {
    if (effective_run_status(r) == "incomplete") {
      rep.notes.push_back("Some rows come from runs that did not finish (status 'incomplete' below); each row is still a whole measurement.");
      break;
    }
  }
  const ReportTable skipped = skipped_table(store);
  if (!skipped.rows.empty()) {
    rep.notes.push_back(std::to_string(skipped.rows.size()) + " cell(s) could not be measured here; they are listed with the reason.");
    rep.tables.push_back(skipped);
  }
  rep.tables.push_back(runs_table(store));
}

void ultra_low_precision(BenchStore& store, Report& rep) {
  rep.title = "Ultra-low precision (2/3-bit)";
  const SqlRows r = store.read(
      "SELECT p.model_name, u.bits, u.group_size, u.effective_bits_per_weight, u.memory_reduction_percent, "
      "u.accuracy_impact_percent, u.perplexity, u.reference_perplexity, u.mean_kld, u.top1_agreement, u.eval_tokens, "
      "p.average_inference_time_ms, p.decode_tokens_per_second, p.memory_usage_mb, p.sequence_length, p.threads, p.run_id "
      "FROM ultra_low_precision_results u JOIN web_platform_performance p ON u.performance_id = p.id "
      "ORDER BY p.model_name, u.bits, u.group_size, p.sequence_length, p.id");
  ReportTable t{"Quantized variants: measured quality and speed",
                {"model", "bits", "group", "bits/weight", "memory reduction vs fp16 %", "accuracy impact % (perplexity)",
                 "perplexity", "reference perplexity", "mean KLD", "top-1 agreement", "eval tokens", "mean inference ms",
                 "decode tokens/s", "peak MB", "seq", "threads", "run"}, {}};
  auto num = [](const SqlCell& c) { return c ? std::optional<double>(std::stod(*c)) : std::nullopt; };
  for (const auto& c : r.rows) {
    t.rows.push_back({c[0].value_or(""), c[1].value_or(""), c[2].value_or(""), fmt(num(c[3]), "%.3f"), fmt(num(c[4])),
                      fmt(num(c[5])), fmt(num(c[6]), "%.2f"), fmt(num(c[7]), "%.2f"), fmt(num(c[8]), "%.4f"),
                      fmt(num(c[9]), "%.3f"), c[10].value_or(""), fmt(num(c[11]), "%.2f"), fmt(num(c[12])), fmt(num(c[13])),
                      c[14].value_or(""), c[15].value_or(""), c[16].value_or("")});
  }
  BarChart impact{"Accuracy impact: perplexity increase over the stored model (%; lower is better)", "%", {}};
  BarChart reduction{"Memory reduction vs fp16 weights (%; higher is better)", "%", {}};
  std::map<std::string, bool> seen;
  for (const auto& c : r.rows) {
    const std::string label = c[0].value_or("") + " " + c[1].value_or("") + "-bit g" + c[2].value_or("");
    if (seen[label]) continue;  // one bar per variant: quality does not depend on the cell's sizes
    seen[label] = true;
    if (auto x = num(c[5])) impact.bars.push_back({label, "webaccel", std::max(0.0, *x)});
    if (auto x = num(c[4])) reduction.bars.push_back({label, "webaccel", *x});
  }
  if (t.rows.empty()) {
    rep.notes.push_back("No quantized-variant runs in this database. Measure some with "
                        "`webaccel bench --models smollm2 --precisions stored,wq2,wq3,wq4` (quantizes, evaluates, then measures).");
  } else {
    rep.notes.push_back("Rows with 4 and 8 bits are the baselines the 2- and 3-bit variants are compared with. Accuracy impact "
                        "is the perplexity increase over the stored model on the held-out text (eval text, 128-token windows, "
                        "second half scored); memory reduction is the quantizer's byte count against fp16 weights. Uniform "
                        "quantization without calibration: the quality shown is that method's, not the best attainable.");
  }
  if (!reduction.bars.empty()) rep.charts.push_back(reduction);
  if (!impact.bars.empty()) rep.charts.push_back(impact);
  rep.tables.push_back(t);
  rep.tables.push_back(runs_table(store));
}

void browser_comparison(BenchStore& store, Report& rep) {
  rep.title = "Browser comparison";
  const auto rows = load_rows(store, "");
  const bool hosts = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return !is_native_cpu(r); });
  if (!hosts) {
    rep.notes.push_back("No wasm or WebGPU measurements in this database, only the native CPU. Measure them with "
                        "`webaccel bench --backends cpu,wasm@node,wasm@chromium,wasm@firefox,webgpu,webgpu@chromium,webgpu@firefox`; "
                        "Safari, Edge and mobile browsers cannot run on this Linux machine.");
  }
  rep.notes.push_back("Every backend and host beside the native CPU: cpu = the native binary; wasm@node = the wasm build in Node "
                      "(web/node.mjs); wasm@chromium / wasm@firefox = the same build through the JS API in a Web Worker of a headless "
                      "browser page served cross-origin isolated; webgpu = the CLI's --backend webgpu; webgpu@browser = the JS API's "
                      "backend 'webgpu'. Peak MB: native and Node, the process's peak RSS; browsers, the peak RSS of the renderer "
                      "(Chromium) or tab content process (Firefox) that ran the page and its Worker, read from /proc.");
  const auto groups = group_rows(rows);
  add_throughput_charts(groups, rep);
  rep.tables.push_back(performance_table(groups, "Measurements by backend, host and configuration"));
  rep.tables.push_back(versus_native_table(groups));
  rep.tables.push_back(provenance_table(groups));
  rep.tables.push_back(skipped_table(store));
}

void shader_compilation(BenchStore& store, Report& rep) {
  rep.title = "Shader compilation";
  const auto rows = load_rows(store, "p.shader_compilation_ms IS NOT NULL");
  ReportTable t{"Shader compilation by configuration", {"model", "configuration", "engine", "n", "shader compilation ms", "first inference ms"}, {}};
  BarChart c{"Shader compilation time (median; lower is better)", "ms", {}};
  for (const Group& g : group_rows(rows)) {
    t.rows.push_back({g.first.text("model_name"), config_label(g.first), g.engine, std::to_string(g.rows.size()),
                      fmt(g.med("shader_compilation_ms")), fmt(g.med("first_inference_time_ms"))});
    if (auto v = g.med("shader_compilation_ms")) c.bars.push_back({g.first.text("model_name") + " " + config_label(g.first), g.engine, *v});
  }
  if (rows.empty()) {
    rep.notes.push_back("No shader compilation measurements in this database: there is no WebGPU backend yet, and the native CPU "
                        "backend compiles no shaders.");
  }
  if (!c.bars.empty()) rep.charts.push_back(c);
  rep.tables.push_back(t);
}

void memory_efficiency(BenchStore& store, Report& rep) {
  rep.title = "Memory efficiency";
  const auto rows = load_rows(store, "p.memory_usage_mb IS NOT NULL");
  ReportTable t{"Peak memory by configuration", {"model", "configuration", "engine", "n", "precision bits", "weights MB",
                                                 "peak MB", "peak / weights"}, {}};
  BarChart c{"Peak resident memory (median MB; lower is better)", "MB", {}};
  for (const Group& g : group_rows(rows)) {
    auto peak = g.med("memory_usage_mb"), weights = g.med("weights_mb");
    std::optional<double> ratio;
    if (peak && weights && *weights > 0) ratio = *peak / *weights;
    t.rows.push_back({g.first.text("model_name"), config_label(g.first), g.engine, std::to_string(g.rows.size()),
                      g.first.text("precision_bits"), fmt(weights), fmt(peak), fmt(ratio, "%.2fx")});
    if (peak) c.bars.push_back({g.first.text("model_name") + " " + config_label(g.first) + " [" + g.engine + "]", g.engine, *peak});
  }
  if (rows.empty()) rep.notes.push_back("No memory measurements in this database yet: run `webaccel bench`.");
  rep.notes.push_back("Peak memory is the process's peak resident set (VmHWM, reset before each cell) while loading and running "
                      "that cell: weights as mapped from the file plus KV cache and buffers. Only precisions the model files hold are "
                      "measured; 2/3/4-bit conversions appear once the quantizer feeds the runner.");
  if (!c.bars.empty()) rep.charts.push_back(c);
  rep.tables.push_back(t);
}

}  // namespace

std::vector<std::string> report_names() {
  return {"web_platform", "ultra_low_precision", "browser_comparison", "shader_compilation", "memory_efficiency"};
}

Report build_report(BenchStore& store, const std::string& name) {
  Report rep;
  rep.name = name;
  rep.database = store.location();
  rep.generated_at = utc_now();
  if (name == "web_platform") web_platform(store, rep);
  else if (name == "ultra_low_precision") ultra_low_precision(store, rep);
  else if (name == "browser_comparison") browser_comparison(store, rep);
  else if (name == "shader_compilation") shader_compilation(store, rep);
  else if (name == "memory_efficiency") memory_efficiency(store, rep);
  else {
    std::string known;
    for (const auto& n : report_names()) known += (known.empty() ? "" : ", ") + n;
    fail(ErrorKind::kUsage, "--report: unknown report '" + name + "' (known: " + known + ")");
  }
  return rep;
}

}  // namespace webaccel::bench
