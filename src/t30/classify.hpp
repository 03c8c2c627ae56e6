// Maps spandsp's T.30 completion codes to the failure classes that retries and users act on.
#pragma once

#include "t30/fax_types.hpp"

namespace faxd::t30 {

// `had_contact`: the far end identified itself or a page went through, so "no answer" timers mean a dropped
// call, not a number without a fax machine.
FailureClass ClassifyCompletion(int t30_code, bool had_contact);

}  // namespace faxd::t30
