// `sensordb firmware ...`: the offline half of signed firmware updates (docs/OTA.md), run by
// release managers on machines without network and without a data directory: keys, trust roots,
// manifests, signatures, and checks of what was signed. Files are the signed containers of
// protocol/firmware_format.md.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"
#include "firmware/release_key.h"
#include "output.h"
#include "sensordb/ota.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

using firmware::Hex;
using firmware::SignedFile;

struct FirmwareArgs {
  std::string file;
  std::string key_file;
  std::string out_file;
  std::string root_file;
  std::string image_file;
  std::string project;
  std::vector<std::string> key_pub_files;
  std::string freshness_pub_file;
  uint32_t threshold = 0;
  std::string expires = "365d";
  std::string model;
  std::string version;
  uint64_t security_version = 0;
  std::string notes;
  bool json = false;
};

Status Refused(const std::string& what, sdb_ota_result r) {
  return Status::InvalidArgument(what + ": " + sdb_ota_result_name(r));
}

int64_t NowSeconds() { return NowNanos() / 1'000'000'000; }

Result<int64_t> ExpiresAt(const std::string& text, int64_t now_s) {
  SENSORDB_ASSIGN_OR_RETURN(const int64_t ns, ParseDuration(text));
  return now_s + ns / 1'000'000'000;
}

// What kind of body a signed file holds, decoded.
struct Decoded {
  enum Kind { kRoot, kManifest, kFreshness } kind = kRoot;
  sdb_ota_root root{};
  sdb_ota_manifest manifest{};
  sdb_ota_freshness freshness{};
};

Result<Decoded> Decode(const std::string& path, const SignedFile& f) {
  Decoded d;
  if (sdb_ota_decode_root(f.body.data(), f.body.size(), &d.root) == SDB_OTA_OK) return d;
  d.kind = Decoded::kManifest;
  if (sdb_ota_decode_manifest(f.body.data(), f.body.size(), &d.manifest) == SDB_OTA_OK) return d;
  d.kind = Decoded::kFreshness;
  if (sdb_ota_decode_freshness(f.body.data(), f.body.size(), &d.freshness) == SDB_OTA_OK) return d;
  return std::unexpected(Status::InvalidArgument(
      path + " holds no root, manifest or freshness statement this version can read"));
}

Status ReadRoot(const std::string& path, SignedFile* file, sdb_ota_root* root) {
  SENSORDB_ASSIGN_OR_RETURN(*file, firmware::ReadSignedFile(path));
  SENSORDB_ASSIGN_OR_RETURN(const Decoded d, Decode(path, *file));
  if (d.kind != Decoded::kRoot) return Status::InvalidArgument(path + " is not a trust root");
  *root = d.root;
  return Status::Ok();
}

// The signed-container view of a file, for the agent's checks (pointers into `file`).
sdb_ota_signed View(const SignedFile& file) {
  sdb_ota_signed s{};
  s.body = file.body.data();
  s.body_len = file.body.size();
  for (const auto& [id, sig] : file.signatures) {
    if (s.signature_count == SDB_OTA_MAX_SIGNATURES) break;
    s.signatures[s.signature_count++] = {id.data(), sig.data()};
  }
  return s;
}

// A new, unsigned file: never over an existing one (a signed root is not replaced by accident).
Status Write(const std::string& path, std::vector<uint8_t> body) {
  SignedFile f;
  f.body = std::move(body);
  return firmware::WriteSignedFile(path, f, /*replace=*/false);
}

Status RunKeygen(const FirmwareArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const firmware::ReleaseKey key,
                            firmware::ReleaseKey::Create(args.key_file));
  fmt::print(
      "wrote a release key to {} (mode 0600; keep it offline) and its public half to "
      "{}.pub\nkey id {}\n",
      args.key_file, args.key_file, Hex(firmware::KeyIdOf(key.public_key())));
  return Status::Ok();
}

