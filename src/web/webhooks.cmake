# Webhook deliveries: signed POSTs to receivers, retried on a schedule, over libcurl.
find_package(CURL REQUIRED)
faxd_add_library(webhooks SOURCES webhook_sender.cpp DEPS faxd_core faxd_credentials CURL::libcurl)
