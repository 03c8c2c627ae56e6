#include "mail/auth_results.hpp"

#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

TEST(AuthResults, DkimPassAlignedWithTheFromDomain) {
    const std::string mail =
        "Authentication-Results: mx.company.test;\r\n"
        "  dkim=pass (2048-bit key) header.d=mail.example.com header.s=sel;\r\n"
        "  spf=fail smtp.mailfrom=bounce.other.test\r\n"
        "From: anna@example.com\r\n\r\nbody\r\n";
    const auto verdict = CheckDkimSpfAlignment(mail, "mx.company.test", "anna@example.com");
    EXPECT_TRUE(verdict.aligned) << verdict.detail;
    EXPECT_EQ(verdict.detail, "dkim=pass header.d=mail.example.com");
}

TEST(AuthResults, SpfPassCountsWhenAligned) {
    const std::string mail =
        "Authentication-Results: MX.Company.Test 1; spf=pass smtp.mailfrom=anna@example.co.uk\r\n\r\nx";
    EXPECT_TRUE(CheckDkimSpfAlignment(mail, "mx.company.test", "anna@sales.example.co.uk").aligned);
}

TEST(AuthResults, AHeaderFromAnotherServerIsNotBelieved) {
    const std::string mail = "Authentication-Results: evil.test; dkim=pass header.d=example.com\r\n\r\nbody";
    const auto verdict = CheckDkimSpfAlignment(mail, "mx.company.test", "anna@example.com");
    EXPECT_FALSE(verdict.aligned);
    EXPECT_EQ(verdict.detail, "no Authentication-Results from mx.company.test");
}

TEST(AuthResults, APassForAnotherDomainIsNotAligned) {
    const std::string mail =
        "Authentication-Results: mx.company.test; dkim=pass header.d=mailer.test; spf=softfail\r\n\r\nbody";
    const auto verdict = CheckDkimSpfAlignment(mail, "mx.company.test", "anna@example.com");
    EXPECT_FALSE(verdict.aligned);
    EXPECT_EQ(verdict.detail, "dkim=pass for mailer.test, not aligned with example.com");
}

TEST(AuthResults, HeadersInTheBodyDoNotCount) {
    const std::string mail =
        "From: anna@example.com\r\n\r\nAuthentication-Results: mx.company.test; dkim=pass "
        "header.d=example.com\r\n";
    EXPECT_FALSE(CheckDkimSpfAlignment(mail, "mx.company.test", "anna@example.com").aligned);
}

TEST(AuthResults, OrganisationalDomain) {
    EXPECT_EQ(OrganisationalDomain("Mail.Sales.Example.COM"), "example.com");
    EXPECT_EQ(OrganisationalDomain("example.co.uk"), "example.co.uk");
    EXPECT_EQ(OrganisationalDomain("a.b.example.co.uk"), "example.co.uk");
    EXPECT_EQ(OrganisationalDomain("localhost"), "localhost");
}

}  // namespace
}  // namespace faxd::mail
