// Tests of FileReplacement: atomic replacement beside the target.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "plock/sys/atomic_file.hpp"
#include "plock/sys/error.hpp"
#include "test_support.hpp"

using namespace plock;

namespace {

std::set<std::string> names_in(const std::string& directory) {
    std::set<std::string> names;
    DIR* listing = opendir(directory.c_str());
    REQUIRE(listing != nullptr);
    while (const dirent* entry = readdir(listing)) {
        names.insert(entry->d_name);
    }
    closedir(listing);
    return names;
}

void write_all(int fd, const std::string& text) {
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

}  // namespace

TEST_CASE("a committed replacement takes the old file's place with its mode", "[atomic_file]") {
    test::TempDir directory;
    const std::string target = directory / "file";
    test::write_file(target, "old");
    REQUIRE(chmod(target.c_str(), 0751) == 0);
    struct stat old {};
    REQUIRE(stat(target.c_str(), &old) == 0);
    {
        FileReplacement replacement = FileReplacement::create(target);
        write_all(replacement.fd(), "new content");
        CHECK(test::read_file(target) == "old");  // nothing visible before commit
        replacement.commit(old);
    }
    CHECK(test::read_file(target) == "new content");
    struct stat now {};
    REQUIRE(stat(target.c_str(), &now) == 0);
    CHECK((now.st_mode & 07777) == 0751);
    CHECK(now.st_ino != old.st_ino);
    CHECK(names_in(directory.path()) == std::set<std::string>{".", "..", "file"});
}

TEST_CASE("a replacement that is not committed leaves the directory as it was", "[atomic_file]") {
    test::TempDir directory;
    const std::string target = directory / "file";
    test::write_file(target, "old");
    {
        FileReplacement replacement = FileReplacement::create(target);
        write_all(replacement.fd(), "abandoned");
    }
    CHECK(test::read_file(target) == "old");
    CHECK(names_in(directory.path()) == std::set<std::string>{".", "..", "file"});
}

TEST_CASE("a replacement in a missing directory is a create error naming it", "[atomic_file]") {
    test::TempDir directory;
    try {
        FileReplacement::create(directory / "none/file");
        FAIL("no error");
    } catch (const SystemError& error) {
        CHECK(error.operation() == Operation::create);
        CHECK_THAT(error.what(), Catch::Contains("directory " + directory / "none" + " does not exist"));
    }
}
