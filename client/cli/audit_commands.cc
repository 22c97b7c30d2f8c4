// `sensordb audit verify|list` (docs/AUTH.md "Audit log"): walks the hash chain of the audit
// log and names every entry that was removed, altered, reordered or cut off; lists entries. On a
// data directory (which needs the master key) this is the operator's view of everything; with
// --server the same commands go through the native protocol (ReadAudit, VerifyAudit) and show
// what the account may read.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <ctime>

#include "audit/audit_log.h"
#include "cli_common.h"
#include "connect.h"
#include "output.h"

namespace sensordb::cli {
namespace {

struct AuditArgs {
  std::string anchor;  // "ENTRIES:HASH" exported earlier
  std::string project;  // list: only this project's entries
  uint64_t from = 1;
  size_t limit = 100;
  bool json = false;
  bool adopt_anchor = false;  // verify: write the anchor file in place of a missing one
};

Result<AuditAnchor> ParseAnchor(const std::string& text) {
  const size_t colon = text.find(':');
  AuditAnchor a;
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

void PrintIntact(uint64_t entries_checked, const std::string& head) {
  fmt::print(
      "audit log intact: {} entries checked\nanchor {}\n(keep the anchor elsewhere; "
      "`sensordb audit verify --anchor {}` later proves nothing up to it changed)\n",
      entries_checked, head, head);
}

// Over the server: its problems are "kind: message" strings.
Status RunVerifyRemote(const GlobalArgs& global, const std::optional<AuditAnchor>& anchor,
                       bool json) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectServer(global));
  std::optional<client::AuditAnchor> remote_anchor;
  if (anchor) remote_anchor = client::AuditAnchor{anchor->entries, anchor->hash};
  SENSORDB_ASSIGN_OR_RETURN(const client::AuditVerifyReport r,
                            conn->VerifyAudit(remote_anchor ? &*remote_anchor : nullptr));
  const std::string head = fmt::format("{}:{}", r.head.entries, HashToHex(r.head.hash));
  if (json) {
    std::string problems;
    for (const std::string& p : r.problems) {
      const size_t colon = p.find(": ");
      const std::string_view kind = colon == std::string::npos
                                        ? std::string_view("problem")
                                        : std::string_view(p).substr(0, colon);
      problems += fmt::format("{}{{\"kind\": {}, \"message\": {}}}", problems.empty() ? "" : ", ",
                              JsonString(kind), JsonString(p));
    }
    fmt::print("{{\"ok\": {}, \"entries_checked\": {}, \"anchor\": \"{}\", \"problems\": [{}]}}\n",
               r.ok, r.entries_checked, head, problems);
  } else if (r.ok) {
    PrintIntact(r.entries_checked, head);
  } else {
    fmt::print("audit log verification failed after {} entries:\n", r.entries_checked);
    for (const std::string& p : r.problems) fmt::print("  {}\n", p);
  }
  if (!r.ok) {
    return Status::Corruption(
        fmt::format("the audit log failed verification ({} problem(s))", r.problems.size()));
  }
  return Status::Ok();
}

Status RunVerify(const GlobalArgs& global, const AuditArgs& args) {
  std::optional<AuditAnchor> anchor;
  if (!args.anchor.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(anchor, ParseAnchor(args.anchor));
  }
  if (global.remote()) {
    if (args.adopt_anchor) {
      return Status::InvalidArgument("--adopt-anchor works on a data directory, not --server");
    }
    return RunVerifyRemote(global, anchor, args.json);
  }
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  SENSORDB_ASSIGN_OR_RETURN(auto log,
                            AuditLog::Open(db->System(), AuditOpenMode::kInspect));
  SENSORDB_ASSIGN_OR_RETURN(AuditVerifyReport r, log->Verify(anchor));
  const bool anchor_only =
      !r.ok() && std::all_of(r.problems.begin(), r.problems.end(), [](const auto& p) {
        return p.kind == AuditProblem::Kind::kAnchorDamaged;
      });
  if (args.adopt_anchor && anchor_only) {
    // The chain itself is whole; the operator vouches for its head (e.g. after a restore).
    SENSORDB_RETURN_IF_ERROR(log->AdoptAnchor());
    if (!args.json) {
      fmt::print(stderr, "wrote a new anchor file at entry {}\n", r.head.entries);
    }
    SENSORDB_ASSIGN_OR_RETURN(r, log->Verify(anchor));
  }
  const std::string head = fmt::format("{}:{}", r.head.entries, HashToHex(r.head.hash));
  if (args.json) {
    std::string problems;
    for (const auto& p : r.problems) {
      problems += fmt::format("{}{{\"kind\": \"{}\", \"seq\": {}, \"count\": {}, \"message\": {}}}",
                              problems.empty() ? "" : ", ", AuditProblemName(p.kind),
                              p.seq, p.count, JsonString(p.message));
    }
    fmt::print("{{\"ok\": {}, \"entries_checked\": {}, \"anchor\": \"{}\", \"problems\": [{}]}}\n",
               r.ok(), r.entries_checked, head, problems);
  } else if (r.ok()) {
    PrintIntact(r.entries_checked, head);
  } else {
    fmt::print("{}\n", r.ToString());
  }
  if (!r.ok()) {
    return Status::Corruption(fmt::format("the audit log failed verification ({} problem(s))",
                                          r.problems.size()));
  }
  return Status::Ok();
}

// One entry, as a line of the table or one JSON object. `project` names the project (local: its
// id; remote: its name, or "#id" once dropped).
struct EntryLine {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  std::string_view action, principal, address, outcome, project, detail;
  std::optional<uint32_t> project_id;
};

void PrintHeader() {
  fmt::print("{:>6}  {:<20}  {:<24} {:<16} {:<8} {:<7} {}\n", "seq", "time", "action", "principal",
             "outcome", "project", "detail");
}

void PrintEntry(const EntryLine& e, bool json, bool remote) {
  if (json) {
    std::string project = e.project_id ? std::to_string(*e.project_id) : "null";
    if (remote) {  // the name, and the id apart
      project = e.project_id ? JsonString(e.project) + ", \"project_id\": " + project
                             : "null, \"project_id\": null";
    }
    fmt::print(
        "{{\"seq\": {}, \"time\": \"{}\", \"action\": {}, \"principal\": {}, "
        "\"address\": {}, \"outcome\": {}, \"project\": {}, \"detail\": {}}}\n",
        e.seq, Utc(e.time_ns), JsonString(e.action), JsonString(e.principal), JsonString(e.address),
        JsonString(e.outcome), project, JsonString(e.detail));
  } else {
    fmt::print("{:>6}  {:<20}  {:<24} {:<16} {:<8} {:<7} {}\n", e.seq, Utc(e.time_ns), e.action,
               e.principal, e.outcome, e.project, e.detail);
  }
}

Status RunListRemote(const GlobalArgs& global, const AuditArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectServer(global));
  if (!args.json) PrintHeader();
  std::string project;
  auto read =
      conn->ReadAudit(args.from, args.project, args.limit, [&](const client::AuditEntry& e) {
        project = e.project_id == 0   ? ""
                  : e.project.empty() ? "#" + std::to_string(e.project_id)
                                      : e.project;
        EntryLine line{e.seq,     e.time_ns, e.action, e.principal, e.address,
                       e.outcome, project,   e.detail, std::nullopt};
        if (e.project_id != 0) line.project_id = e.project_id;
        PrintEntry(line, args.json, /*remote=*/true);
        return true;
      });
  SENSORDB_RETURN_IF_ERROR(read);
  return std::fflush(stdout) == 0 ? Status::Ok() : Status::IOError("cannot write the output");
}

