#include "app/render_command.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "render/fax_page.hpp"
#include "render/cover_page.hpp"
#include "render/fax_tiff.hpp"
#include "render/header_line.hpp"
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

// Re-encodes every page of `tiff` with the header line drawn at its top.
base::Result<void> StampHeaders(const std::filesystem::path& tiff, render::Resolution resolution,
                                const render::HeaderLine& header) {
    auto font = render::TextRasterizer::Open(render::kDefaultFont, 9, render::kFaxXDpi, render::YDpi(resolution));
    if (!font) return tl::unexpected(font.error());
    auto file = render::FaxTiff::Open(tiff);
    if (!file) return tl::unexpected(file.error());
    std::vector<render::BilevelPage> pages;
    do {
        auto info = file->PageInfo();
        if (!info) return tl::unexpected(info.error());
        auto bitmap = file->Decode(*info);
        if (!bitmap) return tl::unexpected(bitmap.error());
        render::BilevelPage page;
        page.width = static_cast<int>(bitmap->width);
        page.height = static_cast<int>(bitmap->height);
        page.bits.resize(page.Stride() * page.height);
        for (int y = 0; y < page.height; ++y)
            std::copy_n(bitmap->bits.begin() + static_cast<std::ptrdiff_t>(y * bitmap->stride), page.Stride(),
                        page.bits.begin() + static_cast<std::ptrdiff_t>(y * page.Stride()));
        pages.push_back(std::move(page));
    } while (file->NextPage());
    const int count = static_cast<int>(pages.size());
    for (int i = 0; i < count; ++i)
        if (auto stamped = render::StampHeaderLine(pages[i], header, i + 1, count, resolution, *font); !stamped)
            return stamped;
    return render::WriteFaxTiff(tiff, pages, resolution, render::FaxCompression::kT6);
}

std::string LocalDateTime() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
    return text;
}

int RunRender(const RenderArgs& args) {
    base::ConfigureLogging(base::LogLevel::kWarn);
    const auto start = std::chrono::steady_clock::now();
    render::RenderOptions options;
    options.resolution = args.resolution == "standard"    ? render::Resolution::kStandard
                         : args.resolution == "superfine" ? render::Resolution::kSuperfine
                                                          : render::Resolution::kFine;
    auto work = render::TempDir::Create(options.temp_parent, "faxctl-render");
    if (!work) return Fail(work.error().ToString());
    nlohmann::json documents = nlohmann::json::array();
    std::vector<std::filesystem::path> parts;
    for (std::size_t i = 0; i < args.inputs.size(); ++i) {
        const auto part = work->Path() / ("part" + std::to_string(i) + ".tif");
        auto rendered = render::RenderToFax(args.inputs[i], part, options);
        if (!rendered) return Fail(rendered.error().message);
        documents.push_back({{"file", args.inputs[i]},
                             {"type", std::string(render::DocumentTypeName(rendered->type))},
                             {"pages", rendered->pages}});
        parts.push_back(part);
    }
    // The cover page comes first; its {pages} counts itself.
    if (!args.cover.empty()) {
        auto cover = render::LoadCoverTemplate(args.cover_dir, args.cover, args.language);
        if (!cover) return Fail(cover.error().message);
        render::CoverFields fields;
        int document_pages = 0;
        for (const auto& document : documents) document_pages += document["pages"].get<int>();
        fields.values["pages"] = std::to_string(document_pages + 1);
        fields.values["date"] = LocalDateTime();
        fields.values["reference"] = args.reference;
        for (const auto& field : args.cover_fields) {
            const auto equals = field.find('=');
            if (equals == std::string::npos) return Fail("--cover-field wants KEY=VALUE, not '" + field + "'");
            fields.values[field.substr(0, equals)] = field.substr(equals + 1);
        }
        auto page = render::RenderCoverPage(*cover, fields, options.resolution, options.paper);
        if (!page) return Fail(page.error().message);
        const auto cover_tiff = work->Path() / "cover.tif";
        if (auto written = render::WriteFaxTiff(cover_tiff, std::span<const render::BilevelPage>(&*page, 1),
                                                options.resolution, render::FaxCompression::kT6);
            !written)
            return Fail(written.error().message);
        parts.insert(parts.begin(), cover_tiff);
    }
    // Several documents of one fax are joined in order.
    const auto joined = work->Path() / "joined.tif";
    auto pages = render::JoinFaxTiffs(parts, joined);
    if (!pages) return Fail(pages.error().message);
    if (!args.header.empty()) {
        render::HeaderLine header{args.header, LocalDateTime(), args.reference,
                                  args.header_format == "short"  ? render::HeaderFormat::kShort
                                  : args.header_format == "page" ? render::HeaderFormat::kHeadlinePage
                                                                 : render::HeaderFormat::kLong};
        if (auto stamped = StampHeaders(joined, options.resolution, header); !stamped)
            return Fail(stamped.error().message);
    }
    std::error_code ec;
    std::filesystem::copy_file(joined, args.output, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return Fail("cannot write " + args.output + ": " + ec.message());
    nlohmann::json out{{"ok", true},
                       {"pages", *pages},
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
    std::cout << nlohmann::json{{"ok", true}, {"pages", info->pages}, {"bytes", info->bytes}, {"pdfa", args.pdfa}}.dump()
              << std::endl;
    return 0;
}

}  // namespace

void AddRenderCommands(CLI::App& app, int* exit_code) {
    auto render_args = std::make_shared<RenderArgs>();
    auto* render = app.add_subcommand("render", "Turn documents (PDF, PostScript, images) into one fax TIFF, in order");
    render->add_option("inputs", render_args->inputs, "documents to fax, in order")->required()->check(CLI::ExistingFile);
    render->add_option("-o,--output", render_args->output, "the fax TIFF to write")->required();
    render->add_option("--resolution", render_args->resolution, "standard (204x98), fine (204x196), superfine (204x391)")
        ->check(CLI::IsMember({"standard", "fine", "superfine"}))
        ->capture_default_str();
    render->add_option("--header", render_args->header, "header line text (sender or company) stamped on every page");
    render->add_option("--reference", render_args->reference, "reference number shown in the header line");
    render->add_option("--header-format", render_args->header_format, "long, short (text only) or page (text + page n/m)")
        ->check(CLI::IsMember({"long", "short", "page"}))
        ->capture_default_str();
    render->add_option("--cover", render_args->cover, "cover page template name (\"default\" is built in)");
    render->add_option("--cover-dir", render_args->cover_dir, "directory of cover page templates (NAME_LANG.toml)");
    render->add_option("--language", render_args->language, "language of the cover page")->capture_default_str();
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
