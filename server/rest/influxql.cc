#include "rest/influxql.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "sensordb/formats/text_values.h"

namespace sensordb::server::rest::influxql {
namespace {

enum class Tok : uint8_t { kEof, kIdent, kString, kNumber, kOp, kRegex, kIllegal };

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
    const bool after_match = after_match_;
    after_match_ = false;
    if (c == '/' && after_match) return Regex();
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
        after_match_ = op == "=~" || op == "!~";  // a /regex/ may follow
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

  // /regex/ after =~ or !~: `\/` is a slash, every other escape is the regex's own.
  Token Regex() {
    Token t;
    t.pos = i_++;
    t.kind = Tok::kRegex;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '/') return t;
      if (c == '\n') break;
      if (c == '\\' && i_ < s_.size() && s_[i_] == '/') {
        t.text.push_back('/');
        ++i_;
        continue;
      }
      t.text.push_back(c);
    }
    t.kind = Tok::kIllegal;
    t.text = "unterminated regex";
    return t;
  }

  std::string_view s_;
  size_t i_ = 0;
  bool after_match_ = false;
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
  Parser(std::string_view q, int64_t now_ns) : q_(q), lex_(q), now_ns_(now_ns) { Advance(); }

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

  // `=~ /re/` or `!~ /re/`, the current token being the operator: (pattern, keep on match).
  Result<std::pair<std::string, bool>> Pattern() {
    const bool keep = tok_.text == "=~";
    Advance();
    if (tok_.kind != Tok::kRegex) return Err(Unexpected("regex"));
    std::pair<std::string, bool> out{tok_.text, keep};
    Advance();
    return out;
  }

  Result<std::vector<LabelFilter>> TagConditions() {
    SENSORDB_ASSIGN_OR_RETURN(Conditions c, OrExpr(0));
    if (!c.times.empty()) {
      return Err(Status::InvalidArgument(
          "time conditions do not belong in 'where' (use the start and end parameters)"));
    }
    if (tok_.kind != Tok::kEof) return Err(Unexpected("AND, OR or the end"));
    return std::move(c.tags);
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
      case Tok::kRegex:
        return "/" + tok_.text + "/";
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
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (tok_.kind != Tok::kNumber || ec != std::errc() || end != t.data() + t.size()) {
      return Err(Unexpected("integer"));
    }
    Advance();
    return v;
  }

  // [db.][rp.]measurement: the last part names the measurement; `db`, when given, receives
  // the database of a three-part name.
  Result<std::string> Measurement(std::string* db = nullptr) {
    if (tok_.kind == Tok::kOp && tok_.text == "/") {
      return Err(Unsupported("a regular expression in FROM"));
    }
    std::vector<std::string> parts;
    do {
      SENSORDB_ASSIGN_OR_RETURN(std::string part, Identifier());
      parts.push_back(std::move(part));
    } while (parts.size() < 3 && AcceptOp("."));
    if (parts.size() == 3 && db != nullptr) *db = parts.front();
    return std::move(parts.back());
  }

  Result<Statement> ParseStatement() {
    if (Accept("SHOW")) return ParseShow();
    if (Accept("SELECT")) return ParseSelect();
    if (IsKeyword(tok_, "EXPLAIN")) return Err(Unsupported("EXPLAIN"));
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
        SENSORDB_ASSIGN_OR_RETURN(s.measurement_pattern, Pattern());
      } else {
        SENSORDB_RETURN_IF_ERROR(ExpectOp("="));
        SENSORDB_ASSIGN_OR_RETURN(s.measurement, Measurement());
      }
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
      } else if (tok_.kind == Tok::kOp && (tok_.text == "=~" || tok_.text == "!~")) {
        SENSORDB_ASSIGN_OR_RETURN(s.key_pattern, Pattern());
      } else if (tok_.kind == Tok::kOp && (tok_.text == "!=" || tok_.text == "<>")) {
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

  // --- SELECT -----------------------------------------------------------------------------

  static constexpr int kMaxDepth = 8;  // parentheses in WHERE

  bool IsOp(std::string_view op) const { return tok_.kind == Tok::kOp && tok_.text == op; }

  Result<Statement> ParseSelect() {
    SelectStatement s;
    do {
      SENSORDB_ASSIGN_OR_RETURN(auto field, Field());
      if (field) s.fields.push_back(std::move(*field));
    } while (AcceptOp(","));
    if (s.fields.empty()) return Err(Unexpected("a field or a function"));
    if (s.fields.size() > kMaxSelectFields) {
      return Err(Status::InvalidArgument(
          fmt::format("a SELECT may name at most {} fields", kMaxSelectFields)));
    }
    const bool aggregates = s.Aggregates();
    for (const SelectField& f : s.fields) {
      if (f.function.empty() == aggregates) {
        return Err(
            Status::InvalidArgument("mixing aggregate and non-aggregate queries is not supported"));
      }
    }
    SENSORDB_RETURN_IF_ERROR(Expect("FROM"));
    SENSORDB_ASSIGN_OR_RETURN(s.measurement, Measurement(&s.on));
    if (IsOp(",")) return Err(Unsupported("more than one measurement in FROM"));
    if (Accept("WHERE")) SENSORDB_RETURN_IF_ERROR(WhereClause(&s));
    if (Accept("GROUP")) {
      SENSORDB_RETURN_IF_ERROR(Expect("BY"));
      SENSORDB_RETURN_IF_ERROR(GroupBy(&s));
    }
    if (s.interval_ns != 0 && !aggregates) {
      return Err(Status::InvalidArgument("GROUP BY requires at least one aggregate function"));
    }
    if (Accept("FILL")) SENSORDB_RETURN_IF_ERROR(Fill(&s));
    if (Accept("ORDER")) {
      SENSORDB_RETURN_IF_ERROR(Expect("BY"));
      if (!IsKeyword(tok_, "TIME")) return Err(Unsupported("ORDER BY other than time"));
      Advance();
      if (Accept("DESC")) {
        s.descending = true;
      } else {
        Accept("ASC");
      }
    }
    if (Accept("LIMIT")) {
      SENSORDB_ASSIGN_OR_RETURN(s.limit, Unsigned());
    }
    if (IsKeyword(tok_, "OFFSET")) return Err(Unsupported("OFFSET in SELECT"));
    if (Accept("SLIMIT")) {
      SENSORDB_ASSIGN_OR_RETURN(s.slimit, Unsigned());
    }
    for (std::string_view kw : {"SOFFSET", "TZ", "INTO"}) {
      if (IsKeyword(tok_, kw)) return Err(Unsupported(Upper(tok_.text)));
    }
    if (aggregates && s.interval_ns != 0 && s.start_ns == std::numeric_limits<int64_t>::min()) {
      return Err(Status::InvalidArgument(
          "aggregate functions with GROUP BY time require a WHERE time clause with a lower "
          "limit"));
    }
    return s;
  }

  // One item of the SELECT list; nullopt for `time`, which every answer has anyway.
  Result<std::optional<SelectField>> Field() {
    SelectField f;
    if (AcceptOp("*")) {
      f.field = "*";
    } else {
      if (tok_.kind != Tok::kIdent) return Err(Unexpected("a field or a function"));
      Token name = tok_;
      Advance();
      if (!name.quoted && AcceptOp("(")) {
        std::string fn = name.text;
        for (char& c : fn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        static constexpr std::string_view kFunctions[] = {"count",  "sum",       "mean", "min",
                                                          "max",    "first",     "last", "spread",
                                                          "median", "percentile"};
        if (std::find(std::begin(kFunctions), std::end(kFunctions), fn) == std::end(kFunctions)) {
          return Err(Unsupported("the function " + fn + "()"));
        }
        if (IsOp("*") || IsOp("/")) return Err(Unsupported(fn + "() of a wildcard or a regex"));
        SENSORDB_ASSIGN_OR_RETURN(f.field, Identifier());
        if (fn == "percentile") {
          SENSORDB_RETURN_IF_ERROR(ExpectOp(","));
          if (tok_.kind != Tok::kNumber) return Err(Unexpected("a number"));
          const char* end = tok_.text.data() + tok_.text.size();
          const auto [ptr, ec] = std::from_chars(tok_.text.data(), end, f.percentile);
          if (ec != std::errc() || ptr != end || !(f.percentile >= 0 && f.percentile <= 100)) {
            return Err(Status::InvalidArgument(fmt::format(
                "error parsing query: percentile must be a number from 0 to 100, not {} at {}",
                tok_.text, Where(tok_.pos))));
          }
          Advance();
        }
        if (IsOp(",")) return Err(Unsupported(fn + "() with more than one argument"));
        SENSORDB_RETURN_IF_ERROR(ExpectOp(")"));
        f.function = std::move(fn);
      } else {
        f.field = std::move(name.text);
      }
    }
    if (IsOp("::")) return Err(Unsupported("a type cast (::)"));
    for (std::string_view op : {"+", "-", "*", "/", "%"}) {
      if (IsOp(op)) return Err(Unsupported("arithmetic in SELECT"));
    }
    if (Accept("AS")) {
      SENSORDB_ASSIGN_OR_RETURN(f.alias, Identifier());
    }
    if (f.function.empty() && f.alias.empty() && Upper(f.field) == "TIME") {
      return std::optional<SelectField>();
    }
    return std::optional<SelectField>(std::move(f));
  }

  // WHERE: conditions on time and on tags, combined with AND, OR and parentheses. Time bounds
  // are taken from the top-level AND only (under an OR they would not be a range).
  struct TimeBound {
    std::string op;
    int64_t t = 0;
  };
  struct Conditions {
    std::vector<TimeBound> times;
    std::vector<LabelFilter> tags;  // all must hold
  };

  Status WhereClause(SelectStatement* s) {
    SENSORDB_ASSIGN_OR_RETURN(Conditions c, OrExpr(0));
    for (const TimeBound& b : c.times) {
      const int64_t after = b.t == std::numeric_limits<int64_t>::max() ? b.t : b.t + 1;
      if (b.op == ">=" || b.op == "=") s->start_ns = std::max(s->start_ns, b.t);
      if (b.op == ">") s->start_ns = std::max(s->start_ns, after);
      if (b.op == "<") s->end_ns = std::min(s->end_ns, b.t);
      if (b.op == "<=" || b.op == "=") s->end_ns = std::min(s->end_ns, after);
    }
    for (LabelFilter& f : c.tags) {
      // device = '...' selects the device directly (the engine reads no other).
      if (f.op == LabelFilter::Op::kEq && f.key == "device") {
        if (s->device && *s->device != f.value) {
          s->start_ns = s->end_ns = 0;  // two devices ANDed: nothing matches
        }
        s->device = f.value;
        continue;
      }
      s->tags.push_back(std::move(f));
    }
    return Status::Ok();
  }

  Result<Conditions> OrExpr(int depth) {
    std::vector<Conditions> terms;
    do {
      SENSORDB_ASSIGN_OR_RETURN(Conditions c, AndExpr(depth));
      terms.push_back(std::move(c));
    } while (Accept("OR"));
    if (terms.size() == 1) return std::move(terms.front());
    LabelFilter any{LabelFilter::Op::kOr, "", "", {}};
    for (Conditions& c : terms) {
      if (!c.times.empty()) return Err(Unsupported("a time condition inside OR"));
      if (c.tags.size() == 1) {
        any.operands.push_back(std::move(c.tags.front()));
      } else {
        any.operands.push_back({LabelFilter::Op::kAnd, "", "", std::move(c.tags)});
      }
    }
    Conditions out;
    out.tags.push_back(std::move(any));
    return out;
  }

  Result<Conditions> AndExpr(int depth) {
    Conditions out;
    do {
      if (AcceptOp("(")) {
        if (depth == kMaxDepth) return Err(Unsupported("parentheses nested deeper than 8"));
        SENSORDB_ASSIGN_OR_RETURN(Conditions inner, OrExpr(depth + 1));
        SENSORDB_RETURN_IF_ERROR(ExpectOp(")"));
        for (auto& t : inner.times) out.times.push_back(std::move(t));
        for (auto& f : inner.tags) out.tags.push_back(std::move(f));
        continue;
      }
      SENSORDB_RETURN_IF_ERROR(Condition(&out));
    } while (Accept("AND"));
    return out;
  }

  Status Condition(Conditions* out) {
    if (tok_.kind != Tok::kIdent) return Unexpected("identifier");
    const Token lhs = tok_;
    Advance();
    if (tok_.kind != Tok::kOp) return Unexpected("=, !=, <>, <, <=, >, >=, =~, !~");
    const std::string op = tok_.text;
    if (Upper(lhs.text) == "TIME" && !lhs.quoted) {
      if (op != "=" && op != "<" && op != "<=" && op != ">" && op != ">=") {
        return Unsupported("time " + op);
      }
      Advance();
      SENSORDB_ASSIGN_OR_RETURN(const int64_t t, TimeValue());
      out->times.push_back({op, t});
      return Status::Ok();
    }
    using Op = LabelFilter::Op;
    Op kind;
    if (op == "=") {
      kind = Op::kEq;
    } else if (op == "!=" || op == "<>") {
      kind = Op::kNe;
    } else if (op == "=~") {
      kind = Op::kMatch;
    } else if (op == "!~") {
      kind = Op::kNoMatch;
    } else {
      return Unsupported("'" + op + "' on the tag '" + lhs.text + "' (tags compare as strings)");
    }
    Advance();
    const bool regex = kind == Op::kMatch || kind == Op::kNoMatch;
    if (regex && tok_.kind != Tok::kRegex) return Unexpected("regex");
    if (!regex && tok_.kind != Tok::kString) return Unexpected("string");
    out->tags.push_back({kind, lhs.text, tok_.text, {}});
    Advance();
    return Status::Ok();
  }

  // now() [± duration], 'RFC 3339', integer nanoseconds or an epoch duration (1700000000000ms),
  // each optionally followed by ± duration.
  Result<int64_t> TimeValue() {
    int64_t t = 0;
    if (IsKeyword(tok_, "NOW")) {
      Advance();
      SENSORDB_RETURN_IF_ERROR(ExpectOp("("));
      SENSORDB_RETURN_IF_ERROR(ExpectOp(")"));
      t = now_ns_;
    } else if (tok_.kind == Tok::kString) {
      auto parsed = formats::ParseRfc3339(tok_.text);
      if (!parsed) {
        return Err(Status::InvalidArgument(
            fmt::format("error parsing query: invalid time '{}' at {} (use RFC 3339)", tok_.text,
                        Where(tok_.pos))));
      }
      t = *parsed;
      Advance();
    } else if (tok_.kind == Tok::kNumber) {
      SENSORDB_ASSIGN_OR_RETURN(t, Duration());
    } else {
      return Err(Unexpected("now(), a time string or a number"));
    }
    while (IsOp("+") || IsOp("-")) {
      const bool minus = tok_.text == "-";
      Advance();
      SENSORDB_ASSIGN_OR_RETURN(const int64_t d, Duration());
      if (__builtin_add_overflow(t, minus ? -d : d, &t)) {
        return Err(Status::InvalidArgument("the time in WHERE is out of range"));
      }
    }
    return t;
  }

  // A number token as nanoseconds: bare digits, or digits with units (10m, 1h30m, 1500ms).
  Result<int64_t> Duration() {
    if (tok_.kind != Tok::kNumber) return Err(Unexpected("duration"));
    std::string text = tok_.text;
    int64_t bare = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), bare).ptr ==
        text.data() + text.size()) {
      Advance();  // integer nanoseconds, 0 included
      return bare;
    }
    if (text.ends_with("u")) text += "s";  // InfluxQL's microseconds
    auto ns = formats::ParseDuration(text);
    if (!ns) {
      return Err(Status::InvalidArgument(fmt::format(
          "error parsing query: invalid duration {} at {}", tok_.text, Where(tok_.pos))));
    }
    Advance();
    return *ns;
  }

  Status GroupBy(SelectStatement* s) {
    do {
      if (IsKeyword(tok_, "TIME")) {
        Advance();
        SENSORDB_RETURN_IF_ERROR(ExpectOp("("));
        SENSORDB_ASSIGN_OR_RETURN(s->interval_ns, Duration());
        if (s->interval_ns <= 0) return Unexpected("a positive duration");
        if (AcceptOp(",")) {
          const bool minus = AcceptOp("-");
          SENSORDB_ASSIGN_OR_RETURN(const int64_t offset, Duration());
          // As InfluxDB: the offset shifts the bucket boundaries; only its remainder by the
          // interval matters (time(1h, -15m) is time(1h, 45m)).
          s->offset_ns = offset % s->interval_ns;
          if (minus && s->offset_ns != 0) s->offset_ns = s->interval_ns - s->offset_ns;
        }
        SENSORDB_RETURN_IF_ERROR(ExpectOp(")"));
      } else if (AcceptOp("*")) {
        s->group_by_device = true;
        s->group_by_all = true;
      } else if (tok_.kind == Tok::kIdent && tok_.text == "device") {
        Advance();
        s->group_by_device = true;
      } else if (tok_.kind == Tok::kIdent) {
        if (std::find(s->group_by.begin(), s->group_by.end(), tok_.text) == s->group_by.end()) {
          s->group_by.push_back(tok_.text);
        }
        Advance();
      } else if (tok_.kind == Tok::kRegex || IsOp("/")) {
        return Unsupported("GROUP BY a regex");
      } else {
        return Unexpected("time(), a tag or *");
      }
    } while (AcceptOp(","));
    return Status::Ok();
  }

  Status Fill(SelectStatement* s) {
    using F = SelectStatement::Fill;
    SENSORDB_RETURN_IF_ERROR(ExpectOp("("));
    if (Accept("NULL")) {
      s->fill = F::kNull;
    } else if (Accept("NONE")) {
      s->fill = F::kNone;
    } else if (Accept("PREVIOUS")) {
      s->fill = F::kPrevious;
    } else if (Accept("LINEAR")) {
      s->fill = F::kLinear;
    } else {
      const bool minus = AcceptOp("-");
      double v = 0;
      const std::string& t = tok_.text;
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (tok_.kind != Tok::kNumber || ec != std::errc() || end != t.data() + t.size() ||
          std::abs(v) > 9e15) {  // integers stay exact, and count's fill fits an int64
        return Unexpected("null, none, previous, linear or a number up to 9e15");
      }
      Advance();
      s->fill = F::kValue;
      s->fill_value = minus ? -v : v;
    }
    return ExpectOp(")");
  }

  std::string_view q_;
  Lexer lex_;
  int64_t now_ns_;
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

Result<std::vector<Statement>> Parse(std::string_view q, int64_t now_ns) {
  if (q.size() > kMaxQueryBytes) {
    return Err(Status::InvalidArgument(
        fmt::format("the query of {} bytes exceeds {} bytes", q.size(), kMaxQueryBytes)));
  }
  return Parser(q, now_ns).All();
}

Result<std::vector<LabelFilter>> ParseTagConditions(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return Err(Status::InvalidArgument(
        fmt::format("the conditions of {} bytes exceed {} bytes", text.size(), kMaxQueryBytes)));
  }
  return Parser(text, 0).TagConditions();
}

}  // namespace sensordb::server::rest::influxql
