// Threads that run call media: each owns an io_context; calls are spread over them and stay on theirs.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "sip/asio.hpp"

namespace faxd::sip {

class MediaEngine {
public:
    explicit MediaEngine(unsigned threads);
    ~MediaEngine();  // stops the loops and joins the threads
    MediaEngine(const MediaEngine&) = delete;
    MediaEngine& operator=(const MediaEngine&) = delete;

    boost::asio::io_context& NextContext();

private:
    struct Loop {
        boost::asio::io_context io;
        std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
        std::thread thread;
    };
    std::vector<std::unique_ptr<Loop>> loops_;
    std::atomic<unsigned> next_{0};
};

}  // namespace faxd::sip
