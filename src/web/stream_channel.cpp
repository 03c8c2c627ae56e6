// The EventStream handed to on_stream callbacks: any thread may call it; it only posts to the session.
#include <algorithm>
#include <string>

#include "web/http_server_impl.hpp"

namespace faxd::web::detail {

StreamChannel::StreamChannel(std::weak_ptr<Session> session, std::size_t max_queued_bytes)
    : session_(std::move(session)), max_queued_bytes_(max_queued_bytes) {}

bool StreamChannel::Send(std::string bytes) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    std::shared_ptr<Session> session = session_.lock();
    if (!session) {
        closed_ = true;
        return false;
    }
    if (bytes.size() > max_queued_bytes_ - std::min(queued_bytes_, max_queued_bytes_)) {
        // The client reads slower than events come: drop it rather than buffer without bound.
        closed_ = true;
        net::post(session->strand(), [session] { session->CloseNow(); });
        return false;
    }
    queued_bytes_ += bytes.size();
    net::post(session->strand(),
              [session, bytes = std::move(bytes)]() mutable { session->WriteStreamBytes(std::move(bytes)); });
    return true;
}

void StreamChannel::Close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    if (std::shared_ptr<Session> session = session_.lock()) {
        net::post(session->strand(), [session] { session->FinishStream(); });
    }
}

bool StreamChannel::Closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

void StreamChannel::MarkClosed() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

void StreamChannel::OnWritten(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    queued_bytes_ -= std::min(bytes, queued_bytes_);
}

}  // namespace faxd::web::detail
