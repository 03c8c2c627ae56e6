#include "mail/mail_template.hpp"

#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

const TemplateValues kValues = {{"reference", "2026.00000001"}, {"calling", "0301234"}, {"empty", ""}};

TEST(ExpandTemplateTest, ReplacesKnownPlaceholders) {
    EXPECT_EQ(ExpandTemplate("[{reference}] Fax received from {calling}", kValues),
              "[2026.00000001] Fax received from 0301234");
    EXPECT_EQ(ExpandTemplate("{calling}{calling}", kValues), "03012340301234");
    EXPECT_EQ(ExpandTemplate("a{empty}b", kValues), "ab");
    EXPECT_EQ(ExpandTemplate("", kValues), "");
    EXPECT_EQ(ExpandTemplate("no placeholders", {}), "no placeholders");
}

TEST(ExpandTemplateTest, UnknownPlaceholderStaysAsWritten) {
    EXPECT_EQ(ExpandTemplate("Fax from {caling} ({reference})", kValues),
              "Fax from {caling} (2026.00000001)");
}

TEST(ExpandTemplateTest, DoubledBracesAreLiteral) {
    EXPECT_EQ(ExpandTemplate("{{calling}} is {calling}", kValues), "{calling} is 0301234");
    EXPECT_EQ(ExpandTemplate("{{{calling}}}", kValues), "{0301234}");
    EXPECT_EQ(ExpandTemplate("a {{ b }} c", kValues), "a { b } c");
}

TEST(ExpandTemplateTest, BracesThatAreNoPlaceholderAreLiteral) {
    EXPECT_EQ(ExpandTemplate("p { margin: 0 } td{color:red}", kValues), "p { margin: 0 } td{color:red}");
    EXPECT_EQ(ExpandTemplate("{1abc} {calling", kValues), "{1abc} {calling");
    EXPECT_EQ(ExpandTemplate("}{", kValues), "}{");
    EXPECT_EQ(ExpandTemplate("{", kValues), "{");
    EXPECT_EQ(ExpandTemplate("{calling}}", kValues), "0301234}");
}

TEST(ExpandTemplateTest, ValuesAreNotExpandedAgain) {
    EXPECT_EQ(ExpandTemplate("{a}", {{"a", "{b}"}, {"b", "x"}}), "{b}");
}

TEST(ExpandHtmlTemplateTest, EscapesValuesNotTheTemplate) {
    EXPECT_EQ(ExpandHtmlTemplate("<td>{ident}</td>", {{"ident", "<script>alert('x')</script> & \"co\""}}),
              "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</td>");
}

TEST(ExpandHeaderTemplateTest, NoLineBreaksFromValuesOrTemplate) {
    EXPECT_EQ(ExpandHeaderTemplate("Fax from {calling}", {{"calling", "0301234\r\nBcc: victim@example.com"}}),
              "Fax from 0301234 Bcc: victim@example.com");
    EXPECT_EQ(ExpandHeaderTemplate("Fax\r\n from\t{calling}\n", kValues), "Fax from 0301234");
}

TEST(CheckTemplateTest, AcceptsKnownAndLiteralBraces) {
    const std::set<std::string> known = {"reference", "calling"};
    EXPECT_TRUE(CheckTemplate("[{reference}] from {calling}", known).has_value());
    EXPECT_TRUE(CheckTemplate("{{unknown}} and p { color: red }", known).has_value());
    EXPECT_TRUE(CheckTemplate("", known).has_value());
}

