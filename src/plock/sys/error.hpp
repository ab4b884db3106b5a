// Errors of the lock library. A lock conflict or a timeout is not an error
// (it is returned as a value); a failed system call is, and it carries what
// was being done, to which file, and errno.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace plock {

// What the library was doing when a system call failed; the CLI maps it,
// together with errno, to an exit status.
enum class Operation {
    open,          // opening an existing file
    create,        // creating a file or reaching its directory
    lock,          // taking or releasing a lock
    read,
    write,
    inspect,       // stat, readlink, /proc lookups
    execute,       // running the command
    signal,        // sending a signal to another process
    remove,        // removing a file
    reach,         // connecting to a lock service, or talking to it
    authenticate,  // proving who we are to a lock service
    system,        // anything else (fork, threads, signals)
};

// What the user can do about an error. The library only names it: the
// words, which name the CLI's options, are the CLI's (cli/exit_status.hpp).
enum class Remedy {
    none,
    follow_foreign_symlink,  // the caller may allow following it
    give_directory_apart,    // a name that held a directory: give the directory on its own
};

class SystemError : public std::runtime_error {
public:
    // The message is "cannot <verb> <subject>: <reason>", where reason is
    // `explanation` when given and strerror(error_number) otherwise.
    SystemError(Operation operation, std::string subject, int error_number,
                const std::string& explanation = {}, Remedy remedy = Remedy::none);

    Operation operation() const noexcept { return m_operation; }
    const std::string& subject() const noexcept { return m_subject; }
    int error_number() const noexcept { return m_error_number; }
    Remedy remedy() const noexcept { return m_remedy; }

private:
    Operation m_operation;
    std::string m_subject;
    int m_error_number;
    Remedy m_remedy;
};

// A value the user gave that cannot work (bad name, bad number, ...).
class UsageError : public std::runtime_error {
public:
    explicit UsageError(const std::string& message, Remedy remedy = Remedy::none)
        : std::runtime_error(message), m_remedy(remedy) {}
    explicit UsageError(const char* message) : UsageError(std::string(message)) {}
    Remedy remedy() const noexcept { return m_remedy; }

private:
    Remedy m_remedy;
};

[[noreturn]] void throw_system_error(Operation operation, const std::string& subject,
                                     int error_number = errno);

}  // namespace plock
