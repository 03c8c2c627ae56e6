#include "core/inbound.hpp"

#include <utility>

namespace faxd::core {

std::string InboundDocumentName(const ReferenceNumber& reference) {
    return "in-" + reference.ToString() + ".tif";
}

InboundDesk::InboundDesk(JobStore& store, DirectorySource directory, InboundRoutingConfig routing,
                         NodeId node, const base::Clock& clock, PageCounter count_pages)
    : store_(store),
      directory_(std::move(directory)),
      routing_(std::move(routing)),
      node_(std::move(node)),
      clock_(clock),
      count_pages_(std::move(count_pages)) {}

void InboundDesk::SetRouting(InboundRoutingConfig routing) { routing_ = std::move(routing); }

base::Result<Admission> InboundDesk::Admit(const InboundCall& call) {
    if (!routing_.incoming_enabled) {
        return base::MakeError(base::ErrorCode::kUnsupported, "incoming faxes are switched off");
    }
    auto directory = directory_();
    if (!directory) return tl::unexpected(directory.error());
    auto destination = RouteInbound(*directory, routing_, call.dnis, call.line);
    if (!destination) {
        return base::MakeError(base::ErrorCode::kNotFound, "nobody receives faxes for '" + call.dnis + "'");
    }
    InboundFax fax;
    fax.dnis = call.dnis;
    fax.ani = call.ani;
    fax.call_id = call.call_id;
    fax.node = node_;
    fax.state = InboundState::kReceiving;
    fax.destination = *destination;
    auto begun = store_.BeginInbound(fax, clock_.WallNow());
    if (!begun) return tl::unexpected(begun.error());
    Admission admission{begun->id, begun->reference, begun->document, *destination};
    if (admission.document.empty()) admission.document = InboundDocumentName(begun->reference);
    return admission;
}

base::Result<InboundFax> InboundDesk::Complete(const Admission& admission, const InboundEnd& end) {
    InboundFax fax;
    fax.id = admission.id;
    fax.reference = admission.reference;
    fax.node = node_;
    fax.destination = admission.destination;
    fax.pages = end.pages;
    fax.remote_ident = end.remote_ident;
    fax.duration_seconds = end.duration_seconds;
    fax.document = end.pages > 0 ? admission.document : std::string();
    // A call that broke after some pages keeps them: the user gets what arrived, marked partial.
    fax.state = end.success     ? InboundState::kReceived
                : end.pages > 0 ? InboundState::kPartial
                                : InboundState::kFailed;
    fax.failure_reason = end.success ? std::string() : end.reason;
    if (auto finished = store_.FinishInbound(fax); !finished) return tl::unexpected(finished.error());
    return fax;
}

base::Result<int> InboundDesk::RecoverStale(bool include_own) {
    auto stale = store_.StaleInbound(node_, clock_.WallNow(), include_own);
    if (!stale) return tl::unexpected(stale.error());
    for (InboundFax& fax : *stale) {
        const std::string document = fax.document.empty() ? InboundDocumentName(fax.reference) : fax.document;
        fax.pages = count_pages_ ? count_pages_(document) : 0;
        fax.document = fax.pages > 0 ? document : std::string();
        fax.state = fax.pages > 0 ? InboundState::kPartial : InboundState::kFailed;
        fax.failure_reason = "faxd stopped during the call";
        if (auto finished = store_.FinishInbound(fax); !finished) return tl::unexpected(finished.error());
    }
    return static_cast<int>(stale->size());
}

}  // namespace faxd::core
