// exit_code_for: what was being done, and errno, decide the status. And the
// one renderer of the exit-status tables.
#include "cli/exit_status.hpp"

#include <cerrno>

#include "cli/exit_code.hpp"

namespace plock::cli {

namespace {

std::string with_remedy(const char* message, Remedy remedy) {
    switch (remedy) {
    case Remedy::follow_foreign_symlink:
        return std::string(message) + " (--follow allows it)";
    case Remedy::give_directory_apart:
        return std::string(message) + " (use --dir for the directory)";
    case Remedy::none:
        break;
    }
    return message;
}

}  // namespace

std::string error_message(const SystemError& error) { return with_remedy(error.what(), error.remedy()); }

std::string error_message(const UsageError& error) { return with_remedy(error.what(), error.remedy()); }

int exit_code_for(const SystemError& error) noexcept {
    const int number = error.error_number();
    if (error.operation() == Operation::execute) {
        return number == ENOENT || number == ENOTDIR ? exit_code::k_not_found
                                                     : exit_code::k_not_executable;
    }
    switch (number) {
    case EACCES:
    case EPERM:
        return exit_code::k_permission;
    case ENOMEM:
    case EMFILE:
    case ENFILE:
        return exit_code::k_os_error;
    case EROFS:
    case ENOSPC:
    case EDQUOT:
        return exit_code::k_cannot_create;
    default:
        break;
    }
    switch (error.operation()) {
    case Operation::reach:
        return exit_code::k_unavailable;
    case Operation::authenticate:
        return exit_code::k_permission;
    case Operation::create:
        return exit_code::k_cannot_create;
    case Operation::open:
        return exit_code::k_cannot_open;
    default:
        return exit_code::k_os_error;
    }
}

std::string exit_status_rows(std::span<const exit_code::Entry> table) {
    std::string text;
    for (const exit_code::Entry& entry : table) {
        std::string code = "  " + std::to_string(entry.code);
        code.resize(17, ' ');
        text += code;
        text += entry.meaning;
        text += '\n';
    }
    return text;
}

}  // namespace plock::cli
