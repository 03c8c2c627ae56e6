#include "app/fax_renderer.hpp"

#include "render/subprocess.hpp"

namespace faxd::app {

base::Result<core::RenderedFax> FaxRenderer::Render(const core::NewSubmission& submission,
                                                    const core::Job& job) {
    std::vector<std::filesystem::path> inputs;
    for (const std::string& name : submission.documents) {
        auto path = spool_.PathOf(name);
        if (!path) return tl::unexpected(path.error());
        inputs.push_back(*path);
    }
    std::optional<render::CoverRequest> cover;
    if (!submission.cover_page.empty()) {
        cover.emplace();
        cover->template_dir = config_.cover_dir;
        cover->name = submission.cover_page;
        auto& fields = cover->fields;
        if (config_.directory) {
            if (auto directory = config_.directory()) {
                if (const core::User* sender = directory->FindUser(submission.owner)) {
                    cover->language = sender->language;
                    fields["sender_name"] = sender->name;
                    fields["sender_email"] = sender->email;
                    if (!sender->numbers.empty()) fields["sender_fax"] = sender->numbers.front();
                }
            }
        }
        fields["recipient_name"] = job.recipient_name;
        fields["recipient_fax"] = job.number;
        fields["subject"] = submission.subject;
        fields["comments"] = submission.comments;
        fields["reference"] = job.reference.ToString();
        if (config_.local_date_time) fields["date"] = config_.local_date_time();
    }
    auto work = render::TempDir::Create(config_.options.temp_parent, "faxd-job-");
    if (!work) return tl::unexpected(work.error());
    const auto output = work->Path() / "fax.tif";
    render::RenderOptions options = config_.options;
    if (submission.resolution == "standard") options.resolution = render::Resolution::kStandard;
    if (submission.resolution == "fine") options.resolution = render::Resolution::kFine;
    if (submission.resolution == "superfine") options.resolution = render::Resolution::kSuperfine;
    auto composed = render::ComposeFax(inputs, cover, options, output);
    if (!composed) return tl::unexpected(composed.error());
    auto name = spool_.PutFile(output, "tif");
    if (!name) return tl::unexpected(name.error());
    return core::RenderedFax{*name, composed->pages};
}

}  // namespace faxd::app
