// core::DocumentRenderer over src/render: the submission's documents from the spool, its cover page with the
// sender's and recipient's fields, composed into one fax TIFF stored back in the spool.
#pragma once

#include <filesystem>
#include <functional>

#include "core/dispatcher.hpp"
#include "render/compose.hpp"
#include "store/spool.hpp"

namespace faxd::app {

struct FaxRendererConfig {
    render::RenderOptions options;
    std::filesystem::path cover_dir;                           // administrators' cover templates
    std::function<base::Result<core::Directory>()> directory;  // sender details for the cover page
    std::function<std::string()> local_date_time;
};

class FaxRenderer final : public core::DocumentRenderer {
public:
    FaxRenderer(store::Spool& spool, FaxRendererConfig config) : spool_(spool), config_(std::move(config)) {}
    base::Result<core::RenderedFax> Render(const core::NewSubmission& submission,
                                           const core::Job& job) override;

private:
    store::Spool& spool_;
    FaxRendererConfig config_;
};

}  // namespace faxd::app
