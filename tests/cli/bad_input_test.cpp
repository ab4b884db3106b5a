// Bad input: each case must end with its documented status, one line on
// stderr that names the problem, the command not run, and no file created,
// truncated or deleted.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "test_support.hpp"

using namespace plock::test;

namespace {

constexpr uid_t k_nobody = 65534;

struct Case {
    std::string name;
    std::vector<std::string> arguments;  // "@" stands for the temp directory
    int status;
    std::string message;  // must appear in the one line on stderr
};

std::set<std::string> listing(const std::string& directory) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
        names.insert(entry.path().string() + ":" + std::to_string(entry.is_regular_file() && !entry.is_symlink()
                                                                     ? std::filesystem::file_size(entry.path())
                                                                     : 0));
    }
    return names;
}

void check_case(const Case& bad, const TempDir& directory, const RunOptions& options = {}) {
    INFO("case: " << bad.name);
    std::vector<std::string> arguments;
    for (std::string argument : bad.arguments) {
        const auto at = argument.find('@');
        if (at != std::string::npos) {
            argument.replace(at, 1, directory.path());
        }
        arguments.push_back(argument);
    }
    const std::string marker = directory.path() + "-ran";
    std::replace(arguments.begin(), arguments.end(), std::string("MARK"), "touch " + marker);
    const auto before = listing(directory.path());
    const Result result = run_plock(arguments, options);
    INFO("stderr: " << result.err);
    CHECK(result.status == bad.status);
    CHECK_THAT(result.err, Catch::StartsWith("plock: "));
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    CHECK_THAT(result.err, Catch::Contains(bad.message));
    CHECK(result.out.empty());
    CHECK_FALSE(exists(marker));
    CHECK(listing(directory.path()) == before);
}

}  // namespace

TEST_CASE("bad options and values and arguments exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "existing.lock", "keep me\n");
    const std::vector<Case> cases{
        {"unknown option", {"exec", "--bogus", "@/existing.lock", "--", "sh", "-c", "MARK"}, 64, "unknown option '--bogus'"},
        {"missing command", {"exec", "@/existing.lock"}, 64, "no command given"},
        {"nothing after --", {"exec", "@/existing.lock", "--"}, 64, "no command after '--'"},
        {"command without --", {"exec", "@/existing.lock", "sh", "-c", "MARK"}, 64, "after '--'"},
        {"timeout not a number", {"exec", "-w", "abc", "@/existing.lock", "-c", "MARK"}, 64, "'abc' for -w/--timeout"},
        {"negative timeout", {"exec", "-w", "-1", "@/existing.lock", "-c", "MARK"}, 64, "must not be negative"},
        {"timeout with unit", {"exec", "--timeout", "5s", "@/existing.lock", "-c", "MARK"}, 64, "-w/--timeout"},
        {"conflict code too large", {"exec", "-E", "300", "@/existing.lock", "-c", "MARK"}, 64, "'300' for -E/--conflict-exit-code"},
        {"conflict code not a number", {"try", "-E", "x", "@/existing.lock"}, 64, "-E/--conflict-exit-code"},
        {"empty lock path", {"exec", "", "-c", "MARK"}, 64, "lock file name is empty"},
        {"unknown method", {"exec", "--method", "posix", "@/existing.lock", "-c", "MARK"}, 64, "--method"},
        {"shared and exclusive", {"exec", "-s", "-x", "@/existing.lock", "-c", "MARK"}, 64, "exclusive"},
        {"nonblock and timeout", {"exec", "-n", "-w", "1", "@/existing.lock", "-c", "MARK"}, 64, "timeout"},
        {"-c and a command", {"exec", "@/existing.lock", "-c", "MARK", "--", "sh", "-c", "MARK"}, 64, "not both"},
        {"empty -c", {"exec", "@/existing.lock", "-c", ""}, 64, "-c/--command string is empty"},
        {"empty command name", {"exec", "@/existing.lock", "--", ""}, 64, "command name is empty"},
        {"--no-fork with --close", {"exec", "--no-fork", "-o", "@/existing.lock", "-c", "MARK"}, 64, "--no-fork"},
        {"verbose and quiet", {"exec", "-v", "-q", "@/existing.lock", "-c", "MARK"}, 64, "quiet"},
        {"no subcommand", {}, 64, "subcommand is required"},
        {"unknown subcommand", {"lock", "@/existing.lock"}, 64, "lock"},
        {"try has no -w", {"try", "-w", "1", "@/existing.lock"}, 64, "-w"},
    };
    for (const Case& bad : cases) {
        check_case(bad, directory);
    }
    CHECK(read_file(directory / "existing.lock") == "keep me\n");
}

