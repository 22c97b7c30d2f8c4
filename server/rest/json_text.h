// JSON text as people and clients expect it: numbers in the shortest decimal form that reads
// back to the same double (21.43, not Boost.JSON's 2.143E1), as the CLI prints them, with ".0"
// on a whole number (22.0) so that it stays a float to clients that type numbers by their text.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace sensordb::server::rest {

// Appends the JSON text of `v` to `out`. A double that is not finite is written as null.
void AppendJsonText(const boost::json::value& v, std::string* out);
std::string JsonText(const boost::json::value& v);

}  // namespace sensordb::server::rest
