#include "cli/backup_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace eroom::cli {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

struct BackupFile::Digest {
  Digest() : context(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (context != nullptr) {
      EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
    }
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context;
};

absl::StatusOr<std::unique_ptr<BackupFile>> BackupFile::Create(
    const std::string& dest, bool overwrite) {
  std::error_code error;
  if (!overwrite && std::filesystem::exists(dest, error)) {
    return absl::AlreadyExistsError(
        absl::StrCat(dest, " exists; --force replaces it"));
  }
  const std::string partial = absl::StrCat(dest, ".partial");
  const int fd =
      ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", partial);
  return std::unique_ptr<BackupFile>(new BackupFile(dest, fd));
}

BackupFile::BackupFile(std::string dest, int fd)
    : dest_(std::move(dest)),
      partial_(absl::StrCat(dest_, ".partial")),
      fd_(fd),
      digest_(std::make_unique<Digest>()) {}

BackupFile::~BackupFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) std::remove(partial_.c_str());
}

absl::Status BackupFile::Append(const eroom::monitor::v1::BackupChunk& chunk) {
  if (last_seen_) {
    return absl::DataLossError("the collector sent data after the last chunk");
  }
  const std::string& data = chunk.data();
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", partial_);
    }
    done += static_cast<size_t>(n);
  }
  if (digest_->context == nullptr ||
      EVP_DigestUpdate(digest_->context.get(), data.data(), data.size()) != 1) {
    return absl::InternalError("SHA-256 unavailable (OpenSSL)");
  }
  written_ += data.size();
  if (!chunk.sha256().empty()) {
    last_seen_ = true;
    expected_bytes_ = chunk.total_bytes();
    expected_sha256_ = chunk.sha256();
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> BackupFile::Commit() {
  if (!last_seen_) {
    return absl::DataLossError(
        "the backup stream ended without its last chunk (size and SHA-256)");
  }
  if (written_ != expected_bytes_) {
    return absl::DataLossError(absl::StrCat(
        "received ", written_, " bytes; the collector sent ", expected_bytes_));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(digest_->context.get(), digest, &length);
  const std::string sha256 = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(digest), length));
  if (sha256 != expected_sha256_) {
    return absl::DataLossError(absl::StrCat("SHA-256 of what was received is ",
                                            sha256, "; the collector's is ",
                                            expected_sha256_));
  }
  if (::fsync(fd_) != 0) return Errno("cannot sync", partial_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(partial_.c_str(), dest_.c_str()) != 0) {
    return Errno(absl::StrCat("cannot rename ", partial_, " to"), dest_);
  }
  committed_ = true;
  // The rename is durable once the directory is synced.
  std::error_code error;
  const std::filesystem::path dir =
      std::filesystem::absolute(dest_, error).parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return written_;
}

}  // namespace eroom::cli
