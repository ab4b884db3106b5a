// Tests of the mapping from errors to exit statuses.
#include <catch2/catch.hpp>

#include <cerrno>

#include "cli/exit_status.hpp"
#include "cli/exit_code.hpp"

using namespace plock;
using cli::exit_code_for;

TEST_CASE("a command that is missing gives 127 and one that cannot run 126", "[exit_status]") {
    CHECK(exit_code_for(SystemError(Operation::execute, "x", ENOENT)) == exit_code::k_not_found);
    CHECK(exit_code_for(SystemError(Operation::execute, "x", ENOTDIR)) == exit_code::k_not_found);
    CHECK(exit_code_for(SystemError(Operation::execute, "x", EACCES)) == exit_code::k_not_executable);
    CHECK(exit_code_for(SystemError(Operation::execute, "x", ENOEXEC)) == exit_code::k_not_executable);
}

TEST_CASE("permission problems give 77 whatever was being done", "[exit_status]") {
    for (Operation operation : {Operation::open, Operation::create, Operation::lock}) {
        CHECK(exit_code_for(SystemError(operation, "x", EACCES)) == exit_code::k_permission);
        CHECK(exit_code_for(SystemError(operation, "x", EPERM)) == exit_code::k_permission);
    }
}

TEST_CASE("creation problems give 73 and open problems 66", "[exit_status]") {
    CHECK(exit_code_for(SystemError(Operation::create, "x", ENOENT)) == exit_code::k_cannot_create);
    CHECK(exit_code_for(SystemError(Operation::open, "x", EROFS)) == exit_code::k_cannot_create);
    CHECK(exit_code_for(SystemError(Operation::create, "x", ENOSPC)) == exit_code::k_cannot_create);
    CHECK(exit_code_for(SystemError(Operation::open, "x", ELOOP)) == exit_code::k_cannot_open);
    CHECK(exit_code_for(SystemError(Operation::open, "x", ENAMETOOLONG)) == exit_code::k_cannot_open);
}

TEST_CASE("resource exhaustion and other failures give 71", "[exit_status]") {
    CHECK(exit_code_for(SystemError(Operation::open, "x", EMFILE)) == exit_code::k_os_error);
    CHECK(exit_code_for(SystemError(Operation::system, "x", EAGAIN)) == exit_code::k_os_error);
    CHECK(exit_code_for(SystemError(Operation::lock, "x", ENOLCK)) == exit_code::k_os_error);
}

TEST_CASE("the message names the action and the subject and the cause", "[exit_status]") {
    const SystemError error(Operation::open, "/var/lock/x.lock", EACCES);
    CHECK(std::string(error.what()) == "cannot open /var/lock/x.lock: Permission denied");
}

TEST_CASE("an unreachable lock service gives 69 and a refused login 77", "[exit_status]") {
    CHECK(exit_code_for(SystemError(Operation::reach, "x", ECONNREFUSED)) == exit_code::k_unavailable);
    CHECK(exit_code_for(SystemError(Operation::reach, "x", ETIMEDOUT)) == exit_code::k_unavailable);
    CHECK(exit_code_for(SystemError(Operation::reach, "x", ENOENT)) == exit_code::k_unavailable);
    CHECK(exit_code_for(SystemError(Operation::authenticate, "x", EACCES)) == exit_code::k_permission);
    CHECK(exit_code_for(SystemError(Operation::authenticate, "x", EPROTO)) == exit_code::k_permission);
}

TEST_CASE("an exit-status table renders as one line per code with the meanings in one column", "[exit_status]") {
    const std::string rows = cli::exit_status_rows(exit_code::k_query_table);
    CHECK(rows == "  0              a live process holds the PID file's lock; its PID is printed\n"
                  "  1              the PID file exists but no process holds its lock\n"
                  "  3              there is no PID file\n");
    CHECK(cli::exit_status_rows(std::span<const exit_code::Entry>{}).empty());
}

TEST_CASE("the CLI says what can be done about an error in the words of its options", "[exit_status]") {
    const SystemError symlink(Operation::open, "/tmp/x.lock", ELOOP, "refusing to follow it", Remedy::follow_foreign_symlink);
    CHECK(cli::error_message(symlink) == "cannot open /tmp/x.lock: refusing to follow it (--follow allows it)");
    const UsageError name("invalid semaphore name 'a/b'", Remedy::give_directory_apart);
    CHECK(cli::error_message(name) == "invalid semaphore name 'a/b' (use --dir for the directory)");
    const SystemError plain(Operation::open, "/x", ENOENT);
    CHECK(cli::error_message(plain) == plain.what());
}
