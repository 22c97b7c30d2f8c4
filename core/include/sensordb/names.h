// The naming rules of the data model (a project, a device, a channel), in one place for every part
// that checks a name before it is stored or signed: the catalog, the device CA, the importer.
// Thread-safe (pure functions).
#pragma once

#include <string_view>

#include "sensordb/status.h"

namespace sensordb {

inline constexpr size_t kMaxProjectNameBytes = 64;
inline constexpr size_t kMaxObjectNameBytes = 255;

// A project name: 1-64 characters of [a-z0-9_-], not starting with '-' or '_'. It appears in
// certificate URIs (sensordb://<project>/<device>) and file names, hence the narrow alphabet.
// Ok, or InvalidArgument naming what is wrong.
Status ValidateProjectName(std::string_view name);

// A device, channel or other object name (`what` says which, for the message): 1-255 bytes of
// well-formed UTF-8 without control characters. Ok, or InvalidArgument naming what is wrong.
Status ValidateObjectName(std::string_view what, std::string_view name);

// Well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or code points
// past U+10FFFF.
bool IsUtf8(std::string_view s);

}  // namespace sensordb
