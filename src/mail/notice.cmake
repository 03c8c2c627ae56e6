# The texts of the mails the e-mail gateway sends: templates with {placeholders}, received faxes, receipts,
# refusals and administrator alerts. Pure functions, no I/O.
faxd_add_library(mail_notice SOURCES mail_template.cpp fax_notices.cpp DEPS faxd_base)

faxd_add_test(mail_notice_test SOURCES mail_template_test.cpp fax_notices_test.cpp DEPS faxd_mail_notice)
