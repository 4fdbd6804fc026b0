#include "bench/measurement.h"

#include "core/error.h"

namespace webaccel::bench {
namespace {

struct ToJson {
  nlohmann::json& j;
  template <typename T>
  void operator()(const char* name, const T& v) {
    if constexpr (requires { v.has_value(); }) {
      j[name] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    } else {
      j[name] = v;
    }
  }
};

struct FromJson {
  const nlohmann::json& j;
  const std::string& where;
  template <typename T>
  void operator()(const char* name, T& v) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return;  // absent fields keep their defaults (NULL in the database)
    try {
      if constexpr (requires { v.has_value(); }) {
        v = it->template get<typename T::value_type>();
      } else {
        v = it->template get<T>();
      }
    } catch (const nlohmann::json::exception&) {
      fail(ErrorKind::kFormat, where + ": field '" + name + "' has the wrong type (" + it->type_name() + ")");
    }
  }
};

template <typename R>
nlohmann::json fields_to_json(const R& r) {
  nlohmann::json j = nlohmann::json::object();
  for_each_field(r, ToJson{j});
  return j;
}

}  // namespace

nlohmann::json to_json(const RunInfo& r) { return fields_to_json(r); }
nlohmann::json to_json(const Measurement& m) {
  nlohmann::json j = fields_to_json(m);
  if (m.quality) j["quality"] = fields_to_json(*m.quality);
  return j;
}

RunInfo run_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::kFormat, where + ": expected an object");
  RunInfo r;
  for_each_field(r, FromJson{j, where});
  if (r.run_id.empty()) fail(ErrorKind::kFormat, where + ": field 'run_id' is missing");
  return r;
}

Measurement measurement_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::kFormat, where + ": expected an object");
  Measurement m;
  for_each_field(m, FromJson{j, where});
  if (j.contains("quality") && !j["quality"].is_null()) {
    m.quality.emplace();
    for_each_field(*m.quality, FromJson{j["quality"], where + ": quality"});
  }
  for (const auto* required : {"model_name", "model_type", "platform", "engine"}) {
    if (!j.contains(required) || !j[required].is_string() || j[required].get<std::string>().empty()) {
      fail(ErrorKind::kFormat, where + ": field '" + required + "' is missing or empty");
    }
  }
  return m;
}

}  // namespace webaccel::bench