// The root that `trust init` (version 1) or `trust rotate` (from's version + 1) writes.
Result<sdb_ota_root> RootFromArgs(const FirmwareArgs& args, const std::string& project,
                                  uint64_t version) {
  sdb_ota_root r{};
  if (project.size() > SDB_OTA_MAX_NAME) {
    return std::unexpected(Status::InvalidArgument("project name too long"));
  }
  std::memcpy(r.project, project.data(), project.size());
  r.version = version;
  if (args.key_pub_files.size() > SDB_OTA_MAX_KEYS) {
    return std::unexpected(Status::InvalidArgument(
        fmt::format("at most {} release keys in a root", SDB_OTA_MAX_KEYS)));
  }
  for (const std::string& f : args.key_pub_files) {
    SENSORDB_ASSIGN_OR_RETURN(const firmware::PublicKey pk, firmware::ReadPublicKeyFile(f));
    std::memcpy(r.keys[r.key_count++], pk.data(), pk.size());
  }
  r.threshold = args.threshold;
  SENSORDB_ASSIGN_OR_RETURN(const firmware::PublicKey fresh,
                            firmware::ReadPublicKeyFile(args.freshness_pub_file));
  std::memcpy(r.freshness_key, fresh.data(), fresh.size());
  r.created_unix_s = NowSeconds();
  SENSORDB_ASSIGN_OR_RETURN(r.expires_unix_s, ExpiresAt(args.expires, r.created_unix_s));
  if (r.threshold == 0 || r.threshold > r.key_count) {
    return std::unexpected(Status::InvalidArgument(fmt::format(
        "--threshold must be between 1 and the number of --key files ({})", r.key_count)));
  }
  return r;
}

Result<std::vector<uint8_t>> EncodeRoot(const sdb_ota_root& r) {
  std::vector<uint8_t> body(4096);
  size_t len = 0;
  if (const sdb_ota_result e = sdb_ota_encode_root(&r, body.data(), body.size(), &len);
      e != SDB_OTA_OK) {
    return std::unexpected(Status::InvalidArgument(
        fmt::format("refused to write the root ({}): the project must be a project name, the "
                    "keys distinct and none of them the freshness key, expiry within {} days",
                    sdb_ota_result_name(e), SDB_OTA_MAX_ROOT_DAYS)));
  }
  body.resize(len);
  return body;
}

Status RunTrustInit(const FirmwareArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root r, RootFromArgs(args, args.project, 1));
  SENSORDB_ASSIGN_OR_RETURN(std::vector<uint8_t> body, EncodeRoot(r));
  SENSORDB_RETURN_IF_ERROR(Write(args.out_file, std::move(body)));
  fmt::print(
      "wrote trust root version 1 of project '{}' ({} of {} keys) to {}: unsigned; {} "
      "of its keys sign it with `sensordb firmware sign`\n",
      r.project, r.threshold, r.key_count, args.out_file, r.threshold);
  return Status::Ok();
}

Status RunTrustRotate(const FirmwareArgs& args) {
  SignedFile from_file;
  sdb_ota_root from;
  SENSORDB_RETURN_IF_ERROR(ReadRoot(args.root_file, &from_file, &from));
  SENSORDB_ASSIGN_OR_RETURN(const sdb_ota_root r,
                            RootFromArgs(args, from.project, from.version + 1));
  SENSORDB_ASSIGN_OR_RETURN(std::vector<uint8_t> body, EncodeRoot(r));
  SENSORDB_RETURN_IF_ERROR(Write(args.out_file, std::move(body)));
  fmt::print(
      "wrote trust root version {} of project '{}' to {}: unsigned; it needs {} "
      "signatures of the keys of version {} and {} of its own\n",
      r.version, r.project, args.out_file, from.threshold, from.version, r.threshold);
  return Status::Ok();
}

