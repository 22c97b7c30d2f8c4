#include "net/metrics.h"

#include <cstdio>

#include "devices/device_registry.h"
#include "firmware/firmware_store.h"
#include "mqtt/packet.h"
#include "net/client_listener.h"
#include "sensordb/protocol/frame.h"

namespace sensordb::server {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// Appends "# HELP" and "# TYPE" lines.
void Header(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  char buf[64];
  // Integers print exactly up to 2^53; the rest with enough digits to round-trip.
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(buf).append("\n");
}

// One metric without labels: its header and its sample.
void Single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            double value) {
  Header(out, name, type, help);
  Sample(out, name, "", value);
}

std::string Label(std::string_view key, std::string_view value) {
  // Values here are fixed names and numbers; escape anyway.
  std::string s(key);
  s += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') s += '\\';
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    s += c;
  }
  s += '"';
  return s;
}

}  // namespace

std::string_view ConnectionEndName(ConnectionEnd end) {
  switch (end) {
    case ConnectionEnd::kTlsHandshakeFailed: return "tls-handshake-failed";
    case ConnectionEnd::kHandshakeTimeout: return "handshake-timeout";
    case ConnectionEnd::kIdleTimeout: return "idle-timeout";
    case ConnectionEnd::kBadFrame: return "bad-frame";
    case ConnectionEnd::kProtocolViolation: return "protocol-violation";
    case ConnectionEnd::kSlowReader: return "slow-reader";
    case ConnectionEnd::kDeviceRefused: return "device-refused";
    case ConnectionEnd::kDeviceRevoked: return "device-revoked";
    case ConnectionEnd::kPreAuthEvicted: return "preauth-evicted";
  }
  return "unknown";
}

void ServerMetrics::RecordRequest(uint8_t type, const RequestOutcome& outcome, size_t frame_bytes,
                                  double seconds) {
  const size_t t = type < kTypes ? type : 0;
  requests_[t].fetch_add(1, kRelaxed);
  Histogram& h = latency_[t];
  size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  if (b < kLatencyBuckets.size()) h.buckets[b].fetch_add(1, kRelaxed);
  h.count.fetch_add(1, kRelaxed);
  h.sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), kRelaxed);
  const size_t code = static_cast<size_t>(outcome.code);
  if (outcome.code != StatusCode::kOk && code < errors_.size()) errors_[code].fetch_add(1, kRelaxed);
  if (outcome.code == StatusCode::kNoSpace) RecordWriteError(Status::NoSpace("a write"));
  if (outcome.points_written != 0) {
    points_written_.fetch_add(outcome.points_written, kRelaxed);
    write_bytes_.fetch_add(frame_bytes, kRelaxed);
  }
  rows_returned_.fetch_add(outcome.rows_returned, kRelaxed);
  if (outcome.firmware_bytes != 0) firmware_bytes_.fetch_add(outcome.firmware_bytes, kRelaxed);
  if (outcome.firmware_step != 0 && outcome.firmware_step < firmware_reports_.size()) {
    firmware_reports_[outcome.firmware_step].fetch_add(1, kRelaxed);
  }
}

void ServerMetrics::RecordMqtt(uint8_t type, const RequestOutcome& outcome, size_t packet_bytes,
                               double seconds) {
  mqtt_packets_[type & 15].fetch_add(1, kRelaxed);
  (void)seconds;
  const size_t code = static_cast<size_t>(outcome.code);
  if (outcome.code != StatusCode::kOk && code < errors_.size()) errors_[code].fetch_add(1, kRelaxed);
  if (outcome.code == StatusCode::kNoSpace) RecordWriteError(Status::NoSpace("a write"));
  if (outcome.points_written != 0) {
    points_written_.fetch_add(outcome.points_written, kRelaxed);
    write_bytes_.fetch_add(packet_bytes, kRelaxed);
  }
}

void ServerMetrics::RecordRestResponse(unsigned http_status, double seconds) {
  const size_t cls = http_status >= 100 && http_status < 600 ? http_status / 100 : 0;
  rest_responses_[cls].fetch_add(1, kRelaxed);
  size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  if (b < kLatencyBuckets.size()) rest_latency_.buckets[b].fetch_add(1, kRelaxed);
  rest_latency_.count.fetch_add(1, kRelaxed);
  rest_latency_.sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), kRelaxed);
}

