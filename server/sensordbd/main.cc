// sensordbd: `sensordbd init DIR [--port N]` prepares a server directory;
// `sensordbd --config FILE` runs the server until SIGTERM or SIGINT (docs/SERVER.md).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/client_listener.h"
#include "sensordb/db.h"
#include "sensordbd/init.h"

namespace {

using namespace sensordb;
using namespace sensordb::server;

constexpr const char* kUsage =
    "usage: sensordbd init DIR [--port N]   write a config, keys, certificates and a token\n"
    "       sensordbd --config FILE         run the server\n";

int Fail(const Status& s) {
  std::fprintf(stderr, "sensordbd: %s\n", s.ToString().c_str());
  return 1;
}

int Init(std::string_view dir, uint16_t port) {
  InitOptions options;
  options.port = port;
  auto report = InitServerDir(dir, options);
  if (!report) return Fail(report.error());
  std::printf("sensordbd init: created\n");
  for (const std::string& line : report->made) std::printf("  %s\n", line.c_str());
  std::printf("start the server with: sensordbd --config %s\n", report->config_file.c_str());
  std::printf("the bootstrap token is in %s: use it once to create accounts, then revoke it\n",
              report->token_file.c_str());
  return 0;
}

int Run(std::string_view config_file) {
  auto config = LoadConfig(config_file);
  if (!config) return Fail(config.error());
  if (Status s = CheckStartable(*config); !s.ok()) return Fail(s);

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Options options;
  options.create_if_missing = false;
  options.key.key_file = config->key_file;
  auto db = DB::Open(options, config->data_dir);
  if (!db) return Fail(db.error());
  auto auth = AuthService::Open((*db)->System(), AuthOptions{});
  if (!auth) return Fail(auth.error());
  auto listener = ClientListener::Start(*config, **db, **auth);
  if (!listener) return Fail(listener.error());
  std::fprintf(stderr, "sensordbd: serving the native protocol (TLS 1.3) on %s:%u\n",
               config->client.address.c_str(), unsigned((*listener)->port()));

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "sensordbd: %s: stopping (finishing requests in flight)\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*listener)->Stop();
  listener->reset();
  auth->reset();
  db->reset();  // closes the database
  std::fprintf(stderr, "sensordbd: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view cmd = argc > 1 ? argv[1] : "";
  if (cmd == "init" && (argc == 3 || (argc == 5 && std::string_view(argv[3]) == "--port"))) {
    const long port = argc == 5 ? std::strtol(argv[4], nullptr, 10) : 7070;
    if (port < 1 || port > 65535) {
      std::fprintf(stderr, "sensordbd: --port must be in [1, 65535]\n");
      return 2;
    }
    return Init(argv[2], static_cast<uint16_t>(port));
  }
  if (cmd == "--config" && argc == 3) return Run(argv[2]);
  std::fputs(argc == 1 ? "sensordbd: no configuration given (--config FILE); create one with "
                         "`sensordbd init DIR`\n"
                       : "sensordbd: bad arguments\n",
             stderr);
  std::fputs(kUsage, stderr);
  return 2;
}