TEST_CASE("bad slot counts and semaphore names exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    const auto sem = [](const std::string& count, const std::string& name, std::vector<std::string> rest) {
        std::vector<std::string> arguments{"sem", "-n", count, "--dir", "@", name};
        arguments.insert(arguments.end(), rest.begin(), rest.end());
        return arguments;
    };
    const std::vector<Case> cases{
        {"sem -n 0", sem("0", "s", {"-c", "MARK"}), 64, "invalid value '0' for -n/--slots: expected a number of slots from 1 to 1024"},
        {"sem -n -3", sem("-3", "s", {"-c", "MARK"}), 64, "invalid value '-3' for -n/--slots"},
        {"sem -n abc", sem("abc", "s", {"-c", "MARK"}), 64, "invalid value 'abc' for -n/--slots"},
        {"sem -n 1025", sem("1025", "s", {"-c", "MARK"}), 64, "invalid value '1025' for -n/--slots"},
        {"sem -n 1.5", sem("1.5", "s", {"-c", "MARK"}), 64, "invalid value '1.5' for -n/--slots"},
        {"sem -n +2", sem("+2", "s", {"-c", "MARK"}), 64, "invalid value '+2' for -n/--slots"},
        {"sem without -n", {"sem", "--dir", "@", "s", "-c", "MARK"}, 64, "give it with -n N"},
        {"sem name with a slash", sem("2", "a/b", {"-c", "MARK"}), 64, "must not contain '/'"},
        {"sem name starting with a dot", sem("2", ".s", {"-c", "MARK"}), 64, "must not start with '.'"},
        {"sem name ..", sem("2", "..", {"-c", "MARK"}), 64, "must not start with '.'"},
        {"sem empty name", sem("2", "", {"-c", "MARK"}), 64, "semaphore name is empty"},
        {"sem name too long", sem("2", std::string(201, 'x'), {"-c", "MARK"}), 64, "semaphore name is too long"},
        {"sem without a name", {"sem", "-n", "2", "--dir", "@", "-c", "MARK"}, 64, "semaphore name is empty"},
        {"sem without a command", sem("2", "s", {}), 64, "no command given"},
        {"sem command without --", sem("2", "s", {"sh", "-c", "MARK"}), 64, "as in 'plock sem NAME -- COMMAND...'"},
        {"sem --nonblock and -w", {"sem", "-n", "2", "--nonblock", "-w", "1", "--dir", "@", "s", "-c", "MARK"}, 64, "timeout"},
        {"sem -n taken for --nonblock", {"sem", "-n", "s", "--dir", "@", "-c", "MARK"}, 64, "invalid value 's' for -n/--slots"},
        {"sem --status with a command", {"sem", "-n", "2", "--status", "--dir", "@", "s", "-c", "MARK"}, 64, "--status only reports"},
        {"sem --status with -w", {"sem", "-n", "2", "--status", "-w", "1", "--dir", "@", "s"}, 64, "--status only reports"},
        {"sem --no-fork with --close", {"sem", "-n", "2", "--no-fork", "-o", "--dir", "@", "s", "-c", "MARK"}, 64, "--no-fork"},
        {"sem empty --dir", {"sem", "-n", "2", "--dir", "", "s", "-c", "MARK"}, 64, "--dir directory name is empty"},
    };
    for (const Case& bad : cases) {
        check_case(bad, directory);
    }
}

TEST_CASE("a semaphore directory that is missing or not a directory gives 73", "[bad_input]") {
    TempDir directory;
    write_file(directory / "plain", "x");
    const std::vector<Case> cases{
        {"sem directory missing", {"sem", "-n", "2", "--dir", "@/missing", "s", "-c", "MARK"}, 73,
         "directory " + directory.path() + "/missing does not exist"},
        {"sem directory is a file", {"sem", "-n", "2", "--dir", "@/plain", "s", "-c", "MARK"}, 73, "is not a directory"},
        {"sem --status directory missing", {"sem", "-n", "2", "--status", "--dir", "@/missing", "s"}, 73, "does not exist"},
    };
    for (const Case& bad : cases) {
        check_case(bad, directory);
    }
}

