#include "mail/gmime_init.hpp"

#include <mutex>

#include <gmime/gmime.h>

namespace faxd::mail {

void EnsureGMimeInitialized() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

}  // namespace faxd::mail
