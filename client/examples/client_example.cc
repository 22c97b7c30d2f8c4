// sensordb-client-example: connects to sensordbd, writes an hour of temperatures for one device
// and prints their hourly aggregate. The token comes from a file or the SENSORDB_TOKEN
// environment variable, never from the command line (where `ps` would show it).
//
//   sensordb-client-example --ca-file /srv/sensordb/tls/ca.crt
//       --token-file /srv/sensordb/bootstrap-admin.token
//       [--host localhost] [--port 7070] [--project example]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sensordb/client/client.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "sensordb-client-example: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args{
      {"--host", "localhost"}, {"--port", "7070"}, {"--project", "example"}};
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (argc % 2 == 0 || args.count("--token") != 0) {
    return Fail(
        "usage: --ca-file FILE [--token-file FILE] [--host H] [--port P] [--project P]"
        " (the token comes from --token-file or SENSORDB_TOKEN)");
  }

  sensordb::client::ClientOptions options;
  options.host = args["--host"];
  options.port = static_cast<uint16_t>(std::atoi(args["--port"].c_str()));
  options.ca_file = args["--ca-file"];
  options.client_name = "sensordb-client-example/0.1.0";
  std::string token;
  if (!args["--token-file"].empty()) {
    std::ifstream(args["--token-file"]) >> token;
  } else if (const char* env = std::getenv("SENSORDB_TOKEN")) {
    token = env;
  }
  if (token.empty()) return Fail("no token: pass --token-file FILE or set SENSORDB_TOKEN");
  options.credentials = sensordb::client::Credentials::Token(std::move(token));

  auto client = sensordb::client::Client::Connect(options);
  if (!client) return Fail(client.error().ToString());
  std::printf("connected to %s as %s\n", (*client)->session().server_name.c_str(),
              (*client)->session().principal.c_str());

  const std::string project = args["--project"];
  if (auto created = (*client)->CreateProject(project); created) {
    std::printf("created project %s\n", project.c_str());
  } else if (created.error().code() != sensordb::StatusCode::kAlreadyExists) {
    return Fail(created.error().ToString());
  }

  // One point a minute for the last hour.
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  constexpr int64_t kMinute = 60 * sensordb::kNanosPerSecond;
  std::vector<int64_t> timestamps;
  std::vector<double> celsius;
  for (int i = 0; i < 60; ++i) {
    timestamps.push_back(now_ns - (60 - i) * kMinute);
    celsius.push_back(20.0 + 0.05 * i);
  }
  sensordb::WriteBatch batch;
  batch.AddFloat64("dl-17", "air/temp", timestamps, celsius);
  auto ack = (*client)->Write(project, batch);
  if (!ack) return Fail(ack.error().ToString());
  std::printf("wrote %llu points\n", static_cast<unsigned long long>(ack->points));

  sensordb::AggregateQuery query;
  query.selector = {"dl-17", "air/temp"};
  query.range = {now_ns - 2 * 60 * kMinute, now_ns};
  query.bucket_ns = 60 * kMinute;
  auto stats = (*client)->Aggregate(project, query, [](const sensordb::AggregateRow& row) {
    std::printf("hour starting %lld ns: %llu points, mean %.2f, min %.2f, max %.2f\n",
                static_cast<long long>(row.bucket_start_ns),
                static_cast<unsigned long long>(row.count), row.Get(sensordb::Aggregation::kMean),
                row.min, row.max);
    return true;
  });
  if (!stats) return Fail(stats.error().ToString());
  return 0;
}
