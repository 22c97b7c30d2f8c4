#include "rest/json_text.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <cmath>
#include <iterator>

namespace sensordb::server::rest {

void AppendJsonText(const boost::json::value& v, std::string* out) {
  switch (v.kind()) {
    case boost::json::kind::null: out->append("null"); return;
    case boost::json::kind::bool_: out->append(v.get_bool() ? "true" : "false"); return;
    case boost::json::kind::int64:
      fmt::format_to(std::back_inserter(*out), "{}", v.get_int64());
      return;
    case boost::json::kind::uint64:
      fmt::format_to(std::back_inserter(*out), "{}", v.get_uint64());
      return;
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out->append("null");
      } else {
        // The shortest form that reads back to d; "22.0", not "22", so that a float stays a
        // float for clients that type JSON numbers by their text.
        const size_t start = out->size();
        fmt::format_to(std::back_inserter(*out), "{}", d);
        if (out->find_first_of(".e", start) == std::string::npos) out->append(".0");
      }
      return;
    }
    case boost::json::kind::string: out->append(boost::json::serialize(v.get_string())); return;
    case boost::json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const boost::json::value& e : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonText(e, out);
      }
      out->push_back(']');
      return;
    }
    case boost::json::kind::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, e] : v.get_object()) {
        if (!first) out->push_back(',');
        first = false;
        out->append(boost::json::serialize(boost::json::string_view(key)));
        out->push_back(':');
        AppendJsonText(e, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string JsonText(const boost::json::value& v) {
  std::string out;
  AppendJsonText(v, &out);
  return out;
}

}  // namespace sensordb::server::rest