Status HashFile(const std::string& path, uint64_t* length, uint8_t sha[SDB_OTA_HASH_BYTES]) {
  SENSORDB_ASSIGN_OR_RETURN(const firmware::FileDigest d, firmware::DigestFile(path));
  *length = d.length;
  std::memcpy(sha, d.sha256.data(), d.sha256.size());
  return Status::Ok();
}

Status RunManifest(const FirmwareArgs& args) {
  SENSORDB_RETURN_IF_ERROR(firmware::InitCrypto());
  SignedFile root_file;
  sdb_ota_root root;
  SENSORDB_RETURN_IF_ERROR(ReadRoot(args.root_file, &root_file, &root));
  sdb_ota_manifest m{};
  std::memcpy(m.project, root.project, sizeof m.project);
  m.root_version = root.version;
  if (args.model.size() > SDB_OTA_MAX_NAME || args.version.size() > SDB_OTA_MAX_NAME) {
    return Status::InvalidArgument(
        fmt::format("--model and --version hold at most {} bytes", SDB_OTA_MAX_NAME));
  }
  std::memcpy(m.hardware_model, args.model.data(), args.model.size());
  std::memcpy(m.version, args.version.data(), args.version.size());
  m.security_version = args.security_version;
  SENSORDB_RETURN_IF_ERROR(HashFile(args.image_file, &m.image_length, m.image_sha256));
  m.created_unix_s = NowSeconds();
  SENSORDB_ASSIGN_OR_RETURN(m.expires_unix_s, ExpiresAt(args.expires, m.created_unix_s));
  m.notes = reinterpret_cast<const uint8_t*>(args.notes.data());
  m.notes_len = args.notes.size();
  std::vector<uint8_t> body(4096 + args.notes.size());
  size_t len = 0;
  if (const sdb_ota_result e = sdb_ota_encode_manifest(&m, body.data(), body.size(), &len);
      e != SDB_OTA_OK) {
    return Status::InvalidArgument(
        fmt::format("refused to write the manifest ({}): the image must not be empty, --model and "
                    "--version printable, --notes at most {} bytes, expiry within {} days",
                    sdb_ota_result_name(e), SDB_OTA_MAX_NOTES, SDB_OTA_MAX_MANIFEST_DAYS));
  }
  body.resize(len);
  SENSORDB_RETURN_IF_ERROR(Write(args.out_file, std::move(body)));
  fmt::print(
      "wrote the manifest of {} {} for {} (security version {}, {} bytes, sha256 {}) "
      "to {}: unsigned; {} release keys of root version {} sign it\n",
      m.hardware_model, m.version, m.project, m.security_version, m.image_length,
      Hex(m.image_sha256), args.out_file, root.threshold, root.version);
  return Status::Ok();
}

Status RunSign(const FirmwareArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(SignedFile file, firmware::ReadSignedFile(args.file));
  SENSORDB_ASSIGN_OR_RETURN(const Decoded d, Decode(args.file, file));
  if (d.kind == Decoded::kFreshness) {
    return Status::InvalidArgument(args.file +
                                   " is a freshness statement: the server's online "
                                   "key signs those, never a release key");
  }
  SENSORDB_ASSIGN_OR_RETURN(const firmware::ReleaseKey key,
                            firmware::ReleaseKey::Load(args.key_file));
  SENSORDB_RETURN_IF_ERROR(firmware::AddSignature(&file, key));
  SENSORDB_RETURN_IF_ERROR(firmware::WriteSignedFile(args.file, file, /*replace=*/true));
  fmt::print("signed {} with key {} ({} signature(s) now)\n", args.file,
             Hex(firmware::KeyIdOf(key.public_key())), file.signatures.size());
  return Status::Ok();
}

