// Renders a Report: one self-contained HTML file with inline SVG charts, Markdown, CSV, JSON, or
// the charts alone as one SVG.
#pragma once

#include <string>

#include "bench/report.h"

namespace webaccel::bench {

std::vector<std::string> report_formats();
std::string render_report(const Report& r, const std::string& format);  // Error(kUsage) for an unknown format
std::string render_bar_chart_svg(const BarChart& chart);

}  // namespace webaccel::bench