TEST(CheckTemplateTest, NamesTheFirstUnknownPlaceholderAndTheKnownOnes) {
    const auto checked = CheckTemplate("[{reference}] from {caling} {foo}", {"reference", "calling"});
    ASSERT_FALSE(checked.has_value());
    EXPECT_EQ(checked.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_EQ(checked.error().message, "unknown placeholder {caling}; known: {calling}, {reference}");
}

TEST(CheckTemplateTest, NothingKnown) {
    const auto checked = CheckTemplate("{x}", {});
    ASSERT_FALSE(checked.has_value());
    EXPECT_EQ(checked.error().message, "unknown placeholder {x}; known: none");
}

TEST(SafeFileNameTest, KeepsOrdinaryNames) {
    EXPECT_EQ(SafeFileName("F00501234567_T0509655637_2020-03-12_11_51_38_211.pdf"),
              "F00501234567_T0509655637_2020-03-12_11_51_38_211.pdf");
    EXPECT_EQ(SafeFileName("Fax von Müller +49 30.pdf"), "Fax von Müller +49 30.pdf");
    EXPECT_EQ(SafeFileName("a.b..c"), "a.b..c");
}

TEST(SafeFileNameTest, NoPathSeparatorsOrLeadingDots) {
    EXPECT_EQ(SafeFileName("../../etc/passwd"), "___.._etc_passwd");
    EXPECT_EQ(SafeFileName("..\\..\\boot.ini"), "___.._boot.ini");
    EXPECT_EQ(SafeFileName("/abs"), "_abs");
    EXPECT_EQ(SafeFileName(".hidden"), "_hidden");
    EXPECT_EQ(SafeFileName("."), "_");
    EXPECT_EQ(SafeFileName(".."), "__");
    EXPECT_EQ(SafeFileName(""), "unnamed");
}

TEST(SafeFileNameTest, ControlAndWindowsCharacters) {
    EXPECT_EQ(SafeFileName(std::string("a\0b\r\n\t\x7f", 7)), "a_b____");
    EXPECT_EQ(SafeFileName("c:*?\"<>|d"), "c_______d");
    EXPECT_EQ(SafeFileName("x\xc2\x85y"), "x_y");  // U+0085, a C1 control (NEL)
}

TEST(SafeFileNameTest, BidiControlsAndBrokenUtf8) {
    // U+202E RIGHT-TO-LEFT OVERRIDE would show "fax_fdp.exe" as "fax_exe.pdf".
    EXPECT_EQ(SafeFileName("fax_\xe2\x80\xaegpj.exe"), "fax__gpj.exe");
    EXPECT_EQ(SafeFileName("a\xff\xfe"
                           "b"),
              "a__b");
    EXPECT_EQ(SafeFileName("a\xc3"), "a_");                           // truncated sequence
    EXPECT_EQ(SafeFileName("a\xc0\xaf"), "a__");                      // overlong '/'
    EXPECT_EQ(SafeFileName("a\xed\xa0\x80"), "a___");                 // surrogate
    EXPECT_EQ(SafeFileName("\xf0\x9f\x93\xa0"), "\xf0\x9f\x93\xa0");  // U+1F4E0 FAX MACHINE
}

TEST(SafeFileNameTest, LongNamesAreCutAtACharacterBoundary) {
    std::string name = "a";
    for (int i = 0; i < 150; ++i) name += "ü";  // 2 bytes each
    const std::string safe = SafeFileName(name);
    EXPECT_LE(safe.size(), kMaxFileNameBytes);
    EXPECT_EQ(safe.size(), kMaxFileNameBytes - 1);  // "a" + 99 * "ü"; the 100th would need byte 201
    EXPECT_EQ(safe.back(), '\xbc');
}

TEST(SafeFileNameFromTemplateTest, ValuesFromTheNetworkCannotMakeAPath) {
    const std::string name =
        SafeFileNameFromTemplate("F{calling}_{id}", {{"calling", "../../../root/.ssh"}, {"id", "1"}});
    EXPECT_EQ(name, "F.._.._.._root_.ssh_1");
    EXPECT_EQ(name.find('/'), std::string::npos);
    EXPECT_EQ(SafeFileNameFromTemplate("{calling}", {{"calling", "../x"}}), "___x");
    EXPECT_EQ(SafeFileNameFromTemplate("{unknown}", {}), "{unknown}");
}

TEST(HtmlEscapeTest, AllFive) {
    EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(OneLineTest, CollapsesBreaksAndControls) {
    EXPECT_EQ(OneLine("  Offer\r\n for\t\tyou \x01 "), "Offer for you");
    EXPECT_EQ(OneLine("\r\n"), "");
    EXPECT_EQ(OneLine("Grüße"), "Grüße");
}

TEST(AbbreviateTest, CutsAtACharacterBoundaryWithEllipsis) {
    EXPECT_EQ(Abbreviate("short", 10), "short");
    EXPECT_EQ(Abbreviate("0123456789", 10), "0123456789");
    EXPECT_EQ(Abbreviate("0123456789A", 10), "0123456...");
    EXPECT_EQ(Abbreviate("aaaaüüü", 9), "aaaaü...");  // room for 6 bytes: "aaaa" and one ü
    EXPECT_EQ(Abbreviate("aaaaüüü", 8), "aaaa...");   // room for 5 bytes: half an ü is left out
    EXPECT_EQ(Abbreviate(std::string(1000, 'x'), 200).size(), 200u);
}

}  // namespace
}  // namespace faxd::mail
