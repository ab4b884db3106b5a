// Tests of open_lock_target: creation, no truncation, symlink rules, and
// refusal of files that cannot serve as lock files.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "forked_holder.hpp"
#include "plock/sys/error.hpp"
#include "plock/sys/safe_open.hpp"
#include "test_support.hpp"

using namespace plock;

namespace {

constexpr uid_t k_nobody = 65534;

// Tests that change ownership need root, as the suite runs in CI.
void require_root() {
    INFO("this test changes file ownership: run the suite as root (as .ci/run does)");
    REQUIRE(test::running_as_root());
}

Operation failed_operation(const std::string& path, const OpenPolicy& policy = {}) {
    try {
        open_lock_target(path, policy);
    } catch (const SystemError& error) {
        return error.operation();
    }
    FAIL("open_lock_target(" << path << ") did not fail");
    return Operation::system;
}

Remedy failure_remedy(const std::string& path, const OpenPolicy& policy = {}) {
    try {
        open_lock_target(path, policy);
    } catch (const SystemError& error) {
        return error.remedy();
    }
    return Remedy::none;
}

std::string failure_message(const std::string& path, const OpenPolicy& policy = {}) {
    try {
        open_lock_target(path, policy);
    } catch (const SystemError& error) {
        return error.what();
    }
    return "(no error)";
}

class ScopedUmask {
public:
    explicit ScopedUmask(mode_t mask) : m_previous(umask(mask)) {}
    ~ScopedUmask() { umask(m_previous); }

private:
    mode_t m_previous;
};

}  // namespace

TEST_CASE("a missing file is created with mode 0666 minus the umask", "[safe_open]") {
    test::TempDir directory;
    const ScopedUmask mask(027);
    const OpenedFile opened = open_lock_target(directory / "new.lock", {});
    CHECK(opened.created);
    CHECK(opened.writable);
    CHECK((opened.status.st_mode & 07777) == 0640);
}

TEST_CASE("an existing file keeps its content", "[safe_open]") {
    test::TempDir directory;
    const std::string path = directory / "data.lock";
    test::write_file(path, "precious\n");
    const OpenedFile opened = open_lock_target(path, {});
    CHECK_FALSE(opened.created);
    CHECK(opened.writable);
    CHECK(test::read_file(path) == "precious\n");
}

TEST_CASE("a dangling symlink is refused and its target is not created", "[safe_open]") {
    test::TempDir directory;
    const std::string link = directory / "dangling.lock";
    REQUIRE(symlink((directory / "target").c_str(), link.c_str()) == 0);
    CHECK(failed_operation(link) == Operation::create);
    CHECK_THAT(failure_message(link), Catch::Contains("dangling symbolic link"));
    CHECK_FALSE(test::exists(directory / "target"));
}

TEST_CASE("a symlink in an ordinary directory is followed", "[safe_open]") {
    test::TempDir directory;
    test::write_file(directory / "real.lock", "x");
    REQUIRE(symlink("real.lock", (directory / "link.lock").c_str()) == 0);
    const OpenedFile opened = open_lock_target(directory / "link.lock", {});
    struct stat real {};
    REQUIRE(stat((directory / "real.lock").c_str(), &real) == 0);
    CHECK(opened.status.st_ino == real.st_ino);
}

TEST_CASE("another user's symlink in a sticky world-writable directory is refused", "[safe_open]") {
    require_root();
    test::TempDir directory;
    const std::string sticky = directory / "tmp";
    REQUIRE(mkdir(sticky.c_str(), 0777) == 0);
    REQUIRE(chmod(sticky.c_str(), 01777) == 0);
    test::write_file(directory / "victim", "do not touch\n");
    const std::string link = sticky + "/job.lock";
    REQUIRE(symlink((directory / "victim").c_str(), link.c_str()) == 0);
    REQUIRE(lchown(link.c_str(), k_nobody, k_nobody) == 0);

    CHECK(failed_operation(link) == Operation::open);
    const std::string message = failure_message(link);
    CHECK_THAT(message, Catch::Contains("symbolic link"));
    // That following it can be allowed is the CLI's to say (--follow).
    CHECK(failure_remedy(link) == Remedy::follow_foreign_symlink);

    OpenPolicy follow;
    follow.follow_foreign_symlinks = true;
    const OpenedFile opened = open_lock_target(link, follow);
    struct stat victim {};
    REQUIRE(stat((directory / "victim").c_str(), &victim) == 0);
    CHECK(opened.status.st_ino == victim.st_ino);
    CHECK(test::read_file(directory / "victim") == "do not touch\n");
}