TEST_CASE("a symlink planted as a slot file is refused with 66", "[bad_input]") {
    TempDir directory;
    write_file(directory / "victim", "secret\n");
    write_file(directory / "s.size.lock", "");
    REQUIRE(symlink((directory / "victim").c_str(), (directory / "s.00.lock").c_str()) == 0);
    check_case({"slot symlink", {"sem", "-n", "2", "--dir", "@", "s", "-c", "MARK"}, 66,
                "s.00.lock: it is a symbolic link"}, directory);
    check_case({"slot symlink, nonblocking", {"sem", "-n", "2", "--nonblock", "--dir", "@", "s", "-c", "MARK"}, 66,
                "symbolic link"}, directory);
    CHECK(read_file(directory / "victim") == "secret\n");
}

TEST_CASE("a semaphore directory we may not write to gives 77 unless every slot file exists", "[bad_input]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    check_case({"sem directory not writable", {"sem", "-n", "2", "--dir", "@", "s", "-c", "MARK"}, 77,
                "is not writable (Permission denied)"}, directory, as_nobody);
    // Prepared by an administrator: files readable by all, directory closed.
    for (const std::string name : {"r.00.lock", "r.01.lock", "r.queue.lock", "r.size.lock"}) {
        write_file(directory / name, "");
        REQUIRE(chmod((directory / name).c_str(), 0644) == 0);
    }
    const Result result = run_plock({"sem", "-n", "2", "--dir", directory.path(), "r", "--", "sh", "-c", "echo $PLOCK_SLOT"}, as_nobody);
    INFO(result.err);
    CHECK(result.status == 0);
    CHECK(result.out == "0\n");
}

TEST_CASE("lock files that cannot be used are refused with 66 or 73", "[bad_input]") {
    TempDir directory;
    REQUIRE(mkfifo((directory / "fifo").c_str(), 0600) == 0);
    REQUIRE(symlink((directory / "nowhere").c_str(), (directory / "dangling.lock").c_str()) == 0);
    write_file(directory / "plain", "x");
    const std::string long_name(300, 'n');
    const std::vector<Case> cases{
        {"parent directory missing", {"exec", "@/missing/x.lock", "-c", "MARK"}, 73, "directory " + directory.path() + "/missing does not exist"},
        {"dangling symlink", {"exec", "@/dangling.lock", "-c", "MARK"}, 73, "dangling symbolic link"},
        {"FIFO", {"exec", "@/fifo", "-c", "MARK"}, 66, "is a FIFO"},
        {"character device", {"exec", "/dev/null", "-c", "MARK"}, 66, "character device"},
        {"parent is a file", {"exec", "@/plain/x.lock", "-c", "MARK"}, 73, "is not a directory"},
        {"name too long", {"exec", "@/" + long_name, "-c", "MARK"}, 66, "File name too long"},
        {"try on a FIFO", {"try", "@/fifo"}, 66, "is a FIFO"},
    };
    for (const Case& bad : cases) {
        check_case(bad, directory);
    }
    CHECK_FALSE(exists(directory / "nowhere"));
}

TEST_CASE("a directory we may not write to gives 77 and the command does not run", "[bad_input]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    check_case({"permission denied", {"exec", "@/x.lock", "-c", "MARK"}, 77, "Permission denied"}, directory, as_nobody);
}

