// Reports over the benchmark database: what the guide's benchmark_db_query.py promised, built
// from stored measurements only. A report whose data does not exist yet says so instead.
#pragma once

#include <string>
#include <vector>

#include "bench/store.h"

namespace webaccel::bench {

struct ReportTable {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

struct Bar {
  std::string label;
  std::string series;  // the engine: bars of one series share a colour
  double value = 0;
};

struct BarChart {
  std::string title;
  std::string unit;
  std::vector<Bar> bars;
};

struct Report {
  std::string name, title, database, generated_at;
  std::vector<std::string> notes;   // what is missing and why, how figures were made
  std::vector<BarChart> charts;
  std::vector<ReportTable> tables;  // the first one is the report's main table
};

std::vector<std::string> report_names();
Report build_report(BenchStore& store, const std::string& name);  // Error(kUsage) for an unknown name

}  // namespace webaccel::bench