std::string Text(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// RFC 3339 when the seconds fit in nanoseconds (a file may hold any int64), else the number.
std::string TimeText(int64_t unix_s) {
  constexpr int64_t kMax = 9'000'000'000;  // year 2255
  if (unix_s > kMax || unix_s < -kMax) return std::to_string(unix_s) + " (unix seconds)";
  return FormatRfc3339(unix_s * 1'000'000'000);
}

Status RunShow(const FirmwareArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const SignedFile file, firmware::ReadSignedFile(args.file));
  SENSORDB_ASSIGN_OR_RETURN(const Decoded d, Decode(args.file, file));
  std::vector<std::pair<std::string, std::string>> fields;
  if (d.kind == Decoded::kRoot) {
    const sdb_ota_root& r = d.root;
    fields = {{"kind", "root"},
              {"project", r.project},
              {"version", std::to_string(r.version)},
              {"threshold", std::to_string(r.threshold)},
              {"keys", std::to_string(r.key_count)},
              {"freshness_key", Hex({r.freshness_key, 32})},
              {"created", TimeText(r.created_unix_s)},
              {"expires", TimeText(r.expires_unix_s)}};
    for (uint32_t i = 0; i < r.key_count; ++i) {
      firmware::PublicKey pk;
      std::memcpy(pk.data(), r.keys[i], pk.size());
      fields.emplace_back(fmt::format("key {}", i + 1),
                          fmt::format("{} (id {})", Hex(pk), Hex(firmware::KeyIdOf(pk))));
    }
  } else if (d.kind == Decoded::kManifest) {
    const sdb_ota_manifest& m = d.manifest;
    fields = {{"kind", "manifest"},
              {"project", m.project},
              {"root_version", std::to_string(m.root_version)},
              {"hardware_model", m.hardware_model},
              {"version", m.version},
              {"security_version", std::to_string(m.security_version)},
              {"image_length", std::to_string(m.image_length)},
              {"image_sha256", Hex({m.image_sha256, 32})},
              {"created", TimeText(m.created_unix_s)},
              {"expires", TimeText(m.expires_unix_s)},
              {"notes", Text(m.notes, m.notes_len)}};
  } else {
    const sdb_ota_freshness& f = d.freshness;
    fields = {{"kind", "freshness"},
              {"project", f.project},
              {"device", f.device},
              {"server_time", TimeText(f.server_unix_s)},
              {"valid_for_s", std::to_string(f.valid_for_s)},
              {"offer", f.has_offer ? Hex({f.manifest_sha256, 32}) : "none"}};
  }
  std::string sigs;
  for (const auto& [id, sig] : file.signatures) sigs += (sigs.empty() ? "" : " ") + Hex(id);
  fields.emplace_back("signed_by", sigs.empty() ? "(unsigned)" : sigs);
  if (args.json) {
    fmt::print("{{");
    for (size_t i = 0; i < fields.size(); ++i) {
      fmt::print("{}{}: {}", i ? ", " : "", JsonString(fields[i].first),
                 JsonString(PrintableText(fields[i].second)));  // valid JSON whatever the bytes
    }
    fmt::print("}}\n");
    return Status::Ok();
  }
  // Escaped: notes, model and version are anyone's bytes, and must not draw lines of their own
  // (a forged "signed_by") or move the cursor on the terminal of the person about to sign.
  for (const auto& [k, v] : fields) fmt::print("{:<17} {}\n", k, PrintableText(v));
  return Status::Ok();
}

// A root or manifest checked against a root, as a device holding that root would (without its
// clock, slots and security version): the release manager's last look before publishing.
Status RunVerify(const FirmwareArgs& args) {
  SENSORDB_RETURN_IF_ERROR(firmware::InitCrypto());
  SignedFile root_file;
  sdb_ota_root root;
  SENSORDB_RETURN_IF_ERROR(ReadRoot(args.root_file, &root_file, &root));
  // The anchor itself: a root that k of its own keys did not sign was never given to a device.
  const sdb_ota_signed anchor = View(root_file);
  if (const sdb_ota_result r = sdb_ota_check_threshold(&root, &anchor); r != SDB_OTA_OK) {
    return Refused(fmt::format("{} is not signed by {} of its own keys, so no device holds it",
                               args.root_file, root.threshold),
                   r);
  }
  SENSORDB_ASSIGN_OR_RETURN(const SignedFile file, firmware::ReadSignedFile(args.file));
  SENSORDB_ASSIGN_OR_RETURN(const Decoded d, Decode(args.file, file));
  const sdb_ota_signed s = View(file);
  const int64_t now = NowSeconds();
  if (d.kind == Decoded::kRoot) {
    const sdb_ota_root& next = d.root;
    const bool self = next.version == root.version &&
                      root_file.body == file.body;  // a root checked against itself
    if (!self && (next.version != root.version + 1 || std::string(next.project) != root.project)) {
      return Status::InvalidArgument(fmt::format(
          "{} is root version {} of '{}'; a device holding version {} of '{}' accepts only "
          "version {} of its own project",
          args.file, next.version, next.project, root.version, root.project, root.version + 1));
    }
    if (!self) {
      if (const sdb_ota_result r = sdb_ota_check_threshold(&root, &s); r != SDB_OTA_OK) {
        return Refused(fmt::format("{}: signatures of root version {}", args.file, root.version),
                       r);
      }
    }
    if (const sdb_ota_result r = sdb_ota_check_threshold(&next, &s); r != SDB_OTA_OK) {
      return Refused(fmt::format("{}: signatures of its own keys", args.file), r);
    }
    if (next.expires_unix_s <= now) return Refused(args.file, SDB_OTA_EXPIRED);
    fmt::print("ok: {} is root version {} of '{}', signed by {} of its keys{}\n", args.file,
               next.version, next.project, next.threshold,
               self ? "" : fmt::format(" and {} of version {}", root.threshold, root.version));
    return Status::Ok();
  }
  if (d.kind != Decoded::kManifest) {
    return Status::InvalidArgument(args.file + " is a freshness statement: devices check those");
  }
  const sdb_ota_manifest& m = d.manifest;
  if (std::string(m.project) != root.project) return Refused(args.file, SDB_OTA_WRONG_PROJECT);
  if (m.root_version != root.version) return Refused(args.file, SDB_OTA_WRONG_ROOT);
  if (const sdb_ota_result r = sdb_ota_check_threshold(&root, &s); r != SDB_OTA_OK) {
    return Refused(args.file, r);
  }
  if (m.expires_unix_s <= now) return Refused(args.file, SDB_OTA_EXPIRED);
  if (root.expires_unix_s <= now) {
    return Refused(fmt::format("{} (root version {} has expired: devices refuse every manifest "
                               "until they hold the next root)",
                               args.file, root.version),
                   SDB_OTA_EXPIRED);
  }
  if (!args.image_file.empty()) {
    uint64_t length = 0;
    uint8_t sha[SDB_OTA_HASH_BYTES];
    SENSORDB_RETURN_IF_ERROR(HashFile(args.image_file, &length, sha));
    if (length != m.image_length) return Refused(args.image_file, SDB_OTA_LENGTH_MISMATCH);
    if (std::memcmp(sha, m.image_sha256, sizeof sha) != 0) {  // public values
      return Refused(args.image_file, SDB_OTA_HASH_MISMATCH);
    }
  }
  fmt::print(
      "ok: {} ({} {}, security version {}) is signed by {} of the {} keys of root "
      "version {}{}\n",
      args.file, PrintableText(m.hardware_model), PrintableText(m.version), m.security_version,
      root.threshold, root.key_count, root.version,
      args.image_file.empty() ? "" : "; the image matches its length and hash");
  return Status::Ok();
}

using RunFn = Status (*)(const FirmwareArgs&);

CLI::App* Command(CLI::App* parent, const char* name, const char* help, Action* action,
                  std::shared_ptr<FirmwareArgs> args, RunFn run) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->callback([action, args, run] { *action = [args, run] { return run(*args); }; });
  return cmd;
}