void ServerMetrics::RecordWriteError(const Status& status) {
  if (status.code() != StatusCode::kNoSpace) return;
  no_space_writes_.fetch_add(1, kRelaxed);
  // An operator must free space; one line per interval says so without flooding the log.
  constexpr int64_t kLogIntervalNs = 10'000'000'000;
  const int64_t now = WallClockNs();
  int64_t last = no_space_logged_ns_.load(kRelaxed);
  if (now - last >= kLogIntervalNs && no_space_logged_ns_.compare_exchange_strong(last, now)) {
    std::fprintf(stderr,
                 "sensordbd: error: writes refused, the data disk is full (%llu so far); free "
                 "space: the server resumes by itself\n",
                 static_cast<unsigned long long>(no_space_writes_.load(kRelaxed)));
  }
}

void ServerMetrics::RecordConnectionEnd(ConnectionEnd end) {
  ends_[static_cast<size_t>(end)].fetch_add(1, kRelaxed);
}

// `name`_bucket (cumulative, le), _sum and _count of one histogram; `labels` may be empty.
void ServerMetrics::RenderHistogram(std::string& out, std::string_view name,
                                    const std::string& labels, const Histogram& h) {
  const std::string sep = labels.empty() ? "" : ",";
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    cumulative += h.buckets[b].load(kRelaxed);
    char le[32];
    std::snprintf(le, sizeof le, "%g", kLatencyBuckets[b]);
    Sample(out, bucket, labels + sep + Label("le", le), double(cumulative));
  }
  const uint64_t count = h.count.load(kRelaxed);
  Sample(out, bucket, labels + sep + Label("le", "+Inf"), double(count));
  Sample(out, std::string(name) + "_sum", labels, double(h.sum_ns.load(kRelaxed)) / 1e9);
  Sample(out, std::string(name) + "_count", labels, double(count));
}

