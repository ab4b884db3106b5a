// Implementation of the bad-input check.
#include "bad_input.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace plock::test {
namespace {

std::string substitute_directory(std::string text, const TempDir& directory) {
    for (auto at = text.find('@'); at != std::string::npos; at = text.find('@', at + directory.path().size())) {
        text.replace(at, 1, directory.path());
    }
    return text;
}

std::string describe(const std::string& path) {
    struct stat status {};
    if (lstat(path.c_str(), &status) != 0) {
        return "(gone)";
    }
    std::string text = "mode " + std::to_string(status.st_mode) + " size " + std::to_string(status.st_size) +
                       " inode " + std::to_string(status.st_ino);
    // A directory's time changes when a file is made and removed in it,
    // which the listing itself shows.
    if (!S_ISDIR(status.st_mode)) {
        text += " modified " + std::to_string(status.st_mtim.tv_sec) + "." + std::to_string(status.st_mtim.tv_nsec);
    }
    if (S_ISREG(status.st_mode) && status.st_size <= 4096) {
        text += " content '" + read_file(path) + "'";
    } else if (S_ISLNK(status.st_mode)) {
        std::error_code ignored;
        text += " target " + std::filesystem::read_symlink(path, ignored).string();
    }
    return text;
}

}  // namespace

std::map<std::string, std::string> snapshot(const std::string& directory) {
    std::map<std::string, std::string> files{{directory, describe(directory)}};
    for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
        files[entry.path().string()] = describe(entry.path().string());
    }
    return files;
}

std::string differences(const std::map<std::string, std::string>& before,
                        const std::map<std::string, std::string>& after) {
    std::string text;
    for (const auto& [path, was] : before) {
        const auto now = after.find(path);
        if (now == after.end()) {
            text += "deleted: " + path + "\n";
        } else if (now->second != was) {
            text += "changed: " + path + " from " + was + " to " + now->second + "\n";
        }
    }
    for (const auto& [path, is] : after) {
        if (!before.contains(path)) {
            text += "created: " + path + " (" + is + ")\n";
        }
    }
    return text;
}

void check_bad_input(const BadInput& bad, const TempDir& directory, const RunOptions& options) {
    INFO("case: " << bad.name);
    std::vector<std::string> arguments;
    for (const std::string& argument : bad.arguments) {
        arguments.push_back(substitute_directory(argument, directory));
    }
    const std::string marker = directory.path() + "-ran";
    std::replace(arguments.begin(), arguments.end(), std::string("MARK"), "touch " + marker);
    const auto before = snapshot(directory.path());
    const Result result = run_plock(arguments, options);
    INFO("stderr: " << result.err);
    CHECK(result.status == bad.status);
    CHECK_THAT(result.err, Catch::StartsWith("plock: ") && Catch::EndsWith("\n"));
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    CHECK_THAT(result.err, Catch::Contains(substitute_directory(bad.message, directory)));
    CHECK(result.out.empty());
    CHECK_FALSE(exists(marker));
    CHECK(differences(before, snapshot(directory.path())) == "");
}

void check_bad_inputs(const std::vector<BadInput>& cases, const TempDir& directory, const RunOptions& options) {
    for (const BadInput& bad : cases) {
        check_bad_input(bad, directory, options);
    }
}

}  // namespace plock::test