void AddRootKeyOptions(CLI::App* cmd, FirmwareArgs* a) {
  cmd->add_option("--key", a->key_pub_files, "Public key file of a release key (repeat, 1-16)")
      ->required();
  cmd->add_option("--threshold,-t", a->threshold, "Signatures needed (k of the n keys)")
      ->required();
  cmd->add_option("--freshness-key", a->freshness_pub_file,
                  "Public key file of the server's freshness key (not a release key)")
      ->required();
  cmd->add_option("--expires", a->expires, "Validity from now, e.g. 365d (at most 3660d)")
      ->capture_default_str();
  cmd->add_option("--out,-o", a->out_file, "Root file to write")->required();
}

}  // namespace

void AddFirmwareCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  CLI::App* fw =
      app.add_subcommand("firmware",
                         "Signed firmware updates, offline: release keys, trust roots, manifests "
                         "(docs/OTA.md)");
  fw->require_subcommand(1);
  auto args = std::make_shared<FirmwareArgs>();

  CLI::App* keygen = Command(fw, "keygen", "Create an Ed25519 release key (and KEYFILE.pub)",
                             action, args, RunKeygen);
  keygen->add_option("key_file", args->key_file, "Key file to create (never overwritten)")
      ->required();

  CLI::App* trust =
      fw->add_subcommand("trust", "Trust roots: which keys sign a project's firmware");
  trust->require_subcommand(1);
  CLI::App* init = Command(trust, "init", "Write root version 1 of a project, unsigned", action,
                           args, RunTrustInit);
  init->add_option("--project,-p", args->project, "Project")->required();
  AddRootKeyOptions(init, args.get());
  CLI::App* rotate = Command(trust, "rotate", "Write the next root version after --from, unsigned",
                             action, args, RunTrustRotate);
  rotate->add_option("--from", args->root_file, "The current root file")->required();
  AddRootKeyOptions(rotate, args.get());

  CLI::App* manifest = Command(fw, "manifest", "Write the manifest of an image, unsigned", action,
                               args, RunManifest);
  manifest->add_option("--root", args->root_file, "The project's current root file")->required();
  manifest->add_option("--image", args->image_file, "Firmware image file")->required();
  manifest->add_option("--model", args->model, "Hardware model it is for (exact)")->required();
  manifest->add_option("--version", args->version, "Version shown to people, e.g. 2.1.0")
      ->required();
  manifest
      ->add_option("--security-version", args->security_version,
                   "Anti-rollback counter: devices refuse anything lower than they run")
      ->required();
  manifest->add_option("--expires", args->expires, "Validity from now (at most 400d)")
      ->capture_default_str();
  manifest->add_option("--notes", args->notes, "Text for people (at most 1024 bytes)");
  manifest->add_option("--out,-o", args->out_file, "Manifest file to write")->required();

  CLI::App* sign = Command(fw, "sign", "Add one release key's signature to a root or manifest",
                           action, args, RunSign);
  sign->add_option("--key", args->key_file, "Release key file (mode 0600)")->required();
  sign->add_option("file", args->file, "Root or manifest file, signed in place")->required();

  CLI::App* show =
      Command(fw, "show", "Print a root, manifest or freshness statement", action, args, RunShow);
  show->add_option("file", args->file, "File")->required();
  show->add_flag("--json", args->json, "One JSON object");

  CLI::App* verify =
      Command(fw, "verify", "Check a root or manifest against a root, as a device would", action,
              args, RunVerify);
  verify->add_option("--root", args->root_file, "The root devices hold")->required();
  verify->add_option("--image", args->image_file, "Also check an image against the manifest");
  verify->add_option("file", args->file, "Root or manifest file")->required();

  AddFirmwareStoreCommands(fw, trust, global, action);
}

}  // namespace sensordb::cli