TEST_CASE("another user's symlink in a sticky directory is refused and --follow allows it", "[bad_input]") {
    INFO("run the suite as root (as .ci/run does): the test plants a symlink owned by nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string sticky = directory / "tmp";
    REQUIRE(mkdir(sticky.c_str(), 0777) == 0);
    REQUIRE(chmod(sticky.c_str(), 01777) == 0);
    write_file(directory / "victim", "secret\n");
    REQUIRE(symlink((directory / "victim").c_str(), (sticky + "/job.lock").c_str()) == 0);
    REQUIRE(lchown((sticky + "/job.lock").c_str(), k_nobody, k_nobody) == 0);
    REQUIRE(symlink((directory / "not-created").c_str(), (sticky + "/planted.lock").c_str()) == 0);
    REQUIRE(lchown((sticky + "/planted.lock").c_str(), k_nobody, k_nobody) == 0);

    check_case({"foreign symlink", {"exec", "@/tmp/job.lock", "-c", "MARK"}, 66, "is a symbolic link owned by uid 65534"}, directory);
    check_case({"foreign dangling symlink", {"exec", "@/tmp/planted.lock", "-c", "MARK"}, 66, "symbolic link"}, directory);
    CHECK(read_file(directory / "victim") == "secret\n");
    CHECK_FALSE(exists(directory / "not-created"));
    CHECK(run_plock({"exec", "--follow", sticky + "/job.lock", "--", "true"}).status == 0);
    CHECK(read_file(directory / "victim") == "secret\n");
}

TEST_CASE("a lock file on a read-only file system that does not exist yet gives 73", "[bad_input]") {
    INFO("needs root and unshare(1) to mount a read-only tmpfs in a private mount namespace");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string mount_point = directory / "ro";
    REQUIRE(mkdir(mount_point.c_str(), 0755) == 0);
    // The script unmounts what it mounted, so nothing outlives the test even
    // where the mount namespace cannot be made private.
    const std::string script = "mount -t tmpfs -o ro tmpfs '" + mount_point + "' || exit 99; '" + plock_binary() +
                               "' exec '" + mount_point + "/x.lock' -- true; status=$?; umount '" + mount_point +
                               "'; exit $status";
    Result result = run({"unshare", "--mount", "sh", "-c", script});
    if (result.err.find("cannot change root filesystem propagation") != std::string::npos) {
        // In a chroot, / is not a mount point and cannot be made private.
        result = run({"unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script});
    }
    INFO(result.err);
    CHECK(result.status == 73);
    CHECK_THAT(result.err, Catch::Contains("Read-only file system") && Catch::Contains(mount_point + "/x.lock"));
}

TEST_CASE("a command that cannot be found or run has its own status", "[bad_input]") {
    TempDir directory;
    write_file(directory / "data", "not a program\n");
    REQUIRE(chmod((directory / "data").c_str(), 0644) == 0);
    write_file(directory / "a.lock", "");  // created before the command is looked for
    check_case({"command not found", {"exec", "@/a.lock", "--", "@/no-such-program"}, 127, "cannot run"}, directory);
    check_case({"command not executable", {"exec", "@/a.lock", "--", "@/data"}, 126, "Permission denied"}, directory);
    check_case({"no-fork command not found", {"exec", "--no-fork", "@/a.lock", "--", "@/no-such-program"}, 127, "No such file"}, directory);
}

TEST_CASE("bad pidguard options and combinations exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "job.pid", "123\n");
    const std::vector<Case> cases{
        {"no command", {"pidguard", "@/job.pid"}, 64, "no command given"},
        {"empty PID file name", {"pidguard", "", "-c", "MARK"}, 64, "PID file name is empty"},
        {"status with a command", {"pidguard", "--status", "@/job.pid", "-c", "MARK"}, 64, "--status cannot be combined with a command"},
        {"status with a command after --", {"pidguard", "--status", "@/job.pid", "--", "sh", "-c", "MARK"}, 64, "--status cannot be combined with a command"},
        {"status with --replace", {"pidguard", "--status", "--replace", "@/job.pid"}, 64, "--status cannot be combined with --replace"},
        {"status with -w", {"pidguard", "--status", "-w", "1", "@/job.pid"}, 64, "--status cannot be combined with -n or -w"},
        {"status with -E", {"pidguard", "--status", "-E", "1", "@/job.pid"}, 64, "--status cannot be combined with -E"},
        {"status with --no-fork", {"pidguard", "--status", "--no-fork", "@/job.pid"}, 64, "--status cannot be combined with --no-fork"},
        {"grace without replace", {"pidguard", "--grace", "5", "@/job.pid", "-c", "MARK"}, 64, "--grace needs --replace"},
        {"grace not a number", {"pidguard", "--replace", "--grace", "soon", "@/job.pid", "-c", "MARK"}, 64, "'soon' for --grace"},
        {"negative grace", {"pidguard", "--replace", "--grace", "-1", "@/job.pid", "-c", "MARK"}, 64, "must not be negative"},
        {"replace with -n", {"pidguard", "--replace", "-n", "@/job.pid", "-c", "MARK"}, 64, "--replace cannot be combined with -n or -w"},
        {"replace with -w", {"pidguard", "--replace", "-w", "2", "@/job.pid", "-c", "MARK"}, 64, "--replace cannot be combined with -n or -w"},
        {"bad timeout", {"pidguard", "-w", "x", "@/job.pid", "-c", "MARK"}, 64, "'x' for -w/--timeout"},
        {"-n and -w", {"pidguard", "-n", "-w", "1", "@/job.pid", "-c", "MARK"}, 64, "timeout"},
        {"unknown option", {"pidguard", "--method", "ofd", "@/job.pid", "-c", "MARK"}, 64, "unknown option '--method'"},
        {"command without --", {"pidguard", "@/job.pid", "sh", "-c", "MARK"}, 64, "after '--'"},
    };
    for (const Case& bad : cases) {
        check_case(bad, directory);
    }
    CHECK(read_file(directory / "job.pid") == "123\n");
}

TEST_CASE("PID files that cannot be used are refused with 66 or 73 and left as they were", "[bad_input]") {
    TempDir directory;
    REQUIRE(mkdir((directory / "dir.pid").c_str(), 0755) == 0);
    REQUIRE(mkfifo((directory / "fifo.pid").c_str(), 0600) == 0);
    write_file(directory / "target", "456\n");
    REQUIRE(symlink((directory / "target").c_str(), (directory / "link.pid").c_str()) == 0);
    write_file(directory / "notes.txt", "not a PID file\n");
    write_file(directory / "linked.pid", "789\n");
    REQUIRE(link((directory / "linked.pid").c_str(), (directory / "second-name").c_str()) == 0);
    write_file(directory / "plain", "x");
    const std::vector<Case> cases{
        {"directory", {"pidguard", "@/dir.pid", "-c", "MARK"}, 66, "is a directory"},
        {"FIFO", {"pidguard", "@/fifo.pid", "-c", "MARK"}, 66, "is a FIFO"},
        {"missing directory", {"pidguard", "@/missing/job.pid", "-c", "MARK"}, 73, "directory " + directory.path() + "/missing does not exist"},
        {"parent is a file", {"pidguard", "@/plain/job.pid", "-c", "MARK"}, 73, "is not a directory"},
        {"symbolic link", {"pidguard", "@/link.pid", "-c", "MARK"}, 66, "is a symbolic link"},
        {"not a PID file", {"pidguard", "@/notes.txt", "-c", "MARK"}, 66, "holds something other than a process ID"},
        {"hard link", {"pidguard", "@/linked.pid", "-c", "MARK"}, 66, "2 hard links"},
        {"character device", {"pidguard", "/dev/null", "-c", "MARK"}, 66, "character device"},
        {"status of a directory", {"pidguard", "--status", "@/dir.pid"}, 66, "is a directory"},
        {"status of a FIFO", {"pidguard", "--status", "@/fifo.pid"}, 66, "is a FIFO"},
        {"status of a symbolic link", {"pidguard", "--status", "@/link.pid"}, 66, "is a symbolic link"},
    };
    for (const Case& bad : cases) {
        check_case(bad, directory);
    }
    CHECK(read_file(directory / "target") == "456\n");
    CHECK(read_file(directory / "notes.txt") == "not a PID file\n");
    CHECK(read_file(directory / "linked.pid") == "789\n");
}

TEST_CASE("a PID file that may not be written gives 77 and is left as it was", "[bad_input]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    write_file(directory / "root.pid", "123\n");
    REQUIRE(chmod((directory / "root.pid").c_str(), 0644) == 0);
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    check_case({"read-only PID file", {"pidguard", "@/root.pid", "-c", "MARK"}, 77, "Permission denied"}, directory, as_nobody);
    check_case({"directory not writable", {"pidguard", "@/new.pid", "-c", "MARK"}, 77, "Permission denied"}, directory, as_nobody);
    CHECK(read_file(directory / "root.pid") == "123\n");
    // Reading is enough for a query.
    const Result status = run_plock({"pidguard", "--status", directory / "root.pid"}, as_nobody);
    CHECK(status.status == 1);
}
