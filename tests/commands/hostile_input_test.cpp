// Hostile input: files planted where plock puts or finds its lock (FIFOs,
// device nodes, another user's symbolic links), names no one should use
// (control characters, bytes that are not UTF-8, paths past PATH_MAX and
// NAME_MAX), PID files holding garbage, and file systems that refuse writes.
// Each case checks the status, the one line on stderr and that no file was
// touched (check_bad_input).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "bad_input.hpp"
#include "cli/exit_code.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::test;

TEST_CASE("a FIFO or a device node in place of a lock file is refused by every subcommand with 66", "[hostile_input]") {
    INFO("run the suite as root (as .ci/run does): the test makes a character device with mknod");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(mkfifo((directory / "fifo").c_str(), 0600) == 0);
    // The same device as /dev/null, under a name plock has never seen.
    REQUIRE(mknod((directory / "device").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(mkdir((directory / "slots").c_str(), 0755) == 0);
    REQUIRE(mkfifo((directory / "slots/s.00.lock").c_str(), 0600) == 0);
    // A semaphore used before: plock records the slot count (s.size.lock)
    // before it opens a slot, so the record would otherwise be new.
    write_file(directory / "slots/s.size.lock", "");
    REQUIRE(mknod((directory / "slots/d.size.lock").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    const std::vector<BadInput> cases{
        {"exec on a device", {"exec", "@/device", "-c", "MARK"}, exit_code::k_cannot_open, "cannot open @/device: it is a character device"},
        {"try on a device", {"try", "@/device"}, exit_code::k_cannot_open, "cannot open @/device: it is a character device"},
        {"pidguard on a device", {"pidguard", "@/device", "-c", "MARK"}, exit_code::k_cannot_open, "@/device: it is a character device"},
        {"pidguard --status of a device", {"pidguard", "--status", "@/device"}, exit_code::k_cannot_open, "@/device: it is a character device"},
        {"update of a device", {"update", "@/device", "-c", "MARK"}, exit_code::k_cannot_open, "@/device: it is a character device"},
        {"update of /dev/null", {"update", "/dev/null", "-c", "MARK"}, exit_code::k_cannot_open, "/dev/null: it is a character device"},
        {"update of a FIFO", {"update", "@/fifo", "-c", "MARK"}, exit_code::k_cannot_open, "cannot open @/fifo: it is a FIFO"},
        {"status --pidfile of a FIFO", {"status", "--pidfile", "@/fifo"}, exit_code::k_cannot_open, "@/fifo: it is a FIFO"},
        {"sem slot that is a FIFO", {"sem", "-n", "1", "--dir", "@/slots", "s", "-c", "MARK"}, exit_code::k_cannot_open,
         "@/slots/s.00.lock: it is a FIFO"},
        {"sem size record that is a device", {"sem", "-n", "1", "--dir", "@/slots", "d", "-c", "MARK"}, exit_code::k_cannot_open,
         "@/slots/d.size.lock: it is a character device"},
    };
    check_bad_inputs(cases, directory);
}

TEST_CASE("another user's symlink in a sticky directory is refused by try pidguard update and sem with 66", "[hostile_input]") {
    INFO("run the suite as root (as .ci/run does): the test plants symbolic links owned by nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string sticky = directory / "tmp";
    REQUIRE(mkdir(sticky.c_str(), 0777) == 0);
    REQUIRE(chmod(sticky.c_str(), 01777) == 0);
    write_file(directory / "victim", "123\n");
    const auto plant = [&](const std::string& name) {
        REQUIRE(symlink((directory / "victim").c_str(), (sticky + "/" + name).c_str()) == 0);
        REQUIRE(lchown((sticky + "/" + name).c_str(), k_nobody, k_nobody) == 0);
    };
    for (const std::string name : {"job.lock", "job.pid", "data", "s.00.lock"}) {
        plant(name);
    }
    write_file(sticky + "/s.size.lock", "");  // a semaphore used before, as above
    const std::string owned = "is a symbolic link owned by uid 65534";
    const std::vector<BadInput> cases{
        {"try", {"try", "@/tmp/job.lock"}, exit_code::k_cannot_open, "@/tmp/job.lock: it " + owned},
        {"pidguard", {"pidguard", "@/tmp/job.pid", "-c", "MARK"}, exit_code::k_cannot_open, "@/tmp/job.pid"},
        {"update", {"update", "@/tmp/data", "-c", "MARK"}, exit_code::k_cannot_open, "@/tmp/data: it " + owned},
        {"sem slot", {"sem", "-n", "1", "--dir", "@/tmp", "s", "-c", "MARK"}, exit_code::k_cannot_open, "@/tmp/s.00.lock"},
    };
    check_bad_inputs(cases, directory);
    CHECK(read_file(directory / "victim") == "123\n");
}

TEST_CASE("a directory without write permission gives 77 to try update and sem", "[hostile_input]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    write_file(directory / "data", "keep me\n");
    REQUIRE(chmod((directory / "data").c_str(), 0644) == 0);
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    const std::vector<BadInput> cases{
        {"try to create", {"try", "@/new.lock"}, exit_code::k_permission, "cannot create @/new.lock: Permission denied"},
        {"update in a closed directory", {"update", "@/data", "-c", "MARK"}, exit_code::k_permission, "Permission denied"},
        {"update of a new file", {"update", "@/new", "-c", "MARK"}, exit_code::k_permission, "@/new: Permission denied"},
        {"sem in a closed directory", {"sem", "-n", "1", "--dir", "@", "s", "-c", "MARK"}, exit_code::k_permission,
         "directory @ is not writable (Permission denied)"},
    };
    check_bad_inputs(cases, directory, as_nobody);
    CHECK(read_file(directory / "data") == "keep me\n");
}

TEST_CASE("paths longer than PATH_MAX or with a name longer than NAME_MAX are refused naming the cause", "[hostile_input]") {
    TempDir directory;
    // "./" repeated: every component exists, only the length is wrong.
    std::string deep = "@";
    while (deep.size() < PATH_MAX + 16) {
        deep += "/.";
    }
    const std::string long_name = "@/" + std::string(NAME_MAX + 1, 'n');
    const std::vector<BadInput> cases{
        {"exec past PATH_MAX", {"exec", deep + "/x.lock", "-c", "MARK"}, exit_code::k_cannot_open, "File name too long"},
        {"try past PATH_MAX", {"try", deep + "/x.lock"}, exit_code::k_cannot_open, "File name too long"},
        {"pidguard past PATH_MAX", {"pidguard", deep + "/x.pid", "-c", "MARK"}, exit_code::k_cannot_open, "File name too long"},
        {"update past PATH_MAX", {"update", deep + "/x", "-c", "MARK"}, exit_code::k_cannot_open, "File name too long"},
        {"status past PATH_MAX", {"status", deep + "/x.lock"}, exit_code::k_cannot_open, "File name too long"},
        {"sem --dir past PATH_MAX", {"sem", "-n", "1", "--dir", deep, "s", "-c", "MARK"}, exit_code::k_cannot_open, "File name too long"},
        {"pidguard name past NAME_MAX", {"pidguard", long_name, "-c", "MARK"}, exit_code::k_cannot_open,
         long_name + ": File name too long"},
        {"update name past NAME_MAX", {"update", long_name, "-c", "MARK"}, exit_code::k_cannot_open, long_name + ": File name too long"},
        {"status name past NAME_MAX", {"status", long_name}, exit_code::k_cannot_open, long_name + ": File name too long"},
    };
    check_bad_inputs(cases, directory);
}

TEST_CASE("names with control characters or bytes that are not UTF-8 are shown escaped on one line", "[hostile_input]") {
    TempDir directory;
    const std::vector<BadInput> cases{
        {"newline in a directory name", {"exec", "@/a\nb/x.lock", "-c", "MARK"}, exit_code::k_cannot_create,
         "directory @/a\\nb does not exist"},
        {"escape sequence in a directory name", {"try", "@/\x1b[2J/x.lock"}, exit_code::k_cannot_create,
         "directory @/\\x1b[2J does not exist"},
        {"Latin-1 byte", {"pidguard", "@/caf\xe9/x.pid", "-c", "MARK"}, exit_code::k_cannot_create,
         "directory @/caf\\xe9 does not exist"},
        {"truncated UTF-8 sequence", {"update", "@/\xe2\x82/x", "-c", "MARK"}, exit_code::k_cannot_create,
         "directory @/\\xe2\\x82 does not exist"},
        {"overlong UTF-8 encoding of '/'", {"status", "@/\xc0\xaf.lock"}, exit_code::k_cannot_open, "@/\\xc0\\xaf.lock"},
        {"C1 control character", {"status", "@/a\xc2\x9b" "1m.lock"}, exit_code::k_cannot_open, "@/a\\xc2\\x9b1m.lock"},
        {"carriage return and tab", {"sem", "-n", "1", "--dir", "@/x\r\ty", "s", "-c", "MARK"}, exit_code::k_cannot_create,
         "directory @/x\\r\\ty does not exist"},
        {"valid UTF-8 is kept", {"exec", "@/naïve ☃/x.lock", "-c", "MARK"}, exit_code::k_cannot_create,
         "directory @/naïve ☃ does not exist"},
        {"redis name with an escape", {"redis", "--url", "redis://127.0.0.1:1", "job\x1b]0;owned\x07", "-c", "MARK"},
         exit_code::k_usage, "invalid lock name 'job\\x1b]0;owned\\x07': it contains a control character"},
    };
    check_bad_inputs(cases, directory);
}

TEST_CASE("PID files holding garbage or a huge number are never overwritten and are refused with 66", "[hostile_input]") {
    TempDir directory;
    const std::vector<std::pair<std::string, std::string>> contents{
        {"huge.pid", "99999999999999999999\n"},
        {"past-max.pid", "4194305\n"},
        {"negative.pid", "-5\n"},
        {"zero.pid", "0\n"},
        {"two.pid", "12 34\n"},
        {"binary.pid", std::string("\x7f" "ELF\x02\x01\x00\x00", 8)},
        {"big.pid", std::string(100000, '7')},
    };
    std::vector<BadInput> cases;
    for (const auto& [name, content] : contents) {
        write_file(directory / name, content);
        cases.push_back({"pidguard " + name, {"pidguard", "@/" + name, "-c", "MARK"}, exit_code::k_cannot_open,
                         "cannot open @/" + name + ": it holds something other than a process ID"});
    }
    check_bad_inputs(cases, directory);
    for (const auto& [name, content] : contents) {
        CHECK(read_file(directory / name) == content);
    }
}

TEST_CASE("a query of a PID file holding garbage or a huge number says stale and leaves it as it was", "[hostile_input]") {
    TempDir directory;
    const std::string path = directory / "huge.pid";
    write_file(path, "99999999999999999999\n");
    // No process holds its lock: whatever it holds, nothing runs.
    const Result query = run_plock({"pidguard", "--status", path});
    INFO(query.err);
    CHECK(query.status == exit_code::k_query_stale);
    CHECK(query.err.empty());
    const Result status = run_plock({"status", "--pidfile", path});
    INFO(status.err);
    CHECK(status.status == exit_code::k_status_free);
    CHECK(status.out == path + ": stale: no process holds its lock\n");
    const Result json = run_plock({"status", "--json", "--pidfile", path});
    CHECK(json.status == exit_code::k_status_free);
    CHECK_THAT(json.out, Catch::Contains("\"content\": \"invalid\"") && Catch::Contains("\"pid_in_file\": null"));
    CHECK(read_file(path) == "99999999999999999999\n");
}

TEST_CASE("files on a read-only file system give 73 and stay as they were", "[hostile_input]") {
    INFO("needs root and unshare(1) to mount a tmpfs, fill it and remount it read-only in a private mount namespace");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string mount_point = directory / "ro";
    const std::string results = directory / "results";
    REQUIRE(mkdir(mount_point.c_str(), 0755) == 0);
    REQUIRE(mkdir(results.c_str(), 0755) == 0);
    struct Run {
        std::string name;
        std::vector<std::string> arguments;
        std::string message;
    };
    const std::string marker = directory / "ran";
    const std::vector<Run> runs{
        {"update", {"update", mount_point + "/data", "-c", "echo changed"}, "beside " + mount_point + "/data"},
        {"pidguard-new", {"pidguard", mount_point + "/new.pid", "-c", "touch " + marker}, mount_point + "/new.pid"},
        {"pidguard-old", {"pidguard", mount_point + "/old.pid", "-c", "touch " + marker}, mount_point + "/old.pid"},
        {"sem", {"sem", "-n", "1", "--dir", mount_point, "s", "-c", "touch " + marker}, "directory " + mount_point},
        {"try-new", {"try", mount_point + "/new.lock"}, mount_point + "/new.lock"},
    };
    // The script unmounts what it mounted, so nothing outlives the test even
    // where the mount namespace cannot be made private.
    std::string script = "mount -t tmpfs tmpfs " + shell_quote(mount_point) + " || exit 99\n" +
                         "printf 'keep me\\n' > " + shell_quote(mount_point + "/data") + "\n" +
                         "printf '123\\n' > " + shell_quote(mount_point + "/old.pid") + "\n" +
                         "mount -o remount,ro " + shell_quote(mount_point) + " || { umount " + shell_quote(mount_point) +
                         "; exit 98; }\n";
    for (const Run& one : runs) {
        const std::string prefix = shell_quote(results + "/" + one.name);
        script += shell_quote(plock_binary());
        for (const std::string& argument : one.arguments) {
            script += " " + shell_quote(argument);
        }
        script += " >" + prefix + ".out 2>" + prefix + ".err; echo $? >" + prefix + ".status\n";
    }
    script += "ls -A " + shell_quote(mount_point) + " > " + shell_quote(results + "/listing") + "\n";
    script += "cat " + shell_quote(mount_point + "/data") + " " + shell_quote(mount_point + "/old.pid") + " > " +
              shell_quote(results + "/contents") + "\n";
    script += "umount " + shell_quote(mount_point) + "\n";
    Result result = run({"unshare", "--mount", "sh", "-c", script});
    if (result.err.find("cannot change root filesystem propagation") != std::string::npos) {
        // In a chroot, / is not a mount point and cannot be made private.
        result = run({"unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script});
    }
    INFO(result.err);
    REQUIRE(result.status == 0);
    for (const Run& one : runs) {
        INFO("case: " << one.name);
        const std::string error = read_file(results + "/" + one.name + ".err");
        INFO("stderr: " << error);
        CHECK(read_file(results + "/" + one.name + ".status") == std::to_string(exit_code::k_cannot_create) + "\n");
        CHECK(std::count(error.begin(), error.end(), '\n') == 1);
        CHECK_THAT(error, Catch::StartsWith("plock: error: ") && Catch::Contains(one.message) &&
                              Catch::Contains("Read-only file system"));
        CHECK(read_file(results + "/" + one.name + ".out").empty());
    }
    CHECK(read_file(results + "/listing") == "data\nold.pid\n");
    CHECK(read_file(results + "/contents") == "keep me\n123\n");
    CHECK_FALSE(exists(marker));
}
