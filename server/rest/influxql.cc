#include "rest/influxql.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sensordb::server::rest::influxql {
namespace {

enum class Tok : uint8_t { kEof, kIdent, kString, kNumber, kOp, kIllegal };

struct Token {
  Tok kind = Tok::kEof;
  std::string text;     // identifiers and strings unquoted and unescaped
  bool quoted = false;  // a "quoted identifier": never a keyword
  size_t pos = 0;       // byte offset of the token in the query
};

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Tokens one at a time; whitespace and comments (`-- ...`, `/* ... */`) are skipped.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token Next() {
    SkipSpaceAndComments();
    Token t;
    t.pos = i_;
    if (i_ >= s_.size()) return t;
    const char c = s_[i_];
    if (IsIdentStart(c)) {
      while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
      t.kind = Tok::kIdent;
      t.text = std::string(s_.substr(t.pos, i_ - t.pos));
      return t;
    }
    if (c == '"' || c == '\'') return Quoted(c);
    if (std::isdigit(static_cast<unsigned char>(c))) {
      // Numbers, and durations (`10m`, `1h30m`): digits, dots and unit letters.
      while (i_ < s_.size() && (IsIdentChar(s_[i_]) || s_[i_] == '.')) ++i_;
      t.kind = Tok::kNumber;
      t.text = std::string(s_.substr(t.pos, i_ - t.pos));
      return t;
    }
    for (std::string_view op : {"!=", "<>", "<=", ">=", "=~", "!~", "::"}) {
      if (s_.substr(i_).starts_with(op)) {
        i_ += op.size();
        t.kind = Tok::kOp;
        t.text = std::string(op);
        return t;
      }
    }
    if (std::string_view("=<>(),;.*+-/%").find(c) != std::string_view::npos) {
      ++i_;
      t.kind = Tok::kOp;
      t.text = std::string(1, c);
      return t;
    }
    ++i_;
    t.kind = Tok::kIllegal;
    t.text = std::string(1, c);
    return t;
  }

 private:
  void SkipSpaceAndComments() {
    for (;;) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (s_.substr(i_).starts_with("--")) {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (s_.substr(i_).starts_with("/*")) {
        const size_t end = s_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 2;
      } else {
        return;
      }
    }
  }

