// The document spool: originals as users sent them, rendered fax TIFFs, received faxes. The database holds
// only their names. A name is flat ("6f1c...e2.tif": 32 random hex digits and an optional extension); the
// file lives at <root>/6f/1c/<name> so no directory grows past 65,536 entries. Writes are atomic (temporary
// file, fsync, rename, fsync of the directory): after a crash a name either has its whole file or none.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace faxd::store {

class Spool {
public:
    // Creates the root directory when missing.
    static base::Result<Spool> Open(const std::filesystem::path& root);

    // Stores a document under a new name. `extension` ("tif", "pdf"; letters and digits, may be empty) is
    // kept so converters and downloads see the type.
    base::Result<std::string> Put(std::span<const std::byte> bytes, std::string_view extension = {});
    base::Result<std::string> Put(std::string_view bytes, std::string_view extension = {});
    // Copies a file into the spool (the source stays where it is).
    base::Result<std::string> PutFile(const std::filesystem::path& source, std::string_view extension = {});

    // Where a name lives. Refuses anything that is not a plain spool name (a '/', "..", a leading '.',
    // characters outside [A-Za-z0-9._-]), so a name from a request or a row never reaches outside the root.
    base::Result<std::filesystem::path> PathOf(std::string_view name) const;
    // Removes the document; a name that is already gone is not an error (purges may repeat).
    base::Result<void> Remove(std::string_view name);
    // Removes temporary files a crash left behind (".<name>.tmpXXXXXX"); returns how many.
    base::Result<int> RemoveLeftovers();

    const std::filesystem::path& root() const { return root_; }

    static bool IsValidName(std::string_view name);

private:
    explicit Spool(std::filesystem::path root) : root_(std::move(root)) {}
    base::Result<std::filesystem::path> NewTarget(std::string_view extension, std::string* name);

    std::filesystem::path root_;
};

}  // namespace faxd::store
