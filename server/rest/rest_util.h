// Helpers shared by the REST handler's files (rest_handler.cc, influx_query.cc): JSON bodies
// and values, and the query parameters of a request. Pure functions, thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "rest/rest_handler.h"
#include "rest/rest_router.h"
#include "sensordb/query.h"
#include "sensordb/status.h"
#include "sensordb/types.h"

namespace sensordb::server::rest {

// A 200 response with `v` as its JSON body.
RestResponse Json(const boost::json::value& v);
// A value as JSON; NaN and infinities, which JSON lacks, are null.
boost::json::value ValueJson(const Value& v);
boost::json::value NumberJson(double d);

// The query parameters a route takes; any other one is a 400 naming it and the allowed ones.
Status CheckParams(const Target& t, std::initializer_list<std::string_view> allowed);
// A parameter's value, empty when absent.
std::string_view Param(const Target& t, std::string_view name);
// `where`: tag conditions in InfluxQL's WHERE grammar (docs/LABELS.md); empty when absent.
Result<std::vector<LabelFilter>> WhereParam(const Target& t);
// `times`: "number" (the default) or "string" (nanoseconds as decimal strings, for JavaScript,
// whose numbers are exact only to 2^53).
Result<bool> StringTimesParam(const Target& t);
boost::json::value NanosJson(int64_t ns, bool as_string);

}  // namespace sensordb::server::rest
