// sensordb-bench: the benchmark tool. `engine` runs the embedded end-to-end benchmark, `codec`
// the block codecs over a file, `backup` backups, `server` the native protocol against a running
// sensordbd, `acked-writes` the writer and checker of the kill -9 loop. See docs/BENCHMARKS.md.
#include <fmt/core.h>

#include <cstring>
#include <string>

#include "bench_commands.h"

int main(int argc, char** argv) {
  const char* usage =
      "usage: sensordb-bench engine [--devices D --channels C --points N --durability "
      "sync|async --threads T --json ...]\n"
      "       sensordb-bench codec FILE [--json]\n"
      "       sensordb-bench backup [--points N --new-points M --json]\n"
      "       sensordb-bench server --server HOST:PORT --ca-file F --token-file F [--points N "
      "--connections C --window W --server-pid P --json ...]\n"
      "       sensordb-bench fleet --server HOST:PORT --ca-file F --token-file F --protocol "
      "native|mqtt --device-port P | --mqtt-port P [--devices N --channels C --rate R "
      "--duration S --window W --idle --qos 0|1 --server-pid P --json ...]\n"
      "       sensordb-bench rest --server HOST:PORT --ca-file F --token-file F [--native-server "
      "HOST:PORT --points N --lines-per-request L --connections C --gzip --api v1|v2 "
      "--server-pid P --json ...]\n"
      "       sensordb-bench acked-writes write --server HOST:PORT --ca-file F --token-file F "
      "--log FILE --run N [--seconds S --devices D --channels C --points P --window W --json]\n"
      "       sensordb-bench acked-writes check --server HOST:PORT --ca-file F --token-file F "
      "--log FILE [--json]\n";
  if (argc < 2) return fmt::print(stderr, "{}", usage), 2;
  const std::string cmd = argv[1];
  if (cmd == "engine") return RunEngineCommand(argc - 1, argv + 1);
  if (cmd == "backup") return RunBackupCommand(argc - 1, argv + 1);
  if (cmd == "server") return RunServerCommand(argc - 1, argv + 1);
  if (cmd == "fleet") return RunFleetCommand(argc - 1, argv + 1);
  if (cmd == "rest") return RunRestCommand(argc - 1, argv + 1);
  if (cmd == "acked-writes") return RunAckedWritesCommand(argc - 1, argv + 1);
  if (cmd == "codec") {
    std::string file;
    bool json = false;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--json") == 0) {
        json = true;
      } else if (file.empty() && argv[i][0] != '-') {
        file = argv[i];
      } else {
        return fmt::print(stderr, "sensordb-bench codec: unexpected argument {}\n{}", argv[i],
                          usage), 2;
      }
    }
    if (file.empty()) return fmt::print(stderr, "{}", usage), 2;
    return RunCodecCommand(file, json);
  }
  if (cmd == "-h" || cmd == "--help") return fmt::print("{}", usage), 0;
  return fmt::print(stderr, "sensordb-bench: unknown command {}\n{}", cmd, usage), 2;
}
