// GMime's global set-up (charset tables, iconv cache, type registration) must run once before any use.
#pragma once

namespace faxd::mail {

// Thread-safe and cheap after the first call; every entry point of the MIME intake calls it. GMime is never
// shut down: its tables live as long as the process, which LeakSanitizer sees as reachable, not leaked.
void EnsureGMimeInitialized();

}  // namespace faxd::mail
