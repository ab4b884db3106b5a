// Bad input: each case must end with its documented status, one line on
// stderr that names the problem, the command not run, and no file created,
// truncated or deleted (check_bad_input in tests/support/bad_input.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "bad_input.hpp"
#include "cli/exit_code.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::test;

TEST_CASE("bad options and values and arguments exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "existing.lock", "keep me\n");
    const std::vector<BadInput> cases{
        {"unknown option", {"exec", "--bogus", "@/existing.lock", "--", "sh", "-c", "MARK"}, exit_code::k_usage, "unknown option '--bogus'"},
        {"missing command", {"exec", "@/existing.lock"}, exit_code::k_usage, "no command given"},
        {"nothing after --", {"exec", "@/existing.lock", "--"}, exit_code::k_usage, "no command after '--'"},
        {"command without --", {"exec", "@/existing.lock", "sh", "-c", "MARK"}, exit_code::k_usage, "after '--'"},
        {"timeout not a number", {"exec", "-w", "abc", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "'abc' for -w/--timeout"},
        {"negative timeout", {"exec", "-w", "-1", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "must not be negative"},
        {"timeout with unit", {"exec", "--timeout", "5s", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "-w/--timeout"},
        {"conflict code too large", {"exec", "-E", "300", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "'300' for -E/--conflict-exit-code"},
        {"conflict code not a number", {"try", "-E", "x", "@/existing.lock"}, exit_code::k_usage, "-E/--conflict-exit-code"},
        {"empty lock path", {"exec", "", "-c", "MARK"}, exit_code::k_usage, "lock file name is empty"},
        {"unknown method", {"exec", "--method", "posix", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "--method"},
        {"shared and exclusive", {"exec", "-s", "-x", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "exclusive"},
        {"nonblock and timeout", {"exec", "-n", "-w", "1", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "timeout"},
        {"-c and a command", {"exec", "@/existing.lock", "-c", "MARK", "--", "sh", "-c", "MARK"}, exit_code::k_usage, "not both"},
        {"empty -c", {"exec", "@/existing.lock", "-c", ""}, exit_code::k_usage, "-c/--command string is empty"},
        {"empty command name", {"exec", "@/existing.lock", "--", ""}, exit_code::k_usage, "command name is empty"},
        {"--no-fork with --close", {"exec", "--no-fork", "-o", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "--no-fork"},
        {"verbose and quiet", {"exec", "-v", "-q", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "quiet"},
        {"no subcommand", {}, exit_code::k_usage, "subcommand is required"},
        {"unknown subcommand", {"lok", "@/existing.lock"}, exit_code::k_usage, "unknown subcommand 'lok'"},
        {"try has no -w", {"try", "-w", "1", "@/existing.lock"}, exit_code::k_usage, "-w"},
    };
    check_bad_inputs(cases, directory);
    CHECK(read_file(directory / "existing.lock") == "keep me\n");
}

TEST_CASE("bad time limits and grace periods exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "existing.lock", "keep me\n");
    const std::vector<BadInput> cases{
        {"time limit zero", {"exec", "--time-limit", "0", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage,
         "invalid value '0' for --time-limit: must be more than 0 seconds"},
        {"time limit not a number", {"exec", "--time-limit", "soon", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage,
         "invalid value 'soon' for --time-limit"},
        {"negative time limit", {"sem", "-n", "2", "--dir", "@", "--time-limit", "-5", "s", "-c", "MARK"},
         exit_code::k_usage, "invalid value '-5' for --time-limit: must not be negative"},
        {"time limit with --no-fork", {"exec", "--no-fork", "--time-limit", "5", "@/existing.lock", "-c", "MARK"},
         exit_code::k_usage, "--time-limit and --no-fork cannot be combined"},
        {"try time limit without a command", {"try", "--time-limit", "5", "@/existing.lock"}, exit_code::k_usage,
         "--time-limit needs a command"},
        {"grace without a time limit", {"exec", "--grace", "5", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage,
         "--grace needs --time-limit"},
        {"sem grace without a time limit", {"sem", "-n", "2", "--dir", "@", "--grace", "5", "s", "-c", "MARK"},
         exit_code::k_usage, "--grace needs --time-limit"},
        {"negative grace with a time limit", {"try", "--time-limit", "5", "--grace", "-1", "@/existing.lock", "-c", "MARK"},
         exit_code::k_usage, "invalid value '-1' for --grace: must not be negative"},
        {"sem --status with a time limit", {"sem", "-n", "2", "--status", "--time-limit", "5", "--dir", "@", "s"},
         exit_code::k_usage, "--status only reports"},
        {"pidguard --status with a time limit", {"pidguard", "--status", "--time-limit", "5", "@/job.pid"},
         exit_code::k_usage, "--status cannot be combined with --time-limit"},
        {"pidguard time limit with --no-fork", {"pidguard", "--no-fork", "--time-limit", "5", "@/job.pid", "-c", "MARK"},
         exit_code::k_usage, "--time-limit and --no-fork cannot be combined"},
    };
    check_bad_inputs(cases, directory);
    CHECK(read_file(directory / "existing.lock") == "keep me\n");
}

TEST_CASE("bad slot counts and semaphore names exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    const auto sem = [](const std::string& count, const std::string& name, std::vector<std::string> rest) {
        std::vector<std::string> arguments{"sem", "-n", count, "--dir", "@", name};
        arguments.insert(arguments.end(), rest.begin(), rest.end());
        return arguments;
    };
    const std::vector<BadInput> cases{
        {"sem -n 0", sem("0", "s", {"-c", "MARK"}), exit_code::k_usage, "invalid value '0' for -n/--slots: expected a number of slots from 1 to 1024"},
        {"sem -n -3", sem("-3", "s", {"-c", "MARK"}), exit_code::k_usage, "invalid value '-3' for -n/--slots"},
        {"sem -n abc", sem("abc", "s", {"-c", "MARK"}), exit_code::k_usage, "invalid value 'abc' for -n/--slots"},
        {"sem -n 1025", sem("1025", "s", {"-c", "MARK"}), exit_code::k_usage, "invalid value '1025' for -n/--slots"},
        {"sem -n 1.5", sem("1.5", "s", {"-c", "MARK"}), exit_code::k_usage, "invalid value '1.5' for -n/--slots"},
        {"sem -n +2", sem("+2", "s", {"-c", "MARK"}), exit_code::k_usage, "invalid value '+2' for -n/--slots"},
        {"sem without -n", {"sem", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage, "give it with -n N"},
        {"sem name with a slash", sem("2", "a/b", {"-c", "MARK"}), exit_code::k_usage, "must not contain '/' (use --dir for the directory)"},
        {"sem name starting with a dot", sem("2", ".s", {"-c", "MARK"}), exit_code::k_usage, "must not start with '.'"},
        {"sem name ..", sem("2", "..", {"-c", "MARK"}), exit_code::k_usage, "must not start with '.'"},
        {"sem empty name", sem("2", "", {"-c", "MARK"}), exit_code::k_usage, "semaphore name is empty"},
        {"sem name too long", sem("2", std::string(201, 'x'), {"-c", "MARK"}), exit_code::k_usage, "semaphore name is too long"},
        {"sem without a name", {"sem", "-n", "2", "--dir", "@", "-c", "MARK"}, exit_code::k_usage, "semaphore name is empty"},
        {"sem without a command", sem("2", "s", {}), exit_code::k_usage, "no command given"},
        {"sem command without --", sem("2", "s", {"sh", "-c", "MARK"}), exit_code::k_usage, "as in 'plock sem NAME -- COMMAND...'"},
        {"sem --nonblock and -w", {"sem", "-n", "2", "--nonblock", "-w", "1", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage, "timeout"},
        {"sem -n taken for --nonblock", {"sem", "-n", "s", "--dir", "@", "-c", "MARK"}, exit_code::k_usage, "invalid value 's' for -n/--slots"},
        {"sem --status with a command", {"sem", "-n", "2", "--status", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage, "--status only reports"},
        {"sem --status with -w", {"sem", "-n", "2", "--status", "-w", "1", "--dir", "@", "s"}, exit_code::k_usage, "--status only reports"},
        {"sem --no-fork with --close", {"sem", "-n", "2", "--no-fork", "-o", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage, "--no-fork"},
        {"sem empty --dir", {"sem", "-n", "2", "--dir", "", "s", "-c", "MARK"}, exit_code::k_usage, "--dir directory name is empty"},
    };
    check_bad_inputs(cases, directory);
}

TEST_CASE("a semaphore directory that is missing or not a directory gives 73 to sem and 66 to a query", "[bad_input]") {
    TempDir directory;
    write_file(directory / "plain", "x");
    const std::vector<BadInput> cases{
        {"sem directory missing", {"sem", "-n", "2", "--dir", "@/missing", "s", "-c", "MARK"}, exit_code::k_cannot_create,
         "cannot create semaphore s in @/missing: directory @/missing does not exist"},
        {"sem directory is a file", {"sem", "-n", "2", "--dir", "@/plain", "s", "-c", "MARK"}, exit_code::k_cannot_create,
         "@/plain is not a directory"},
        {"sem directory under a file", {"sem", "-n", "2", "--dir", "@/plain/d", "s", "-c", "MARK"}, exit_code::k_cannot_create,
         "a component of @/plain/d is not a directory"},
        {"sem --status directory missing", {"sem", "-n", "2", "--status", "--dir", "@/missing", "s"}, exit_code::k_cannot_open,
         "cannot open semaphore s in @/missing: directory @/missing does not exist"},
        {"sem --status directory is a file", {"sem", "-n", "2", "--status", "--dir", "@/plain", "s"}, exit_code::k_cannot_open,
         "@/plain is not a directory"},
        {"status --sem directory missing", {"status", "--sem", "s", "-n", "2", "--dir", "@/missing"}, exit_code::k_cannot_open,
         "cannot open semaphore s in @/missing: directory @/missing does not exist"},
        {"status --sem directory is a file", {"status", "--sem", "s", "-n", "2", "--dir", "@/plain"}, exit_code::k_cannot_open,
         "@/plain is not a directory"},
    };
    check_bad_inputs(cases, directory);
}

TEST_CASE("a symlink planted as a slot file is refused with 66", "[bad_input]") {
    TempDir directory;
    write_file(directory / "victim", "secret\n");
    write_file(directory / "s.size.lock", "");
    REQUIRE(symlink((directory / "victim").c_str(), (directory / "s.00.lock").c_str()) == 0);
    check_bad_input({"slot symlink", {"sem", "-n", "2", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_cannot_open,
                "s.00.lock: it is a symbolic link"}, directory);
    check_bad_input({"slot symlink, nonblocking", {"sem", "-n", "2", "--nonblock", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_cannot_open,
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
    check_bad_input({"sem directory not writable", {"sem", "-n", "2", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_permission,
                "is not writable (Permission denied)"}, directory, as_nobody);
    // Prepared by an administrator: files readable by all, directory closed.
    for (const std::string name : {"r.00.lock", "r.01.lock", "r.queue.lock", "r.size.lock"}) {
        write_file(directory / name, "");
        REQUIRE(chmod((directory / name).c_str(), 0644) == 0);
    }
    const Result result = run_plock({"sem", "-n", "2", "--dir", directory.path(), "r", "--", "sh", "-c", "echo $PLOCK_SLOT"}, as_nobody);
    INFO(result.err);
    CHECK(result.status == exit_code::k_success);
    CHECK(result.out == "0\n");
}

TEST_CASE("lock files that cannot be used are refused with 66 or 73", "[bad_input]") {
    TempDir directory;
    REQUIRE(mkfifo((directory / "fifo").c_str(), 0600) == 0);
    REQUIRE(symlink((directory / "nowhere").c_str(), (directory / "dangling.lock").c_str()) == 0);
    write_file(directory / "plain", "x");
    const std::string long_name(300, 'n');
    const std::vector<BadInput> cases{
        {"parent directory missing", {"exec", "@/missing/x.lock", "-c", "MARK"}, exit_code::k_cannot_create, "directory " + directory.path() + "/missing does not exist"},
        {"dangling symlink", {"exec", "@/dangling.lock", "-c", "MARK"}, exit_code::k_cannot_create, "dangling symbolic link"},
        {"FIFO", {"exec", "@/fifo", "-c", "MARK"}, exit_code::k_cannot_open, "is a FIFO"},
        {"character device", {"exec", "/dev/null", "-c", "MARK"}, exit_code::k_cannot_open, "character device"},
        {"parent is a file", {"exec", "@/plain/x.lock", "-c", "MARK"}, exit_code::k_cannot_create, "is not a directory"},
        {"name too long", {"exec", "@/" + long_name, "-c", "MARK"}, exit_code::k_cannot_open, "File name too long"},
        {"try on a FIFO", {"try", "@/fifo"}, exit_code::k_cannot_open, "is a FIFO"},
    };
    check_bad_inputs(cases, directory);
    CHECK_FALSE(exists(directory / "nowhere"));
}

TEST_CASE("a directory we may not write to gives 77 and the command does not run", "[bad_input]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    check_bad_input({"permission denied", {"exec", "@/x.lock", "-c", "MARK"}, exit_code::k_permission, "Permission denied"}, directory, as_nobody);
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

    check_bad_input({"foreign symlink", {"exec", "@/tmp/job.lock", "-c", "MARK"}, exit_code::k_cannot_open, "is a symbolic link owned by uid 65534"}, directory);
    check_bad_input({"foreign symlink, the way out", {"exec", "@/tmp/job.lock", "-c", "MARK"}, exit_code::k_cannot_open, "refusing to follow it (--follow allows it)"}, directory);
    check_bad_input({"foreign dangling symlink", {"exec", "@/tmp/planted.lock", "-c", "MARK"}, exit_code::k_cannot_open, "symbolic link"}, directory);
    CHECK(read_file(directory / "victim") == "secret\n");
    CHECK_FALSE(exists(directory / "not-created"));
    CHECK(run_plock({"exec", "--follow", sticky + "/job.lock", "--", "true"}).status == exit_code::k_success);
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
    CHECK(result.status == exit_code::k_cannot_create);
    CHECK_THAT(result.err, Catch::Contains("Read-only file system") && Catch::Contains(mount_point + "/x.lock"));
}

TEST_CASE("a command that cannot be found or run has its own status", "[bad_input]") {
    TempDir directory;
    write_file(directory / "data", "not a program\n");
    REQUIRE(chmod((directory / "data").c_str(), 0644) == 0);
    write_file(directory / "a.lock", "");  // created before the command is looked for
    check_bad_input({"command not found", {"exec", "@/a.lock", "--", "@/no-such-program"}, exit_code::k_not_found, "cannot run"}, directory);
    check_bad_input({"command not executable", {"exec", "@/a.lock", "--", "@/data"}, exit_code::k_not_executable, "Permission denied"}, directory);
    check_bad_input({"no-fork command not found", {"exec", "--no-fork", "@/a.lock", "--", "@/no-such-program"}, exit_code::k_not_found, "No such file"}, directory);
}

TEST_CASE("bad pidguard options and combinations exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "job.pid", "123\n");
    const std::vector<BadInput> cases{
        {"no command", {"pidguard", "@/job.pid"}, exit_code::k_usage, "no command given"},
        {"empty PID file name", {"pidguard", "", "-c", "MARK"}, exit_code::k_usage, "PID file name is empty"},
        {"status with a command", {"pidguard", "--status", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "--status cannot be combined with a command"},
        {"status with a command after --", {"pidguard", "--status", "@/job.pid", "--", "sh", "-c", "MARK"}, exit_code::k_usage, "--status cannot be combined with a command"},
        {"status with --replace", {"pidguard", "--status", "--replace", "@/job.pid"}, exit_code::k_usage, "--status cannot be combined with --replace"},
        {"status with -w", {"pidguard", "--status", "-w", "1", "@/job.pid"}, exit_code::k_usage, "--status cannot be combined with -n or -w"},
        {"status with -E", {"pidguard", "--status", "-E", "1", "@/job.pid"}, exit_code::k_usage, "--status cannot be combined with -E"},
        {"status with --no-fork", {"pidguard", "--status", "--no-fork", "@/job.pid"}, exit_code::k_usage, "--status cannot be combined with --no-fork"},
        {"grace without replace", {"pidguard", "--grace", "5", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "--grace needs --replace"},
        {"grace not a number", {"pidguard", "--replace", "--grace", "soon", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "'soon' for --grace"},
        {"negative grace", {"pidguard", "--replace", "--grace", "-1", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "must not be negative"},
        {"replace with -n", {"pidguard", "--replace", "-n", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "--replace cannot be combined with -n or -w"},
        {"replace with -w", {"pidguard", "--replace", "-w", "2", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "--replace cannot be combined with -n or -w"},
        {"bad timeout", {"pidguard", "-w", "x", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "'x' for -w/--timeout"},
        {"-n and -w", {"pidguard", "-n", "-w", "1", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "timeout"},
        {"unknown option", {"pidguard", "--method", "ofd", "@/job.pid", "-c", "MARK"}, exit_code::k_usage, "unknown option '--method'"},
        {"command without --", {"pidguard", "@/job.pid", "sh", "-c", "MARK"}, exit_code::k_usage, "after '--'"},
    };
    check_bad_inputs(cases, directory);
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
    const std::vector<BadInput> cases{
        {"directory", {"pidguard", "@/dir.pid", "-c", "MARK"}, exit_code::k_cannot_open, "is a directory"},
        {"FIFO", {"pidguard", "@/fifo.pid", "-c", "MARK"}, exit_code::k_cannot_open, "is a FIFO"},
        {"missing directory", {"pidguard", "@/missing/job.pid", "-c", "MARK"}, exit_code::k_cannot_create, "directory " + directory.path() + "/missing does not exist"},
        {"parent is a file", {"pidguard", "@/plain/job.pid", "-c", "MARK"}, exit_code::k_cannot_create, "is not a directory"},
        {"symbolic link", {"pidguard", "@/link.pid", "-c", "MARK"}, exit_code::k_cannot_open, "is a symbolic link"},
        {"not a PID file", {"pidguard", "@/notes.txt", "-c", "MARK"}, exit_code::k_cannot_open, "holds something other than a process ID"},
        {"hard link", {"pidguard", "@/linked.pid", "-c", "MARK"}, exit_code::k_cannot_open, "2 hard links"},
        {"character device", {"pidguard", "/dev/null", "-c", "MARK"}, exit_code::k_cannot_open, "character device"},
        {"status of a directory", {"pidguard", "--status", "@/dir.pid"}, exit_code::k_cannot_open, "is a directory"},
        {"status of a FIFO", {"pidguard", "--status", "@/fifo.pid"}, exit_code::k_cannot_open, "is a FIFO"},
        {"status of a symbolic link", {"pidguard", "--status", "@/link.pid"}, exit_code::k_cannot_open, "is a symbolic link"},
    };
    check_bad_inputs(cases, directory);
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
    check_bad_input({"read-only PID file", {"pidguard", "@/root.pid", "-c", "MARK"}, exit_code::k_permission, "Permission denied"}, directory, as_nobody);
    check_bad_input({"directory not writable", {"pidguard", "@/new.pid", "-c", "MARK"}, exit_code::k_permission, "Permission denied"}, directory, as_nobody);
    CHECK(read_file(directory / "root.pid") == "123\n");
    // Reading is enough for a query.
    const Result status = run_plock({"pidguard", "--status", directory / "root.pid"}, as_nobody);
    CHECK(status.status == exit_code::k_query_stale);
}

TEST_CASE("bad timeouts and conflict exit codes are refused by every subcommand with 64", "[bad_input]") {
    TempDir directory;
    write_file(directory / "file", "keep me\n");
    // The words before and after the option under test, for each subcommand.
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> commands{
        {{"exec"}, {"@/file", "-c", "MARK"}},
        {{"try"}, {"@/file"}},
        {{"sem", "-n", "2", "--dir", "@"}, {"s", "-c", "MARK"}},
        {{"pidguard"}, {"@/job.pid", "-c", "MARK"}},
        {{"redis", "--url", "redis://127.0.0.1:1"}, {"job", "-c", "MARK"}},
        {{"update"}, {"@/file", "-c", "MARK"}},
    };
    const std::vector<std::pair<std::vector<std::string>, std::string>> options{
        {{"-w", "nan"}, "invalid value 'nan' for -w/--timeout: expected a number of seconds"},
        {{"-w", "inf"}, "invalid value 'inf' for -w/--timeout: expected a number of seconds"},
        {{"-w", "1e300"}, "invalid value '1e300' for -w/--timeout: too large"},
        {{"-w", "-0.5"}, "invalid value '-0.5' for -w/--timeout: must not be negative"},
        {{"-w", ""}, "invalid value '' for -w/--timeout: expected a number of seconds"},
        {{"-E", "256"}, "invalid value '256' for -E/--conflict-exit-code: expected a number from 0 to 255"},
        {{"-E", "-1"}, "invalid value '-1' for -E/--conflict-exit-code"},
        {{"-E", "99999999999999999999"}, "invalid value '99999999999999999999' for -E/--conflict-exit-code"},
    };
    for (const auto& [before, after] : commands) {
        for (const auto& [option, message] : options) {
            if (before.front() == "try" && option.front() == "-w") {
                continue;  // try has no -w: "try has no -w" above
            }
            std::vector<std::string> arguments = before;
            arguments.insert(arguments.end(), option.begin(), option.end());
            arguments.insert(arguments.end(), after.begin(), after.end());
            check_bad_input({before.front() + " " + option[0] + " '" + option[1] + "'", arguments, exit_code::k_usage, message},
                       directory);
        }
    }
    CHECK(read_file(directory / "file") == "keep me\n");
}

TEST_CASE("bad status options and combinations exit 64 with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "a.lock", "");
    const std::vector<BadInput> cases{
        {"status with nothing to look at", {"status"}, exit_code::k_usage, "nothing to look at"},
        {"status of a PATH and --sem", {"status", "@/a.lock", "--sem", "s", "-n", "2"}, exit_code::k_usage,
         "give only one of PATH..., --sem NAME, --pidfile PIDFILE and --redis NAME"},
        {"status --pidfile and --redis", {"status", "--pidfile", "@/p", "--redis", "job"}, exit_code::k_usage, "give only one of"},
        {"status -n without --sem", {"status", "-n", "2", "@/a.lock"}, exit_code::k_usage, "-n/--slots and --dir only go with --sem NAME"},
        {"status --dir without --sem", {"status", "--dir", "@", "@/a.lock"}, exit_code::k_usage, "only go with --sem NAME"},
        {"status --url without --redis", {"status", "--url", "redis://127.0.0.1:1", "@/a.lock"}, exit_code::k_usage,
         "--url, --password-file and --key-prefix only go with --redis NAME"},
        {"status --json and -q", {"status", "--json", "-q", "@/a.lock"}, exit_code::k_usage, "--json excludes --quiet"},
        {"status with a command", {"status", "@/a.lock", "--", "sh", "-c", "MARK"}, exit_code::k_usage,
         "plock status runs no command: nothing goes after '--'"},
        {"status unknown option", {"status", "--wait", "@/a.lock"}, exit_code::k_usage, "unknown option '--wait' for 'plock status'"},
        {"status --sem without -n", {"status", "--sem", "s", "--dir", "@"}, exit_code::k_usage, "give it with -n N"},
        {"status --sem -n 99999", {"status", "--sem", "s", "-n", "99999", "--dir", "@"}, exit_code::k_usage,
         "invalid value '99999' for -n/--slots"},
        {"status --sem empty name", {"status", "--sem", "", "-n", "2", "--dir", "@"}, exit_code::k_usage, "semaphore name is empty"},
        {"status --sem name with an escape", {"status", "--sem", "a\x1b[2Jb", "-n", "2", "--dir", "@"}, exit_code::k_usage,
         "invalid semaphore name 'a\\x1b[2Jb': it must not contain control characters"},
        {"status --pidfile empty", {"status", "--pidfile", ""}, exit_code::k_usage, "the --pidfile name is empty"},
        {"status --redis empty name", {"status", "--redis", "", "--url", "redis://127.0.0.1:1"}, exit_code::k_usage,
         "the lock name is empty"},
        {"status --redis bad URL", {"status", "--redis", "job", "--url", "http://x"}, exit_code::k_usage,
         "invalid --url: unknown scheme 'http://'"},
    };
    check_bad_inputs(cases, directory);
}

TEST_CASE("bad update files and filters have their own status and leave FILE as it was", "[bad_input]") {
    TempDir directory;
    write_file(directory / "data", "keep me\n");
    write_file(directory / "not-a-program", "just text\n");
    REQUIRE(chmod((directory / "not-a-program").c_str(), 0644) == 0);
    REQUIRE(mkdir((directory / "subdir").c_str(), 0755) == 0);
    const std::vector<BadInput> cases{
        {"update without a filter", {"update", "@/data"}, exit_code::k_usage, "no filter given"},
        {"update with nothing after --", {"update", "@/data", "--"}, exit_code::k_usage, "no command after '--'"},
        {"update without a FILE", {"update", "-c", "MARK"}, exit_code::k_usage, "FILE is required"},
        {"update of an empty name", {"update", "", "-c", "MARK"}, exit_code::k_usage, "the file name is empty"},
        {"update with an unknown option", {"update", "--shared", "@/data", "-c", "MARK"}, exit_code::k_usage,
         "unknown option '--shared' for 'plock update'"},
        {"update with a filter without --", {"update", "@/data", "sh", "-c", "MARK"}, exit_code::k_usage,
         "as in 'plock update FILE -- COMMAND...'"},
        {"update -n and -w", {"update", "-n", "-w", "1", "@/data", "-c", "MARK"}, exit_code::k_usage, "excludes"},
        {"update in a missing directory", {"update", "@/missing/data", "-c", "MARK"}, exit_code::k_cannot_create,
         "cannot create @/missing/data: directory @/missing does not exist"},
        {"update of a directory", {"update", "@/subdir", "-c", "MARK"}, exit_code::k_cannot_open,
         "cannot open @/subdir: it is a directory"},
        {"update with a filter not found", {"update", "@/data", "--", "@/no-such-filter"}, exit_code::k_not_found,
         "cannot run @/no-such-filter: No such file or directory"},
        {"update with a filter not executable", {"update", "@/data", "--", "@/not-a-program"}, exit_code::k_not_executable,
         "cannot run @/not-a-program: Permission denied"},
        {"update with a directory as filter", {"update", "@/data", "--", "@/subdir"}, exit_code::k_not_executable,
         "cannot run @/subdir: Permission denied"},
    };
    check_bad_inputs(cases, directory);
    CHECK(read_file(directory / "data") == "keep me\n");
}

TEST_CASE("bad option values of sem and pidguard and try exit 64 naming the value", "[bad_input]") {
    TempDir directory;
    write_file(directory / "file", "keep me\n");
    const std::vector<BadInput> cases{
        {"sem -n 99999", {"sem", "-n", "99999", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage,
         "invalid value '99999' for -n/--slots: expected a number of slots from 1 to 1024"},
        {"sem -n huge", {"sem", "-n", "18446744073709551617", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage,
         "invalid value '18446744073709551617' for -n/--slots"},
        {"sem name with a newline", {"sem", "-n", "2", "--dir", "@", "a\nb", "-c", "MARK"}, exit_code::k_usage,
         "invalid semaphore name 'a\\nb': it must not contain control characters"},
        {"sem name with DEL", {"sem", "-n", "2", "--dir", "@", "a\x7f", "-c", "MARK"}, exit_code::k_usage,
         "invalid semaphore name 'a\\x7f'"},
        {"sem unknown option", {"sem", "-n", "2", "--lease", "3", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_usage,
         "unknown option '--lease' for 'plock sem'"},
        {"sem nothing after --", {"sem", "-n", "2", "--dir", "@", "s", "--"}, exit_code::k_usage, "no command after '--'"},
        {"pidguard --grace nan", {"pidguard", "--replace", "--grace", "nan", "@/job.pid", "-c", "MARK"}, exit_code::k_usage,
         "invalid value 'nan' for --grace"},
        {"pidguard --grace huge", {"pidguard", "--replace", "--grace", "1e300", "@/job.pid", "-c", "MARK"}, exit_code::k_usage,
         "invalid value '1e300' for --grace: too large"},
        {"pidguard nothing after --", {"pidguard", "@/job.pid", "--"}, exit_code::k_usage, "no command after '--'"},
        {"try with a command without --", {"try", "@/file", "sh", "-c", "MARK"}, exit_code::k_usage,
         "unexpected argument 'sh': the command goes after '--'"},
        {"try with an empty name", {"try", ""}, exit_code::k_usage, "lock file name is empty"},
        {"try unknown option", {"try", "--follow-me", "@/file"}, exit_code::k_usage, "unknown option '--follow-me' for 'plock try'"},
    };
    check_bad_inputs(cases, directory);
    CHECK(read_file(directory / "file") == "keep me\n");
}

TEST_CASE("bad descriptors for plock lock and unlock and --fd exit with a clear message", "[bad_input]") {
    TempDir directory;
    write_file(directory / "existing.lock", "keep me\n");
    // Descriptor 9 is not open in plock (the test runner opens everything close-on-exec).
    const std::vector<BadInput> cases{
        {"lock of a closed descriptor", {"lock", "9"}, exit_code::k_cannot_open, "cannot open descriptor 9: it is not an open descriptor"},
        {"unlock of a closed descriptor", {"unlock", "9"}, exit_code::k_cannot_open, "cannot open descriptor 9"},
        {"exec --fd of a closed descriptor", {"exec", "--fd", "9", "-c", "MARK"}, exit_code::k_cannot_open, "descriptor 9"},
        {"lock of a word", {"lock", "nine"}, exit_code::k_usage, "invalid value 'nine' for FD: expected a number from 0 to 2147483647"},
        {"lock of a negative descriptor", {"lock", "-1"}, exit_code::k_usage, "-1"},
        {"lock without a descriptor", {"lock"}, exit_code::k_usage, "FD is required"},
        {"lock with a command", {"lock", "0", "--", "sh", "-c", "MARK"}, exit_code::k_usage, "plock lock runs no command"},
        {"unlock with a command", {"unlock", "0", "--", "sh", "-c", "MARK"}, exit_code::k_usage, "plock unlock runs no command"},
        {"--fd and LOCKFILE", {"exec", "--fd", "0", "@/existing.lock", "-c", "MARK"}, exit_code::k_usage, "give LOCKFILE or --fd FD, not both"},
        {"neither --fd nor LOCKFILE", {"exec", "-c", "MARK"}, exit_code::k_usage, "no lock file given"},
        {"try --fd without a command", {"try", "--fd", "0"}, exit_code::k_usage, "plock try --fd needs a command"},
        {"--fd of a word", {"exec", "--fd", "x", "-c", "MARK"}, exit_code::k_usage, "invalid value 'x' for --fd"},
        {"lock has no --follow", {"lock", "--follow", "0"}, exit_code::k_usage, "--follow"},
    };
    check_bad_inputs(cases, directory);
    CHECK(read_file(directory / "existing.lock") == "keep me\n");
}
