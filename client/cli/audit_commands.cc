// `sensordb audit verify|list` on a data directory (docs/AUTH.md "Audit log"): walks the
// hash chain of the audit log and names every entry that was removed, altered, reordered or cut
// off; lists entries. Opening the directory needs the master key, so this is the operator's
// view (everything); over a server the same commands go through the native protocol.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <ctime>

#include "audit/audit_log.h"
#include "cli_common.h"
#include "output.h"

namespace sensordb::cli {
namespace {

struct AuditArgs {
  std::string anchor;  // "ENTRIES:HASH" exported earlier
  uint64_t from = 1;
  size_t limit = 100;
  bool json = false;
};

Result<server::AuditAnchor> ParseAnchor(const std::string& text) {
  const size_t colon = text.find(':');
  server::AuditAnchor a;
  if (colon == std::string::npos || text.size() - colon - 1 != 64) {
    return Err(Status::InvalidArgument("--anchor must be ENTRIES:HASH (64 hex digits), as "
                                       "printed by `sensordb audit verify`"));
  }
  try {
    a.entries = std::stoull(text.substr(0, colon));
  } catch (const std::exception&) {
    return Err(Status::InvalidArgument("--anchor: '" + text.substr(0, colon) + "' is not a count"));
  }
  for (size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    if (std::sscanf(text.c_str() + colon + 1 + 2 * i, "%2x", &v) != 1) {
      return Err(Status::InvalidArgument("--anchor: the hash is not hexadecimal"));
    }
    a.hash[i] = static_cast<uint8_t>(v);
  }
  return a;
}

std::string Utc(int64_t ns) {
  const std::time_t s = ns / 1'000'000'000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status RunVerify(const GlobalArgs& global, const AuditArgs& args) {
  std::optional<server::AuditAnchor> anchor;
  if (!args.anchor.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(anchor, ParseAnchor(args.anchor));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(auto log, server::AuditLog::Open(db->System()));
  SENSORDB_ASSIGN_OR_RETURN(const server::AuditVerifyReport r, log->Verify(anchor));
  const std::string head = fmt::format("{}:{}", r.head.entries, server::HashToHex(r.head.hash));
  if (args.json) {
    std::string problems;
    for (const auto& p : r.problems) {
      problems += fmt::format("{}{{\"kind\": \"{}\", \"seq\": {}, \"count\": {}, \"message\": {}}}",
                              problems.empty() ? "" : ", ", server::AuditProblemName(p.kind),
                              p.seq, p.count, JsonString(p.message));
    }
    fmt::print("{{\"ok\": {}, \"entries_checked\": {}, \"anchor\": \"{}\", \"problems\": [{}]}}\n",
               r.ok(), r.entries_checked, head, problems);
  } else if (r.ok()) {
    fmt::print("audit log intact: {} entries checked\nanchor {}\n(keep the anchor elsewhere; "
               "`sensordb audit verify --anchor {}` later proves nothing up to it changed)\n",
               r.entries_checked, head, head);
  } else {
    fmt::print("{}\n", r.ToString());
  }
  if (!r.ok()) {
    return Status::Corruption(fmt::format("the audit log failed verification ({} problem(s))",
                                          r.problems.size()));
  }
  return Status::Ok();
}

Status RunList(const GlobalArgs& global, const AuditArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(auto log, server::AuditLog::Open(db->System()));
  if (!args.json) {
    fmt::print("{:>6}  {:<20}  {:<24} {:<16} {:<8} {:<7} {}\n", "seq", "time", "action",
               "principal", "outcome", "project", "detail");
  }
  size_t n = 0;
  return log->Read(args.from, [&](const server::AuditEntry& e) {
    const server::AuditEvent& ev = e.event;
    const std::string project = ev.project ? std::to_string(*ev.project) : "";
    if (args.json) {
      fmt::print("{{\"seq\": {}, \"time\": \"{}\", \"action\": \"{}\", \"principal\": {}, "
                 "\"address\": {}, \"outcome\": \"{}\", \"project\": {}, \"detail\": {}}}\n",
                 e.seq, Utc(ev.time_ns), server::AuditActionName(ev.action),
                 JsonString(ev.principal), JsonString(ev.address),
                 server::AuditOutcomeName(ev.outcome), ev.project ? project : "null",
                 JsonString(ev.detail));
    } else {
      fmt::print("{:>6}  {:<20}  {:<24} {:<16} {:<8} {:<7} {}\n", e.seq, Utc(ev.time_ns),
                 server::AuditActionName(ev.action), ev.principal,
                 server::AuditOutcomeName(ev.outcome), project, ev.detail);
    }
    return args.limit == 0 || ++n < args.limit;
  });
}

}  // namespace

void AddAuditCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto* audit = app.add_subcommand("audit", "Verify and read the audit log");
  audit->require_subcommand(1);
  auto args = std::make_shared<AuditArgs>();

  auto* verify = audit->add_subcommand(
      "verify", "Check the audit log's hash chain; exit 1 naming every removed or altered entry");
  verify->add_option("--anchor", args->anchor,
                     "ENTRIES:HASH printed by an earlier verify: also prove it is still there");
  verify->add_flag("--json", args->json, "JSON output");
  verify->callback([&global, action, args] {
    *action = [&global, args] { return RunVerify(global, *args); };
  });

  auto* list = audit->add_subcommand("list", "Print audit entries, oldest first");
  list->add_option("--from", args->from, "First entry number")->check(CLI::PositiveNumber);
  list->add_option("--limit", args->limit, "At most this many entries (0: all)");
  list->add_flag("--json", args->json, "One JSON object per line");
  list->callback([&global, action, args] {
    *action = [&global, args] { return RunList(global, *args); };
  });
}

}  // namespace sensordb::cli
