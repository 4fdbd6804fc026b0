#include "bench/report_render.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace webaccel::bench {
namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x);
  return buf;
}

const char* series_colour(size_t i) {
  static const char* colours[] = {"#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2"};
  return colours[i % 6];
}

std::string html(const Report& r) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + xml_escape(r.title) +
      " - webaccel</title>\n<style>body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111;max-width:1200px}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
      "td:nth-child(-n+3),th{text-align:left}th{background:#f3f4f6}.note{background:#fffbeb;border-left:4px solid #f59e0b;"
      "padding:.4em .8em}.meta{color:#555}figure{margin:1.5em 0}</style></head><body>\n";
  h += "<h1>" + xml_escape(r.title) + "</h1>\n<p class=\"meta\">Report <code>" + xml_escape(r.name) + "</code> from <code>" +
       xml_escape(r.database) + "</code>, generated " + xml_escape(r.generated_at) + " UTC by <code>webaccel report</code>. "
       "Every figure is a stored measurement.</p>\n";
  for (const auto& n : r.notes) h += "<p class=\"note\">" + xml_escape(n) + "</p>\n";
  for (const auto& c : r.charts) h += "<figure class=\"chart\">" + render_bar_chart_svg(c) + "</figure>\n";
  for (const auto& t : r.tables) {
    h += "<h2>" + xml_escape(t.title) + "</h2>\n";
    if (t.rows.empty()) {
      h += "<p class=\"empty\">No rows.</p>\n";
      continue;
    }
    h += "<table><thead><tr>";
    for (const auto& c : t.columns) h += "<th>" + xml_escape(c) + "</th>";
    h += "</tr></thead><tbody>\n";
    for (const auto& row : t.rows) {
      h += "<tr>";
      for (const auto& v : row) h += "<td>" + xml_escape(v) + "</td>";
      h += "</tr>\n";
    }
    h += "</tbody></table>\n";
  }
  return h + "</body></html>\n";
}

std::string markdown(const Report& r) {
  std::string m = "# " + r.title + "\n\nReport `" + r.name + "` from `" + r.database + "`, generated " + r.generated_at + " UTC.\n\n";
  for (const auto& n : r.notes) m += "> " + n + "\n\n";
  for (const auto& t : r.tables) {
    m += "## " + t.title + "\n\n";
    if (t.rows.empty()) {
      m += "No rows.\n\n";
      continue;
    }
    m += "|";
    for (const auto& c : t.columns) m += " " + md_cell(c) + " |";
    m += "\n|";
    for (size_t i = 0; i < t.columns.size(); ++i) m += i < 3 ? "---|" : "---:|";
    m += "\n";
    for (const auto& row : t.rows) {
      m += "|";
      for (const auto& v : row) m += " " + md_cell(v) + " |";
      m += "\n";
    }
    m += "\n";
  }
  return m;
}

// The main table only: CSV has no room for notes, so an empty report is a header line.
std::string csv(const Report& r) {
  std::string s;
  if (r.tables.empty()) return s;
  const ReportTable& t = r.tables.front();
  for (size_t i = 0; i < t.columns.size(); ++i) s += (i ? "," : "") + csv_field(t.columns[i]);
  s += "\n";
  for (const auto& row : t.rows) {
    for (size_t i = 0; i < row.size(); ++i) s += (i ? "," : "") + csv_field(row[i]);
    s += "\n";
  }
  return s;
}

std::string json(const Report& r) {
  nlohmann::json j;
  j["report"] = r.name;
  j["title"] = r.title;
  j["database"] = r.database;
  j["generated_at"] = r.generated_at;
  j["notes"] = r.notes;
  j["tables"] = nlohmann::json::array();
  for (const auto& t : r.tables) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : t.rows) {
      nlohmann::json o = nlohmann::json::object();
      for (size_t i = 0; i < t.columns.size() && i < row.size(); ++i) o[t.columns[i]] = row[i];
      rows.push_back(o);
    }
    j["tables"].push_back({{"title", t.title}, {"rows", rows}});
  }
  j["charts"] = nlohmann::json::array();
  for (const auto& c : r.charts) {
    nlohmann::json bars = nlohmann::json::array();
    for (const auto& b : c.bars) bars.push_back({{"label", b.label}, {"series", b.series}, {"value", b.value}});
    j["charts"].push_back({{"title", c.title}, {"unit", c.unit}, {"bars", bars}});
  }
  return j.dump(1) + "\n";
}