  // "identifier" or 'string': a backslash escapes the quote and itself; no line breaks.
  Token Quoted(char quote) {
    Token t;
    t.pos = i_++;
    t.kind = quote == '"' ? Tok::kIdent : Tok::kString;
    t.quoted = quote == '"';
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == quote) return t;
      if (c == '\n') break;
      if (c == '\\' && i_ < s_.size() && (s_[i_] == quote || s_[i_] == '\\')) c = s_[i_++];
      t.text.push_back(c);
    }
    t.kind = Tok::kIllegal;  // unterminated
    t.text = quote == '"' ? "unterminated quoted identifier" : "unterminated string";
    return t;
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool IsKeyword(const Token& t, std::string_view kw) {
  return t.kind == Tok::kIdent && !t.quoted && t.text.size() == kw.size() &&
         std::equal(kw.begin(), kw.end(), t.text.begin(), [](char a, char b) {
           return a == std::toupper(static_cast<unsigned char>(b));
         });
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class Parser {
 public:
  explicit Parser(std::string_view q) : q_(q), lex_(q) { Advance(); }

  Result<std::vector<Statement>> All() {
    std::vector<Statement> out;
    for (;;) {
      while (tok_.kind == Tok::kOp && tok_.text == ";") Advance();
      if (tok_.kind == Tok::kEof) break;
      if (out.size() == kMaxStatements) {
        return Err(Status::InvalidArgument(
            fmt::format("a query may hold at most {} statements", kMaxStatements)));
      }
      SENSORDB_ASSIGN_OR_RETURN(Statement s, ParseStatement());
      out.push_back(std::move(s));
      if (tok_.kind != Tok::kEof && !(tok_.kind == Tok::kOp && tok_.text == ";")) {
        return Err(Unexpected(";"));
      }
    }
    if (out.empty()) return Err(Status::InvalidArgument("error parsing query: empty query"));
    return out;
  }

 private:
  void Advance() { tok_ = lex_.Next(); }

  std::string Where(size_t pos) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < q_.size(); ++i) {
      if (q_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return fmt::format("line {}, char {}", line, col);
  }

  std::string Found() const {
    switch (tok_.kind) {
      case Tok::kEof:
        return "EOF";
      case Tok::kString:
        return "'" + tok_.text + "'";
      case Tok::kIllegal:
        return tok_.text;
      default:
        return tok_.quoted ? "\"" + tok_.text + "\"" : tok_.text;
    }
  }

  Status Unexpected(std::string_view expected) const {
    return Status::InvalidArgument(fmt::format("error parsing query: found {}, expected {} at {}",
                                               Found(), expected, Where(tok_.pos)));
  }

  Status Unsupported(std::string_view what) const {
    return Status::NotSupported(fmt::format(
        "{} is not supported by sensordb's InfluxQL (at {}; docs/INFLUXQL.md lists what is)", what,
        Where(tok_.pos)));
  }

  bool Accept(std::string_view kw) {
    if (!IsKeyword(tok_, kw)) return false;
    Advance();
    return true;
  }

  bool AcceptOp(std::string_view op) {
    if (tok_.kind != Tok::kOp || tok_.text != op) return false;
    Advance();
    return true;
  }

  Status Expect(std::string_view kw) { return Accept(kw) ? Status::Ok() : Unexpected(kw); }

  Status ExpectOp(std::string_view op) { return AcceptOp(op) ? Status::Ok() : Unexpected(op); }

  Result<std::string> Identifier() {
    if (tok_.kind != Tok::kIdent) return Err(Unexpected("identifier"));
    std::string s = std::move(tok_.text);
    Advance();
    return s;
  }

  // A name or a 'string' (WITH KEY = 'site' is accepted as InfluxDB does).
  Result<std::string> Name() {
    if (tok_.kind == Tok::kString) {
      std::string s = std::move(tok_.text);
      Advance();
      return s;
    }
    return Identifier();
  }

  Result<uint64_t> Unsigned() {
    uint64_t v = 0;
    const std::string& t = tok_.text;
    if (tok_.kind != Tok::kNumber ||
        std::from_chars(t.data(), t.data() + t.size(), v).ptr != t.data() + t.size()) {
      return Err(Unexpected("integer"));
    }
    Advance();
    return v;
  }

  // [db.][rp.]measurement: the last part names the measurement.
  Result<std::string> Measurement() {
    if (tok_.kind == Tok::kOp && tok_.text == "/") {
      return Err(Unsupported("a regular expression in FROM"));
    }
    SENSORDB_ASSIGN_OR_RETURN(std::string name, Identifier());
    for (int parts = 1; parts < 3 && AcceptOp("."); ++parts) {
      SENSORDB_ASSIGN_OR_RETURN(name, Identifier());
    }
    return name;
  }

  Result<Statement> ParseStatement() {
    if (Accept("SHOW")) return ParseShow();
    for (std::string_view kw : {"SELECT", "EXPLAIN"}) {
      if (IsKeyword(tok_, kw)) return Err(Unsupported(std::string(kw) + " (not yet)"));
    }
    for (std::string_view kw :
         {"CREATE", "DROP", "DELETE", "ALTER", "GRANT", "REVOKE", "KILL", "SET"}) {
      if (IsKeyword(tok_, kw)) {
        return Err(Unsupported(std::string(kw) +
                               " (projects, retention and access are managed with sensordb's "
                               "own CLI and API)"));
      }
    }
    return Err(
        Unexpected("SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL"));
  }

  Result<Statement> ParseShow() {
    using Kind = ShowStatement::Kind;
    ShowStatement s;
    if (Accept("DATABASES")) {
      s.kind = Kind::kDatabases;
      return s;
    }
    if (Accept("MEASUREMENTS")) {
      s.kind = Kind::kMeasurements;
    } else if (Accept("FIELD")) {
      SENSORDB_RETURN_IF_ERROR(Expect("KEYS"));
      s.kind = Kind::kFieldKeys;
    } else if (Accept("TAG")) {
      if (Accept("KEYS")) {
        s.kind = Kind::kTagKeys;
      } else if (Accept("VALUES")) {
        s.kind = Kind::kTagValues;
      } else {
        return Err(Unexpected("KEYS, VALUES"));
      }
    } else if (Accept("SERIES")) {
      s.kind = Kind::kSeries;
      if (IsKeyword(tok_, "CARDINALITY")) return Err(Unsupported("SHOW SERIES CARDINALITY"));
    } else if (Accept("RETENTION")) {
      SENSORDB_RETURN_IF_ERROR(Expect("POLICIES"));
      s.kind = Kind::kRetentionPolicies;
    } else {
      for (std::string_view kw : {"CONTINUOUS", "DIAGNOSTICS", "GRANTS", "QUERIES", "SHARD",
                                  "SHARDS", "STATS", "SUBSCRIPTIONS", "USERS", "MEASUREMENT"}) {
        if (IsKeyword(tok_, kw)) return Err(Unsupported("SHOW " + Upper(tok_.text)));
      }
      return Err(Unexpected(
          "DATABASES, MEASUREMENTS, FIELD KEYS, TAG KEYS, TAG VALUES, SERIES, RETENTION POLICIES"));
    }
    if (Accept("ON")) {
      SENSORDB_ASSIGN_OR_RETURN(s.on, Identifier());
    }
    if (s.kind == Kind::kRetentionPolicies) return s;
    if (s.kind != Kind::kMeasurements && Accept("FROM")) {
      SENSORDB_ASSIGN_OR_RETURN(s.from, Measurement());
    }
    if (s.kind == Kind::kMeasurements && Accept("WITH")) {
      SENSORDB_RETURN_IF_ERROR(Expect("MEASUREMENT"));
      if (tok_.kind == Tok::kOp && (tok_.text == "=~" || tok_.text == "!~")) {
        return Err(Unsupported("a regular expression in WITH MEASUREMENT"));
      }
      SENSORDB_RETURN_IF_ERROR(ExpectOp("="));
      SENSORDB_ASSIGN_OR_RETURN(s.measurement, Measurement());
    }
    if (s.kind == Kind::kTagValues) {
      SENSORDB_RETURN_IF_ERROR(Expect("WITH"));
      SENSORDB_RETURN_IF_ERROR(Expect("KEY"));
      if (AcceptOp("=")) {
        SENSORDB_ASSIGN_OR_RETURN(std::string key, Name());
        s.tag_keys.push_back(std::move(key));
      } else if (Accept("IN")) {
        SENSORDB_RETURN_IF_ERROR(ExpectOp("("));
        do {
          SENSORDB_ASSIGN_OR_RETURN(std::string key, Name());
          s.tag_keys.push_back(std::move(key));
        } while (AcceptOp(","));
        SENSORDB_RETURN_IF_ERROR(ExpectOp(")"));
      } else if (tok_.kind == Tok::kOp && (tok_.text == "=~" || tok_.text == "!~" ||
                                           tok_.text == "!=" || tok_.text == "<>")) {
        return Err(Unsupported("WITH KEY " + tok_.text));
      } else {
        return Err(Unexpected("=, IN"));
      }
    }
    if (IsKeyword(tok_, "WHERE"))
      return Err(Unsupported("WHERE in SHOW " + std::string(KindName(s.kind))));
    if (Accept("LIMIT")) {
      SENSORDB_ASSIGN_OR_RETURN(s.limit, Unsigned());
    }
    if (Accept("OFFSET")) {
      SENSORDB_ASSIGN_OR_RETURN(s.offset, Unsigned());
    }
    return s;
  }

  std::string_view q_;
  Lexer lex_;
  Token tok_;
};

}  // namespace

std::string_view KindName(ShowStatement::Kind kind) {
  using Kind = ShowStatement::Kind;
  switch (kind) {
    case Kind::kDatabases:
      return "DATABASES";
    case Kind::kMeasurements:
      return "MEASUREMENTS";
    case Kind::kFieldKeys:
      return "FIELD KEYS";
    case Kind::kTagKeys:
      return "TAG KEYS";
    case Kind::kTagValues:
      return "TAG VALUES";
    case Kind::kSeries:
      return "SERIES";
    case Kind::kRetentionPolicies:
      return "RETENTION POLICIES";
  }
  return "?";
}

Result<std::vector<Statement>> Parse(std::string_view q) {
  if (q.size() > kMaxQueryBytes) {
    return Err(Status::InvalidArgument(
        fmt::format("the query of {} bytes exceeds {} bytes", q.size(), kMaxQueryBytes)));
  }
  return Parser(q).All();
}

}  // namespace sensordb::server::rest::influxql