TEST_CASE("our own symlink in a sticky directory is followed", "[safe_open]") {
    test::TempDir directory;
    const std::string sticky = directory / "tmp";
    REQUIRE(mkdir(sticky.c_str(), 0777) == 0);
    REQUIRE(chmod(sticky.c_str(), 01777) == 0);
    test::write_file(directory / "mine", "");
    REQUIRE(symlink((directory / "mine").c_str(), (sticky + "/mine.lock").c_str()) == 0);
    CHECK_NOTHROW(open_lock_target(sticky + "/mine.lock", {}));
}

TEST_CASE("refuse_symlinks refuses even our own symlink", "[safe_open]") {
    test::TempDir directory;
    test::write_file(directory / "real", "");
    REQUIRE(symlink("real", (directory / "link").c_str()) == 0);
    OpenPolicy policy;
    policy.refuse_symlinks = true;
    CHECK(failed_operation(directory / "link", policy) == Operation::open);
}

TEST_CASE("FIFOs and devices are refused without being opened", "[safe_open]") {
    test::TempDir directory;
    const std::string fifo = directory / "fifo";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THAT(failure_message(fifo), Catch::Contains("FIFO"));
    CHECK_THAT(failure_message("/dev/null"), Catch::Contains("character device"));
}

TEST_CASE("directories are accepted unless the policy says otherwise", "[safe_open]") {
    test::TempDir directory;
    const OpenedFile opened = open_lock_target(directory.path(), {});
    CHECK(S_ISDIR(opened.status.st_mode));
    CHECK_FALSE(opened.writable);
    CHECK_NOTHROW(open_lock_target(directory.path() + "/", {}));
    OpenPolicy no_directories;
    no_directories.allow_directory = false;
    REQUIRE(mkdir((directory / "sub").c_str(), 0700) == 0);
    CHECK_THAT(failure_message(directory / "sub", no_directories), Catch::Contains("directory"));
}

TEST_CASE("a missing parent directory is a creation error naming the directory", "[safe_open]") {
    test::TempDir directory;
    const std::string path = directory / "missing/x.lock";
    CHECK(failed_operation(path) == Operation::create);
    CHECK_THAT(failure_message(path), Catch::Contains("does not exist"));
    test::write_file(directory / "file", "");
    CHECK_THAT(failure_message(directory / "file/x.lock"), Catch::Contains("not a directory"));
}

TEST_CASE("without create a missing file is an open error", "[safe_open]") {
    test::TempDir directory;
    OpenPolicy policy;
    policy.create = false;
    CHECK(failed_operation(directory / "absent", policy) == Operation::open);
    CHECK_FALSE(test::exists(directory / "absent"));
}

TEST_CASE("a file we may only read is opened read-only", "[safe_open]") {
    require_root();
    test::TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    const std::string path = directory / "readable.lock";
    test::write_file(path, "content");
    REQUIRE(chmod(path.c_str(), 0644) == 0);
    test::ForkedHolder as_nobody([&] {
        if (setgroups(0, nullptr) != 0 || setresgid(k_nobody, k_nobody, k_nobody) != 0 ||
            setresuid(k_nobody, k_nobody, k_nobody) != 0) {
            return false;
        }
        const OpenedFile opened = open_lock_target(path, {});
        return !opened.writable && !opened.created;
    });
    CHECK(as_nobody.took());
    CHECK(test::read_file(path) == "content");
}

TEST_CASE("an empty path is a usage error", "[safe_open]") {
    CHECK_THROWS_AS(open_lock_target("", {}), UsageError);
}

TEST_CASE("with read_write access a file we may only read is an error not a read-only open", "[safe_open]") {
    require_root();
    test::TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    const std::string path = directory / "readable.lock";
    test::write_file(path, "content");
    REQUIRE(chmod(path.c_str(), 0644) == 0);
    test::ForkedHolder as_nobody([&] {
        if (setgroups(0, nullptr) != 0 || setresgid(k_nobody, k_nobody, k_nobody) != 0 ||
            setresuid(k_nobody, k_nobody, k_nobody) != 0) {
            return false;
        }
        OpenPolicy must_write;
        must_write.access = OpenAccess::read_write;
        try {
            open_lock_target(path, must_write);
        } catch (const SystemError& error) {
            return error.operation() == Operation::open && error.error_number() == EACCES;
        }
        return false;
    });
    CHECK(as_nobody.took());
}

TEST_CASE("with read_only access a writable file is opened read-only", "[safe_open]") {
    test::TempDir directory;
    const std::string path = directory / "w.lock";
    test::write_file(path, "x");
    OpenPolicy policy;
    policy.access = OpenAccess::read_only;
    const OpenedFile opened = open_lock_target(path, policy);
    CHECK_FALSE(opened.writable);
    CHECK((fcntl(opened.fd.get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
}
