#include "sip/media_engine.hpp"

namespace faxd::sip {

MediaEngine::MediaEngine(unsigned threads) {
    for (unsigned i = 0; i < std::max(threads, 1u); ++i) {
        auto loop = std::make_unique<Loop>();
        loop->work = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
            loop->io.get_executor());
        Loop* raw = loop.get();
        loop->thread = std::thread([raw] { raw->io.run(); });
        loops_.push_back(std::move(loop));
    }
}

MediaEngine::~MediaEngine() {
    for (auto& loop : loops_) {
        loop->work.reset();
        loop->io.stop();
    }
    for (auto& loop : loops_)
        if (loop->thread.joinable()) loop->thread.join();
}

boost::asio::io_context& MediaEngine::NextContext() { return loops_[next_++ % loops_.size()]->io; }

}  // namespace faxd::sip
