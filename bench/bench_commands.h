// Subcommands of sensordb-bench. Each returns the process exit code (0 ok, 1 error) and prints
// its own report and errors.
#pragma once

#include <string>

// Runs the column codecs over a file of `value` or `timestamp,value` lines (optional header) and
// prints bits/value, bytes/point and MB/s, also after a zstd stage; JSON with json = true.
int RunCodecCommand(const std::string& path, bool json);

// The engine end-to-end benchmark (bench/engine_command.cc).
int RunEngineCommand(int argc, char** argv);

// Full and incremental backup of a simulated fleet (bench/backup_command.cc).
int RunBackupCommand(int argc, char** argv);

// Ingest and queries over the native protocol against a running sensordbd
// (bench/server_command.cc).
int RunServerCommand(int argc, char** argv);

// Simulated dataloggers on the device listeners, native stream or MQTT, each with its own
// certificate (bench/fleet_command.cc).
int RunFleetCommand(int argc, char** argv);

// InfluxDB line protocol over HTTPS to the REST listener, keep-alive connections, durable acks
// (bench/rest_command.cc).
int RunRestCommand(int argc, char** argv);

// Acknowledged writes to a running sensordbd, logged once acknowledged, and their check by value
// after crashes (bench/acked_writes_command.cc; tests/kill9_test.sh, bench/kill9_loop.sh).
int RunAckedWritesCommand(int argc, char** argv);
