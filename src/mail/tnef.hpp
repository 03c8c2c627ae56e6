// The files inside an Outlook winmail.dat (application/ms-tnef), read from the TNEF stream as MS-OXTNEF
// describes it. Written here instead of using libytnef so that a hostile attachment meets only a small,
// bounds-checked reader that the MIME fuzzer covers.
//
// Only attached files are read: their data (attAttachData, else a binary PR_ATTACH_DATA_OBJ), their name
// (PR_ATTACH_LONG_FILENAME, else attAttachTitle) and MIME type (PR_ATTACH_MIME_TAG). The RTF message body and
// embedded OLE objects or messages are not: they are counted as skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace faxd::mail {

struct TnefFile {
    std::string name;       // UTF-8, possibly empty
    std::string mime_type;  // lower case, possibly empty
    std::string data;
};

struct TnefContent {
    std::vector<TnefFile> files;
    std::size_t skipped = 0;  // attachments without file data (embedded messages, OLE objects)
    bool truncated = false;   // the stream ended inside an attribute; files before it are complete
};

// kMalformed when the stream lacks the TNEF signature, kLimitExceeded beyond max_files attachments.
base::Result<TnefContent> ReadTnef(std::string_view bytes, std::size_t max_files);

}  // namespace faxd::mail
