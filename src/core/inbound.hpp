// Incoming faxes of one node: admit a call (route it by the called number, open its record with a reference
// number), close the record when the call ends, and after a crash close the records the node left open,
// keeping every page that was already safely on disk.
#pragma once

#include <functional>
#include <string>

#include "base/clock.hpp"
#include "core/ports.hpp"

namespace faxd::core {

struct InboundCall {
    std::string dnis;
    std::string ani;
    std::string call_id;
    std::string line;  // trunk or gateway the call came on ("" when unknown)
};

struct Admission {
    std::int64_t id = 0;
    ReferenceNumber reference;
    std::string document;  // spool name the pages go to
    InboundDestination destination;
};

struct InboundEnd {
    bool success = false;
    int pages = 0;
    std::string remote_ident;
    double duration_seconds = 0;
    std::string reason;  // why it failed
};

class InboundDesk {
public:
    using DirectorySource = std::function<base::Result<Directory>()>;
    using PageCounter = std::function<int(const std::string& document)>;  // pages on disk; 0 when none

    InboundDesk(JobStore& store, DirectorySource directory, InboundRoutingConfig routing, NodeId node,
                const base::Clock& clock, PageCounter count_pages);

    // kNotFound when nobody takes faxes for the number (the SIP side answers 404), kUnsupported when
    // incoming faxes are switched off.
    base::Result<Admission> Admit(const InboundCall& call);
    base::Result<InboundFax> Complete(const Admission& admission, const InboundEnd& end);
    // Records this node left in `receiving` (crash) or those of nodes whose lease ran out.
    base::Result<int> RecoverStale(bool include_own);

    void SetRouting(InboundRoutingConfig routing);

private:
    JobStore& store_;
    DirectorySource directory_;
    InboundRoutingConfig routing_;
    NodeId node_;
    const base::Clock& clock_;
    PageCounter count_pages_;
};

// The spool name of a received fax: "0042-in-2026-00000042.tif".
std::string InboundDocumentName(const ReferenceNumber& reference);

}  // namespace faxd::core
