#include "app/render_command.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/local_time.hpp"
#include "base/log.hpp"
#include "render/compose.hpp"
#include "render/cover_page.hpp"
#include "render/fax_page.hpp"
#include "render/fax_tiff.hpp"
#include "render/header_line.hpp"
#include "render/office_pool.hpp"
#include "render/pdf_pages.hpp"
#include "render/subprocess.hpp"
#include "render/tiff_to_pdf.hpp"

namespace faxd::app {
namespace {

struct RenderArgs {
    std::vector<std::string> inputs;
    std::string output;
    std::string resolution = "fine";
    std::string header;
    std::string reference;
    std::string header_format = "long";
    std::string cover;
    std::string cover_dir;
    std::string language = "en";
    std::vector<std::string> cover_fields;  // KEY=VALUE
};

struct TopdfArgs {
    std::string input;
    std::string output;
    bool pdfa = false;
};

int Fail(const std::string& message) {
    std::cout << nlohmann::json{{"ok", false}, {"error", message}}.dump() << std::endl;
    return 1;
}

int RunRender(const RenderArgs& args) {
    base::ConfigureLogging(base::LogLevel::kWarn);
    const auto start = std::chrono::steady_clock::now();
    render::RenderOptions options;
    options.resolution = args.resolution == "standard"    ? render::Resolution::kStandard
                         : args.resolution == "superfine" ? render::Resolution::kSuperfine
                                                          : render::Resolution::kFine;
    std::optional<render::CoverRequest> cover;
    if (!args.cover.empty()) {
        cover.emplace();
        cover->template_dir = args.cover_dir;
        cover->name = args.cover;
        cover->language = args.language;
        cover->fields["date"] = LocalDateTime();
        cover->fields["reference"] = args.reference;
        for (const auto& field : args.cover_fields) {
            const auto equals = field.find('=');
            if (equals == std::string::npos)
                return Fail("--cover-field wants KEY=VALUE, not '" + field + "'");
            cover->fields[field.substr(0, equals)] = field.substr(equals + 1);
        }
    }
    // Started only if an Office document comes along.
    render::OfficePool office;
    options.office = &office;
    auto work = render::TempDir::Create(options.temp_parent, "faxctl-render");
    if (!work) return Fail(work.error().ToString());
    const auto joined = work->Path() / "joined.tif";
    std::vector<std::filesystem::path> inputs(args.inputs.begin(), args.inputs.end());
    auto composed = render::ComposeFax(inputs, cover, options, joined);
    if (!composed) return Fail(composed.error().message);
    nlohmann::json documents = nlohmann::json::array();
    for (const auto& document : composed->documents) {
        documents.push_back({{"file", document.input.string()},
                             {"type", std::string(render::DocumentTypeName(document.type))},
                             {"pages", document.pages}});
    }
    if (!args.header.empty()) {
        render::HeaderLine header{args.header, LocalDateTime(), args.reference,
                                  args.header_format == "short"  ? render::HeaderFormat::kShort
                                  : args.header_format == "page" ? render::HeaderFormat::kHeadlinePage
                                                                 : render::HeaderFormat::kLong};
        if (auto stamped = render::StampHeaderLines(joined, joined, header, 1); !stamped)
            return Fail(stamped.error().message);
    }
    const int pages = composed->pages;
    std::error_code ec;
    std::filesystem::copy_file(joined, args.output, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return Fail("cannot write " + args.output + ": " + ec.message());
    nlohmann::json out{
        {"ok", true},
        {"pages", pages},
        {"bytes", std::filesystem::file_size(args.output, ec)},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
        {"documents", documents}};
    std::cout << out.dump() << std::endl;
    return 0;
}

int RunTopdf(const TopdfArgs& args) {
    render::PdfOptions options;
    options.pdfa = args.pdfa;
    options.title = std::filesystem::path(args.input).filename().string();
    options.created = std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now());
    auto info = render::ConvertFaxTiffToPdf(args.input, args.output, options);
    if (!info) return Fail(info.error().message);
    std::cout << nlohmann::json{{"ok", true},
                                {"pages", info->pages},
                                {"bytes", info->bytes},
                                {"pdfa", args.pdfa}}
                     .dump()
              << std::endl;
    return 0;
}

}  // namespace

void AddRenderCommands(CLI::App& app, int* exit_code) {
    auto render_args = std::make_shared<RenderArgs>();
    auto* render =
        app.add_subcommand("render", "Turn documents (PDF, PostScript, images) into one fax TIFF, in order");
    render->add_option("inputs", render_args->inputs, "documents to fax, in order")
        ->required()
        ->check(CLI::ExistingFile);
    render->add_option("-o,--output", render_args->output, "the fax TIFF to write")->required();
    render
        ->add_option("--resolution", render_args->resolution,
                     "standard (204x98), fine (204x196), superfine (204x391)")
        ->check(CLI::IsMember({"standard", "fine", "superfine"}))
        ->capture_default_str();
    render->add_option("--header", render_args->header,
                       "header line text (sender or company) stamped on every page");
    render->add_option("--reference", render_args->reference, "reference number shown in the header line");
    render
        ->add_option("--header-format", render_args->header_format,
                     "long, short (text only) or page (text + page n/m)")
        ->check(CLI::IsMember({"long", "short", "page"}))
        ->capture_default_str();
    render->add_option("--cover", render_args->cover, "cover page template name (\"default\" is built in)");
    render->add_option("--cover-dir", render_args->cover_dir,
                       "directory of cover page templates (NAME_LANG.toml)");
    render->add_option("--language", render_args->language, "language of the cover page")
        ->capture_default_str();
    render->add_option("--cover-field", render_args->cover_fields,
                       "KEY=VALUE for the cover page (sender_name, recipient_fax, subject, comments, ...)");
    render->callback([render_args, exit_code] { *exit_code = RunRender(*render_args); });

    auto topdf_args = std::make_shared<TopdfArgs>();
    auto* topdf = app.add_subcommand("topdf", "Turn a fax TIFF into a PDF without re-rasterising its pages");
    topdf->add_option("input", topdf_args->input, "fax TIFF")->required()->check(CLI::ExistingFile);
    topdf->add_option("-o,--output", topdf_args->output, "the PDF to write")->required();
    topdf->add_flag("--pdfa", topdf_args->pdfa, "write PDF/A-1b for archiving");
    topdf->callback([topdf_args, exit_code] { *exit_code = RunTopdf(*topdf_args); });
}

}  // namespace faxd::app
