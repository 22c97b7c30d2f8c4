#include "output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "sensordb/formats/text_values.h"

namespace sensordb::cli {

void AppendJsonString(std::string_view s, std::string* out) {
  *out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      *out += '\\';
      *out += ch;
    } else if (c < 0x20) {
      *out += fmt::format("\\u{:04x}", c);
    } else {
      *out += ch;
    }
  }
  *out += '"';
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

namespace {

// Rows the table writer holds back to size its columns before it starts streaming.
constexpr size_t kTableSizingRows = 256;

bool IsNumeric(const Cell& c) {
  return c.kind == Cell::Kind::kInt || c.kind == Cell::Kind::kUint || c.kind == Cell::Kind::kFloat;
}

std::string CellText(const Cell& c) {
  switch (c.kind) {
    case Cell::Kind::kText:
      return std::string(c.text);
    case Cell::Kind::kInt:
      return fmt::format("{}", c.i);
    case Cell::Kind::kUint:
      return fmt::format("{}", c.u);
    case Cell::Kind::kFloat:
      return FormatDouble(c.f);
    case Cell::Kind::kBool:
      return c.b ? "true" : "false";
    case Cell::Kind::kNull:
      return "";
  }
  return "";
}

Status WriteStatus(std::FILE* out) {
  if (std::fflush(out) != 0 || std::ferror(out)) {
    return Status::IOError(fmt::format("cannot write the output: {}", std::strerror(errno)));
  }
  return Status::Ok();
}

class CsvWriter : public RowWriter {
 public:
  CsvWriter(std::FILE* out, std::vector<std::string> columns) : out_(out) {
    std::vector<Cell> header;
    for (const auto& c : columns) header.push_back(Cell::Text(c));
    Row(header);
  }
  void Row(std::span<const Cell> cells) override {
    line_.clear();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) line_ += ',';
      formats::AppendCsvField(CellText(cells[i]), &line_);
    }
    line_ += '\n';
    std::fwrite(line_.data(), 1, line_.size(), out_);
  }
  Status Finish() override { return WriteStatus(out_); }

 private:
  std::FILE* out_;
  std::string line_;
};

class JsonWriter : public RowWriter {
 public:
  JsonWriter(std::FILE* out, std::vector<std::string> columns)
      : out_(out), columns_(std::move(columns)) {}
  void Row(std::span<const Cell> cells) override {
    line_.assign(rows_++ == 0 ? "[\n  {" : ",\n  {");
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) line_ += ", ";
      AppendJsonString(columns_[i], &line_);
      line_ += ": ";
      AppendValue(cells[i]);
    }
    line_ += '}';
    std::fwrite(line_.data(), 1, line_.size(), out_);
  }
  Status Finish() override {
    std::fputs(rows_ == 0 ? "[]\n" : "\n]\n", out_);
    return WriteStatus(out_);
  }

 private:
  void AppendValue(const Cell& c) {
    if (c.kind == Cell::Kind::kText) return AppendJsonString(c.text, &line_);
    if (c.kind == Cell::Kind::kNull) return void(line_ += "null");
    if (c.kind == Cell::Kind::kFloat && !std::isfinite(c.f)) {
      return AppendJsonString(FormatDouble(c.f), &line_);
    }
    line_ += CellText(c);
  }

  std::FILE* out_;
  std::vector<std::string> columns_;
  std::string line_;
  uint64_t rows_ = 0;
};

class TableWriter : public RowWriter {
 public:
  TableWriter(std::FILE* out, std::vector<std::string> columns)
      : out_(out), header_(std::move(columns)), widths_(header_.size()) {
    for (size_t i = 0; i < header_.size(); ++i) widths_[i] = header_[i].size();
  }
  void Row(std::span<const Cell> cells) override {
    std::vector<std::pair<std::string, bool>> row;
    for (const Cell& c : cells) row.emplace_back(CellText(c), IsNumeric(c));
    if (streaming_) return Print(row);
    for (size_t i = 0; i < row.size(); ++i) widths_[i] = std::max(widths_[i], row[i].first.size());
    pending_.push_back(std::move(row));
    if (pending_.size() >= kTableSizingRows) StartStreaming();
  }
  Status Finish() override {
    if (!streaming_) StartStreaming();
    return WriteStatus(out_);
  }

 private:
  void StartStreaming() {
    streaming_ = true;
    std::vector<std::pair<std::string, bool>> header, rule;
    for (size_t i = 0; i < header_.size(); ++i) {
      header.emplace_back(header_[i], false);
      rule.emplace_back(std::string(widths_[i], '-'), false);
    }
    Print(header);
    Print(rule);
    for (const auto& row : pending_) Print(row);
    pending_.clear();
  }
  void Print(const std::vector<std::pair<std::string, bool>>& row) {
    line_.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      const auto& [text, right] = row[i];
      const size_t pad = widths_[i] > text.size() ? widths_[i] - text.size() : 0;
      if (i > 0) line_ += "  ";
      if (right) line_.append(pad, ' ');
      line_ += text;
      if (!right && i + 1 < row.size()) line_.append(pad, ' ');
    }
    line_ += '\n';
    std::fwrite(line_.data(), 1, line_.size(), out_);
  }

  std::FILE* out_;
  std::vector<std::string> header_;
  std::vector<size_t> widths_;
  std::vector<std::vector<std::pair<std::string, bool>>> pending_;
  bool streaming_ = false;
  std::string line_;
};

}  // namespace

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text.empty()) return isatty(STDOUT_FILENO) ? OutputFormat::kTable : OutputFormat::kCsv;
  if (text == "table") return OutputFormat::kTable;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "json") return OutputFormat::kJson;
  return Err(Status::InvalidArgument(
      fmt::format("unknown output format '{}' (use table, csv or json)", text)));
}

Cell Cell::FromValue(const Value& v) {
  switch (v.type) {
    case ValueType::kFloat64:
      return Float(v.f64);
    case ValueType::kInt64:
      return Int(v.i64);
    case ValueType::kBool:
      return Bool(v.b);
  }
  return Null();
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::unique_ptr<RowWriter> RowWriter::Make(OutputFormat format, std::FILE* out,
                                           std::vector<std::string> columns) {
  switch (format) {
    case OutputFormat::kTable:
      return std::make_unique<TableWriter>(out, std::move(columns));
    case OutputFormat::kCsv:
      return std::make_unique<CsvWriter>(out, std::move(columns));
    case OutputFormat::kJson:
      return std::make_unique<JsonWriter>(out, std::move(columns));
  }
  return nullptr;
}

std::string PrintableText(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace sensordb::cli