std::string ServerMetrics::Render(const Sources& src) const {
  std::string out;
  out.reserve(16 * 1024);

  Header(out, "sensordb_uptime_seconds", "gauge", "Seconds since the server started.");
  Sample(out, "sensordb_uptime_seconds", "", src.uptime_s);

  Header(out, "sensordb_ingest_points_total", "counter",
         "Points acknowledged to writes (native protocol, device streams, MQTT, REST).");
  Sample(out, "sensordb_ingest_points_total", "", double(points_written_.load(kRelaxed)));
  Header(out, "sensordb_ingest_bytes_total", "counter",
         "Bytes of the acknowledged writes as received (frames, MQTT packets, REST bodies).");
  Sample(out, "sensordb_ingest_bytes_total", "", double(write_bytes_.load(kRelaxed)));
  Header(out, "sensordb_query_rows_total", "counter",
         "Points, latest values and aggregate rows returned by queries.");
  Sample(out, "sensordb_query_rows_total", "", double(rows_returned_.load(kRelaxed)));

  Header(out, "sensordb_write_errors_total", "counter",
         "Writes the database refused on every listener, by reason (no_space: the disk is full).");
  Sample(out, "sensordb_write_errors_total", Label("reason", "no_space"),
         double(no_space_writes_.load(kRelaxed)));
  Header(out, "sensordb_requests_total", "counter", "Requests handled, by message type.");
  for (size_t t = 0; t < kTypes; ++t) {
    const uint64_t n = requests_[t].load(kRelaxed);
    if (n == 0) continue;
    const std::string type = protocol::MessageName(static_cast<wire::Message>(t));
    Sample(out, "sensordb_requests_total", Label("type", type), double(n));
  }
  Header(out, "sensordb_mqtt_packets_total", "counter", "MQTT packets from devices, by type.");
  for (size_t t = 1; t < mqtt_packets_.size(); ++t) {
    const uint64_t n = mqtt_packets_[t].load(kRelaxed);
    if (n == 0) continue;
    Sample(out, "sensordb_mqtt_packets_total", Label("type", mqtt::PacketTypeName(uint8_t(t))),
           double(n));
  }
  Header(out, "sensordb_request_duration_seconds", "histogram",
         "Time from a request's start on a worker to its last reply frame handed to the "
         "connection, by message type.");
  for (size_t t = 0; t < kTypes; ++t) {
    if (latency_[t].count.load(kRelaxed) == 0) continue;
    RenderHistogram(out, "sensordb_request_duration_seconds",
                    Label("type", protocol::MessageName(static_cast<wire::Message>(t))),
                    latency_[t]);
  }
  Header(out, "sensordb_request_errors_total", "counter",
         "Requests answered with an Error, by status code.");
  for (size_t c = 1; c < errors_.size(); ++c) {
    const uint64_t n = errors_[c].load(kRelaxed);
    if (n == 0) continue;
    Sample(out, "sensordb_request_errors_total",
           Label("code", StatusCodeName(static_cast<StatusCode>(c))), double(n));
  }

  // Refusals: every way a peer is turned away, in one family.
  Header(out, "sensordb_refusals_total", "counter",
         "Connections and requests refused, by reason (authentication reasons come from the "
         "authenticator, connection reasons from the listener).");
  if (src.auth != nullptr) {
    for (size_t r = 0; r < kRefusalReasonCount; ++r) {
      Sample(out, "sensordb_refusals_total",
             Label("reason", RefusalReasonName(static_cast<RefusalReason>(r))),
             double(src.auth->refusals[r]));
    }
  }
  for (size_t e = 0; e < kConnectionEndCount; ++e) {
    Sample(out, "sensordb_refusals_total",
           Label("reason", ConnectionEndName(static_cast<ConnectionEnd>(e))),
           double(ends_[e].load(kRelaxed)));
  }
  Sample(out, "sensordb_refusals_total", Label("reason", "permission-denied"),
         double(errors_[size_t(StatusCode::kPermissionDenied)].load(kRelaxed)));
  Sample(out, "sensordb_refusals_total", Label("reason", "rate-limited"),
         double(errors_[size_t(StatusCode::kRateLimited)].load(kRelaxed)));
  Sample(out, "sensordb_refusals_total", Label("reason", "metrics-unauthenticated"),
         double(metrics_refused_.load(kRelaxed)));
  static constexpr std::array<std::string_view, kRestRefusalCount> kRestRefusalNames = {
      "rest-unauthenticated", "rest-rate-limited", "rest-too-large",
      "rest-malformed",       "rest-timeout",      "rest-connection-cap"};
  for (size_t r = 0; r < kRestRefusalCount; ++r) {
    Sample(out, "sensordb_refusals_total", Label("reason", kRestRefusalNames[r]),
           double(rest_refused_[r].load(kRelaxed)));
  }
  if (src.listener != nullptr) {
    Sample(out, "sensordb_refusals_total", Label("reason", "connection-cap-total"),
           double(src.listener->refused_total_cap));
    Sample(out, "sensordb_refusals_total", Label("reason", "connection-cap-address"),
           double(src.listener->refused_address_cap));
    Sample(out, "sensordb_refusals_total", Label("reason", "preauth-cap"),
           double(src.listener->refused_preauth_cap));
    Sample(out, "sensordb_refusals_total", Label("reason", "preauth-cap-address"),
           double(src.listener->refused_preauth_address_cap));
    Sample(out, "sensordb_refusals_total", Label("reason", "preauth-evicted"),
           double(src.listener->evicted_preauth));
    Header(out, "sensordb_accept_backoffs_total", "counter",
           "Times the native and device listeners paused accepting: out of descriptors or memory.");
    Sample(out, "sensordb_accept_backoffs_total", "", double(src.listener->accept_backoffs));
    Header(out, "sensordb_connections_preauth", "gauge",
           "Native and device connections not yet authenticated.");
    Sample(out, "sensordb_connections_preauth", "", double(src.listener->preauth_active));
    Header(out, "sensordb_connections_active", "gauge", "Open native-protocol connections.");
    Sample(out, "sensordb_connections_active", "", double(src.listener->active));
    Header(out, "sensordb_connections_accepted_total", "counter",
           "Native-protocol connections accepted.");
    Sample(out, "sensordb_connections_accepted_total", "", double(src.listener->accepted));
  }
  if (src.auth != nullptr) {
    Header(out, "sensordb_logins_total", "counter", "Successful authentications.");
    Sample(out, "sensordb_logins_total", "", double(src.auth->successes));
  }

  if (src.backup) {
    const BackupScheduleStatus& b = *src.backup;
    Header(out, "sensordb_backup_last_success_timestamp_seconds", "gauge",
           "Unix time of the last successful scheduled backup (0: none yet).");
    Sample(out, "sensordb_backup_last_success_timestamp_seconds", "",
           double(b.last_success_unix_ns) / 1e9);
    Header(out, "sensordb_backup_last_failure_timestamp_seconds", "gauge",
           "Unix time of the last failed backup run (0: none).");
    Sample(out, "sensordb_backup_last_failure_timestamp_seconds", "",
           double(b.last_failure_unix_ns) / 1e9);
    Header(out, "sensordb_backup_next_due_timestamp_seconds", "gauge",
           "Unix time the next scheduled backup is due.");
    Sample(out, "sensordb_backup_next_due_timestamp_seconds", "", double(b.next_due_unix_ns) / 1e9);
    Header(out, "sensordb_backup_runs_total", "counter", "Backup runs.");
    Sample(out, "sensordb_backup_runs_total", "", double(b.runs));
    Header(out, "sensordb_backup_failures_total", "counter", "Failed backup runs.");
    Sample(out, "sensordb_backup_failures_total", "", double(b.failures));
    Header(out, "sensordb_backups_kept", "gauge", "Good backups in the backup directory.");
    Sample(out, "sensordb_backups_kept", "", double(b.backups_kept));
    Header(out, "sensordb_backup_bytes", "gauge", "Bytes of all distinct backup files.");
    Sample(out, "sensordb_backup_bytes", "", double(b.backup_bytes));
  }

  Header(out, "sensordb_firmware_bytes_served_total", "counter",
         "Firmware image bytes read by devices (docs/OTA.md).");
  Sample(out, "sensordb_firmware_bytes_served_total", "", double(firmware_bytes_.load(kRelaxed)));
  Header(out, "sensordb_firmware_reports_total", "counter",
         "Firmware reports from devices, by step.");
  for (uint8_t st = 1; st <= firmware::kMaxFirmwareStep; ++st) {
    Sample(out, "sensordb_firmware_reports_total",
           Label("step", firmware::FirmwareStepName(firmware::FirmwareStep(st))),
           double(firmware_reports_[st].load(kRelaxed)));
  }
  if (src.rollouts != nullptr) {
    Header(out, "sensordb_firmware_rollout_state", "gauge",
           "Each rollout not cancelled, by state (value 1).");
    Header(out, "sensordb_firmware_rollout_open_wave", "gauge",
           "The last open wave of each rollout (1-based).");
    Header(out, "sensordb_firmware_rollout_waves", "gauge", "Waves of each rollout.");
    Header(out, "sensordb_firmware_rollout_devices", "gauge",
           "Devices of each rollout by the step they last reported for its release (none: no "
           "report).");
    for (const RolloutStatus& r : *src.rollouts) {
      // By id, as the key metrics: the metrics account holds no role in the project.
      const std::string id = Label("project_id", std::to_string(r.project_id)) + "," +
                             Label("rollout", std::to_string(r.rollout));
      Sample(out, "sensordb_firmware_rollout_state",
             id + "," + Label("state", firmware::RolloutStateName(r.state)), 1);
      Sample(out, "sensordb_firmware_rollout_open_wave", id, double(r.open_wave + 1));
      Sample(out, "sensordb_firmware_rollout_waves", id, double(r.waves));
      for (uint8_t st = 0; st <= firmware::kMaxFirmwareStep; ++st) {
        const std::string_view step =
            st == 0 ? "none" : firmware::FirmwareStepName(firmware::FirmwareStep(st));
        Sample(out, "sensordb_firmware_rollout_devices", id + "," + Label("step", step),
               double(r.steps[st]));
      }
    }
  }

  if (src.keys != nullptr) {
    Header(out, "sensordb_master_key_info", "gauge",
           "The master key's public fingerprint and how it is derived (value 1).");
    Sample(out, "sensordb_master_key_info", Label("fingerprint", src.keys->master_key_fingerprint) +
                                                "," + Label("kdf", src.keys->kdf), 1);
    Header(out, "sensordb_project_key_version", "gauge",
           "The active data-key version of each project.");
    Header(out, "sensordb_project_key_versions_in_use", "gauge",
           "Data-key versions of a project still used by stored values (1 after a full "
           "re-encryption).");
    for (const ProjectKeyStatus& p : src.keys->projects) {
      uint32_t active = 0;
      size_t in_use = 0;
      for (const KeyVersionStatus& v : p.versions) {
        if (v.active) active = v.version;
        if (v.blocks + v.head_records + v.catalog_records + v.file_records != 0) ++in_use;
      }
      // By id: a metrics account holds no role in the project and must not learn its name.
      const std::string project = Label("project_id", std::to_string(p.project_id));
      Sample(out, "sensordb_project_key_version", project, active);
      Sample(out, "sensordb_project_key_versions_in_use", project, double(in_use));
    }
  }

  Header(out, "sensordb_rest_responses_total", "counter",
         "REST responses by HTTP status class (refusals before the work included).");
  static constexpr std::array<std::string_view, 6> kClasses = {"other", "1xx", "2xx",
                                                               "3xx",   "4xx", "5xx"};
  for (size_t c = 0; c < kClasses.size(); ++c) {
    Sample(out, "sensordb_rest_responses_total", Label("class", kClasses[c]),
           double(rest_responses_[c].load(kRelaxed)));
  }
  Header(out, "sensordb_rest_request_duration_seconds", "histogram",
         "Time spent answering REST requests (handler plus streaming).");
  RenderHistogram(out, "sensordb_rest_request_duration_seconds", "", rest_latency_);

  if (src.db != nullptr) {
    Header(out, "sensordb_projects", "gauge", "Projects.");
    Sample(out, "sensordb_projects", "", double(src.db->projects));
    Header(out, "sensordb_series", "gauge", "Series (device, channel) of all projects.");
    Sample(out, "sensordb_series", "", double(src.db->series));
    Header(out, "sensordb_stored_points", "gauge", "Points stored (blocks and head).");
    Sample(out, "sensordb_stored_points", "", double(src.db->points));
    Header(out, "sensordb_head_points", "gauge", "Points not sealed into blocks yet.");
    Sample(out, "sensordb_head_points", "", double(src.db->head_points));
    Header(out, "sensordb_head_checkpoints_total", "counter",
           "Head checkpoints (every chunk sealed, the head log emptied) since the start.");
    Sample(out, "sensordb_head_checkpoints_total", "", double(src.db->head_checkpoints));
    Header(out, "sensordb_head_chunk_bytes", "gauge", "Memory of the head's open chunks.");
    Sample(out, "sensordb_head_chunk_bytes", "", double(src.db->head_chunk_bytes));
    Header(
        out, "sensordb_head_memory_seals_total", "counter",
        "Times the head's open chunks passed storage.head_memory_mib and the largest were sealed.");
    Sample(out, "sensordb_head_memory_seals_total", "", double(src.db->head_memory_seals));
    Single(out, "sensordb_blocks_merged_total", "counter",
           "Short blocks merged into larger ones by compactions since the start.",
           double(src.db->blocks_merged));
    Single(out, "sensordb_blocks_grouped_total", "counter",
           "Short blocks put into block groups by compactions since the start.",
           double(src.db->blocks_grouped));
    Single(out, "sensordb_short_block_pass_errors_total", "counter",
           "Background merge-and-group passes that failed (a block that does not open; "
           "`sensordb compact` names it).",
           double(src.db->short_block_pass_errors));
    Header(out, "sensordb_disk_bytes", "gauge", "Bytes of the data directory.");
    Sample(out, "sensordb_disk_bytes", "", double(src.db->disk_bytes));
    Header(out, "sensordb_series_quota_refusals_total", "counter",
           "Write batches refused because they would pass a series quota (limits.max_series_*).");
    Sample(out, "sensordb_series_quota_refusals_total", Label("quota", "project"),
           double(src.db->quota_refusals_project));
    Sample(out, "sensordb_series_quota_refusals_total", Label("quota", "device"),
           double(src.db->quota_refusals_device));
    Sample(out, "sensordb_series_quota_refusals_total", Label("quota", "new_per_minute"),
           double(src.db->quota_refusals_rate));
    Single(out, "sensordb_label_refusals_total", "counter",
           "Writes and label changes refused because they would pass a label bound "
           "(limits.max_label_*, docs/LABELS.md).",
           double(src.db->label_refusals));
  }
  return out;
}

}  // namespace sensordb::server