constexpr int kBarHeight = 18, kBarGap = 6, kChartTop = 40;
int chart_height(const BarChart& c) { return kChartTop + static_cast<int>(c.bars.size()) * (kBarHeight + kBarGap) + 30; }

// All charts stacked in one SVG document; a report without data still gets a readable image.
std::string charts_svg(const Report& r) {
  int height = 0;
  std::string body;
  if (r.charts.empty()) {
    std::string msg = r.notes.empty() ? "No data." : r.notes.front();
    body = "<text x=\"10\" y=\"30\" font-family=\"sans-serif\" font-size=\"13\">" + xml_escape(r.title + ": " + msg.substr(0, 150)) + "</text>";
    height = 50;
  }
  for (const auto& c : r.charts) {
    const std::string svg = render_bar_chart_svg(c);
    body += "<g transform=\"translate(0," + std::to_string(height) + ")\">" + svg + "</g>";
    height += chart_height(c) + 10;
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 960 " + std::to_string(height) + "\">" + body + "</svg>\n";
}

}  // namespace

std::vector<std::string> report_formats() { return {"html", "markdown", "csv", "json", "chart"}; }

std::string render_bar_chart_svg(const BarChart& c) {
  const int label_w = 420, plot_w = 440, bar_h = kBarHeight, gap = kBarGap, top = kChartTop;
  const int height = chart_height(c);
  double max = 0;
  for (const auto& b : c.bars) max = std::max(max, b.value);
  if (max <= 0) max = 1;
  std::map<std::string, size_t> series;
  for (const auto& b : c.bars) series.emplace(b.series, series.size());
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bar-chart\" width=\"960\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 960 " + std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">";
  s += "<text x=\"4\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" + xml_escape(c.title) + "</text>";
  int legend_x = 4;
  for (const auto& [name, i] : series) {
    s += "<rect x=\"" + std::to_string(legend_x) + "\" y=\"25\" width=\"10\" height=\"10\" fill=\"" + series_colour(i) + "\"/>";
    s += "<text x=\"" + std::to_string(legend_x + 14) + "\" y=\"34\">" + xml_escape(name) + "</text>";
    legend_x += 24 + 7 * static_cast<int>(name.size());
  }
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const Bar& b = c.bars[i];
    const int y = top + static_cast<int>(i) * (bar_h + gap);
    const int w = std::max(1, static_cast<int>(plot_w * b.value / max));
    s += "<text x=\"" + std::to_string(label_w - 6) + "\" y=\"" + std::to_string(y + 13) + "\" text-anchor=\"end\">" + xml_escape(b.label) + "</text>";
    s += "<rect class=\"bar\" x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y) + "\" width=\"" + std::to_string(w) +
         "\" height=\"" + std::to_string(bar_h) + "\" fill=\"" + series_colour(series[b.series]) + "\"><title>" +
         xml_escape(b.label + ": " + num(b.value) + " " + c.unit) + "</title></rect>";
    s += "<text x=\"" + std::to_string(label_w + w + 4) + "\" y=\"" + std::to_string(y + 13) + "\">" + num(b.value) + "</text>";
  }
  s += "<text x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(height - 8) + "\" fill=\"#555\">" + xml_escape(c.unit) + "</text>";
  return s + "</svg>";
}

std::string render_report(const Report& r, const std::string& format) {
  if (format == "html") return html(r);
  if (format == "markdown") return markdown(r);
  if (format == "csv") return csv(r);
  if (format == "json") return json(r);
  if (format == "chart") return charts_svg(r);
  fail(ErrorKind::kUsage, "--format: unknown format '" + format + "' (known: html, markdown, csv, json, chart)");
}

}  // namespace webaccel::bench