Status RunList(const GlobalArgs& global, const AuditArgs& args) {
  if (global.remote()) return RunListRemote(global, args);
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  std::optional<uint32_t> only;
  if (!args.project.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(const ProjectInfo p, db->GetProject(args.project));
    only = p.id;
  }
  SENSORDB_ASSIGN_OR_RETURN(auto log,
                            AuditLog::Open(db->System(), AuditOpenMode::kInspect));
  if (!args.json) PrintHeader();
  size_t n = 0;
  return log->Read(args.from, [&](const AuditEntry& e) {
    const AuditEvent& ev = e.event;
    if (only && ev.project != only) return true;
    const std::string project = ev.project ? std::to_string(*ev.project) : "";
    PrintEntry({e.seq, ev.time_ns, AuditActionName(ev.action), ev.principal, ev.address,
                AuditOutcomeName(ev.outcome), project, ev.detail, ev.project},
               args.json, /*remote=*/false);
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
  verify->add_flag("--adopt-anchor", args->adopt_anchor,
                   "If the chain is whole and only its anchor file is missing or unreadable "
                   "(a data directory restored from a backup), write a new one at the head");
  verify->callback([&global, action, args] {
    *action = [&global, args] { return RunVerify(global, *args); };
  });

  auto* list = audit->add_subcommand("list", "Print audit entries, oldest first");
  list->add_option("--project,-p", args->project, "Only the entries of this project");
  list->add_option("--from", args->from, "First entry number")->check(CLI::PositiveNumber);
  list->add_option("--limit", args->limit, "At most this many entries (0: all)");
  list->add_flag("--json", args->json, "One JSON object per line");
  list->callback([&global, action, args] {
    *action = [&global, args] { return RunList(global, *args); };
  });
}

}  // namespace sensordb::cli
