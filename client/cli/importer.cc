#include "importer.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "progress.h"
#include "sensordb/names.h"

namespace sensordb::cli {
namespace {

// getline(3) with one reused buffer; strips "\n" and "\r\n".
class LineReader {
 public:
  explicit LineReader(std::FILE* in) : in_(in) {}
  ~LineReader() { std::free(buf_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  bool Next(std::string_view* line) {
    const ssize_t n = getline(&buf_, &cap_, in_);
    if (n < 0) return false;
    bytes_ += static_cast<uint64_t>(n);
    size_t len = static_cast<size_t>(n);
    if (len > 0 && buf_[len - 1] == '\n') --len;
    if (len > 0 && buf_[len - 1] == '\r') --len;
    *line = std::string_view(buf_, len);
    return true;
  }
  uint64_t bytes() const { return bytes_; }
  bool failed() const { return std::ferror(in_) != 0; }

 private:
  std::FILE* in_;
  char* buf_ = nullptr;
  size_t cap_ = 0;
  uint64_t bytes_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != stdin) std::fclose(f);
  }
};

}  // namespace

Importer::Importer(DB& db, ImportOptions options)
    : db_(db),
      options_(std::move(options)),
      display_name_(options_.path == "-" ? "<stdin>" : options_.path),
      now_ns_(NowNanos()),
      lp_(options_.precision, now_ns_),
      csv_type_of_([this](std::string_view d, std::string_view c) { return CsvType(d, c); }),
      csv_(options_.precision, csv_type_of_) {
  if (options_.format == ImportFormat::kAuto) {
    if (options_.path.ends_with(".csv")) options_.format = ImportFormat::kCsv;
    if (options_.path.ends_with(".lp") || options_.path.ends_with(".line")) {
      options_.format = ImportFormat::kLineProtocol;
    }
  }
}

Status Importer::LoadChannelTypes() {
  SENSORDB_ASSIGN_OR_RETURN(auto channels, db_.ListChannels(options_.project));
  for (const ChannelInfo& c : channels) types_[c.device + '\0' + c.name] = c.type;
  return Status::Ok();
}

ValueType Importer::CsvType(std::string_view device, std::string_view channel) {
  if (options_.has_type) return options_.type;
  key_.assign(device).push_back('\0');
  key_.append(channel);
  auto it = types_.find(key_);
  return it == types_.end() ? ValueType::kFloat64 : it->second;
}

void Importer::DetectFormat(std::string_view first_line) {
  options_.format =
      CsvParser::LooksLikeHeader(first_line) ? ImportFormat::kCsv : ImportFormat::kLineProtocol;
}

Status Importer::AddPoint(std::string_view device, std::string_view channel, int64_t timestamp_ns,
                          const Value& value) {
  key_.assign(device).push_back('\0');
  key_.append(channel);
  auto [it, inserted] = types_.try_emplace(key_, value.type);
  if (inserted) {
    SENSORDB_RETURN_IF_ERROR(ValidateObjectName("device", device));
    SENSORDB_RETURN_IF_ERROR(ValidateObjectName("channel", channel));
  } else if (it->second != value.type) {
    return Status::InvalidArgument(fmt::format("channel {}/{} holds {} values, this one is {}",
                                               device, channel, ValueTypeName(it->second),
                                               ValueTypeName(value.type)));
  }
  ++points_;
  if (apply_) builder_.Add(key_, device, channel, timestamp_ns, value);
  return Status::Ok();
}

Status Importer::HandleLine(std::string_view line, bool first_data_line) {
  if (first_data_line && options_.format == ImportFormat::kAuto) DetectFormat(line);
  if (options_.format == ImportFormat::kCsv) {
    if (first_data_line) return csv_.ParseHeader(line);
    return csv_.ParseRow(line, [this](std::string_view d, std::string_view c, int64_t ts,
                                      const Value& v) { return AddPoint(d, c, ts, v); });
  }
  SENSORDB_RETURN_IF_ERROR(lp_.Parse(line, &lp_line_));
  for (size_t i = 0; i < lp_line_.field_count; ++i) {
    const formats::LpField& f = lp_line_.fields[i];
    SENSORDB_RETURN_IF_ERROR(AddPoint(lp_line_.device, f.channel, lp_line_.timestamp_ns, f.value));
  }
  if (lp_line_.tag_count > 0 && apply_) {  // the device's labels (docs/LABELS.md)
    const std::span tags(lp_line_.tags.data(), lp_line_.tag_count);
    auto [it, fresh] = last_run_.try_emplace(lp_line_.device, label_runs_.size());
    if (fresh || !std::ranges::equal(label_runs_[it->second].tags, tags)) {
      it->second = label_runs_.size();
      label_runs_.push_back({lp_line_.device, {tags.begin(), tags.end()}, {}});
    }
    label_runs_[it->second].times.push_back(lp_line_.timestamp_ns);
  }
  return Status::Ok();
}

Status Importer::FlushBatch() {
  if (builder_.points() == 0) return Status::Ok();
  builder_.Fill(&batch_);
  for (const LabelRun& run : label_runs_) batch_.SetLabels(run.device, run.times, run.tags);
  label_runs_.clear();
  last_run_.clear();
  Status s = db_.Write(options_.project, batch_);
  builder_.Clear();
  if (!s.ok()) {
    return Status(s.code(), fmt::format("{}: writing the batch from line {} failed: {}",
                                        display_name_, batch_first_line_, s.message()));
  }
  return Status::Ok();
}

Status Importer::RunPass(std::FILE* in, bool apply, uint64_t total_bytes) {
  apply_ = apply;
  points_ = 0;
  Progress progress(options_.progress, apply ? "importing" : "checking ", total_bytes);
  LineReader reader(in);
  std::string_view line;
  uint64_t line_no = 0;
  bool first = true;
  batch_first_line_ = 1;
  while (reader.Next(&line)) {
    ++line_no;
    if (formats::LineProtocolParser::IsSkippable(line)) continue;
    if (Status s = HandleLine(line, first); !s.ok()) {
      return Status(s.code(), fmt::format("{}:{}: {}", display_name_, line_no, s.message()));
    }
    first = false;
    if (apply && builder_.points() >= options_.batch_points) {
      SENSORDB_RETURN_IF_ERROR(FlushBatch());
      batch_first_line_ = line_no + 1;
    }
    progress.Update(line_no, points_, reader.bytes());
  }
  if (reader.failed()) {
    return Status::IOError(fmt::format("cannot read {}: {}", display_name_, std::strerror(errno)));
  }
  if (first && options_.format == ImportFormat::kCsv) {
    return Status::InvalidArgument(fmt::format("{}: no CSV header", display_name_));
  }
  return apply ? FlushBatch() : Status::Ok();
}

Result<ImportSummary> Importer::Run() {
  const auto start = std::chrono::steady_clock::now();
  ImportSummary summary;
  auto project = db_.GetProject(options_.project);
  if (!project && project.error().code() != StatusCode::kNotFound) return Err(project.error());
  if (project) SENSORDB_RETURN_IF_ERROR(LoadChannelTypes());

  std::unique_ptr<std::FILE, FileCloser> in(
      options_.path == "-" ? stdin : std::fopen(options_.path.c_str(), "rb"));
  if (!in) {
    return Err(
        Status::IOError(fmt::format("cannot open '{}': {}", options_.path, std::strerror(errno))));
  }
  struct stat st {};
  const bool seekable = fstat(fileno(in.get()), &st) == 0 && S_ISREG(st.st_mode);
  const uint64_t total_bytes = seekable ? static_cast<uint64_t>(st.st_size) : 0;
  if (seekable) {
    const ImportFormat requested = options_.format;
    SENSORDB_RETURN_IF_ERROR(RunPass(in.get(), /*apply=*/false, total_bytes));
    options_.format = requested;
    std::rewind(in.get());
  }
  if (!project) {
    auto created = db_.CreateProject(options_.project);
    SENSORDB_RETURN_IF_ERROR(created);
    summary.created_project = true;
  }
  SENSORDB_RETURN_IF_ERROR(RunPass(in.get(), /*apply=*/true, total_bytes));
  summary.points = points_;
  summary.series = builder_.series_count();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace sensordb::cli
