#include "collector/query_service.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "collector/worker_call.h"
#include "common/metric_catalog.h"
#include "common/status_macros.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

// Whether `text` is well-formed UTF-8 (RFC 3629: shortest forms, no
// surrogates, nothing above U+10FFFF), as protobuf requires of strings.
bool IsUtf8(absl::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = byte(i);
    size_t length = 1;
    uint32_t code = lead;
    uint32_t shortest = 0;
    if (lead >= 0xF0 && lead <= 0xF7) {
      length = 4, code = lead & 0x07, shortest = 0x10000;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code = lead & 0x0F, shortest = 0x800;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, code = lead & 0x1F, shortest = 0x80;
    } else if (lead >= 0x80) {
      return false;
    }
    if (text.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    if (code < shortest || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

absl::Status ValidateSearchText(absl::string_view text) {
  if (text.size() > kMaxSearchTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("search text is ", text.size(), " bytes; at most ",
                     kMaxSearchTextBytes, " bytes are searched"));
  }
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "search text must not contain NUL characters");
  }
  if (!IsUtf8(text)) {
    return absl::InvalidArgumentError("search text is not valid UTF-8");
  }
  return absl::OkStatus();
}

// One of a bounded number of slots, held for its lifetime if it got one.
class ConcurrencySlot {
 public:
  ConcurrencySlot(std::atomic<int>& in_use, int capacity) : in_use_(in_use) {
    taken_ = in_use_.fetch_add(1) < capacity;
    if (!taken_) in_use_.fetch_sub(1);
  }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;
  ~ConcurrencySlot() {
    if (taken_) in_use_.fetch_sub(1);
  }
  bool taken() const { return taken_; }

 private:
  std::atomic<int>& in_use_;
  bool taken_;
};

}  // namespace

absl::StatusOr<int32_t> EffectiveLimit(int32_t requested, int32_t default_limit,
                                       int32_t max_limit) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must not be negative, got ", requested));
  }
  if (requested == 0) return default_limit;
  return std::min(requested, max_limit);
}

QueryServiceImpl::QueryServiceImpl(StorageReader& storage, WorkQueue& workers,
                                   Authorizer& authorizer,
                                   const HostLiveness& liveness,
                                   const Clock& clock,
                                   int max_concurrent_log_queries)
    : storage_(storage),
      workers_(workers),
      authorizer_(authorizer),
      liveness_(liveness),
      clock_(clock),
      max_concurrent_log_queries_(max_concurrent_log_queries) {}

grpc::ServerUnaryReactor* QueryServiceImpl::ListHosts(
    grpc::CallbackServerContext* context, const v1::ListHostsRequest* request,
    v1::ListHostsResponse* response) {
  return FinishOnWorkers(context, kListHostsMethod, authorizer_, workers_,
                         response, [this, request] { return Hosts(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryLogs(
    grpc::CallbackServerContext* context, const v1::QueryLogsRequest* request,
    v1::QueryLogsResponse* response) {
  return FinishOnWorkers(
      context, kQueryLogsMethod, authorizer_, workers_, response,
      [this, request, context] { return Logs(*request, *context); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryMetrics(
    grpc::CallbackServerContext* context,
    const v1::QueryMetricsRequest* request,
    v1::QueryMetricsResponse* response) {
  return FinishOnWorkers(context, kQueryMetricsMethod, authorizer_, workers_,
                         response,
                         [this, request] { return Metrics(*request); });
}

absl::StatusOr<v1::ListHostsResponse> QueryServiceImpl::Hosts(
    const v1::ListHostsRequest& request) {
  EROOM_ASSIGN_OR_RETURN(v1::ListHostsResponse hosts,
                         storage_.ListHosts(request));
  for (v1::HostStatus& host : *hosts.mutable_hosts()) {
    host.set_down(liveness_.IsDown(host.agent_id()));
  }
  return hosts;
}

absl::StatusOr<v1::QueryLogsResponse> QueryServiceImpl::Logs(
    v1::QueryLogsRequest request, grpc::CallbackServerContext& context) {
  EROOM_RETURN_IF_ERROR(ValidateSearchText(request.contains()));
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit,
      EffectiveLimit(request.limit(), kDefaultLogLimit, kMaxLogLimit));
  request.set_limit(limit);
  ConcurrencySlot slot(log_queries_running_, max_concurrent_log_queries_);
  if (!slot.taken()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many log queries in progress (",
                     max_concurrent_log_queries_, " at most); retry"));
  }
  const absl::Time callers_deadline = absl::FromChrono(context.deadline());
  const absl::Time time_limit = clock_.Now() + kMaxQueryTime;
  return storage_.QueryLogs(request, [&]() -> absl::Status {
    if (context.IsCancelled()) {
      return absl::CancelledError(
          "the caller cancelled the query or its deadline passed");
    }
    const absl::Time now = clock_.Now();
    if (now >= callers_deadline) {
      return absl::DeadlineExceededError("the caller's deadline passed");
    }
    if (now >= time_limit) {
      return absl::DeadlineExceededError(absl::StrCat(
          "log query stopped after ", absl::FormatDuration(kMaxQueryTime),
          ", the longest a query may run"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::QueryMetricsResponse> QueryServiceImpl::Metrics(
    v1::QueryMetricsRequest request) {
  if (request.name().empty()) {
    return absl::InvalidArgumentError("metric name is required");
  }
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit, EffectiveLimit(request.limit(), kDefaultMetricPointLimit,
                                    kMaxMetricPointLimit));
  request.set_limit(limit);
  const std::vector<std::string>& known = KnownMetricNames();
  if (!std::binary_search(known.begin(), known.end(), request.name())) {
    v1::QueryMetricsResponse response;
    for (const std::string& name : known) response.add_known_names(name);
    return response;
  }
  return storage_.QueryMetrics(request);
}

}  // namespace eroom::collector
