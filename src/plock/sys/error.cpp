// SystemError: messages of the form "cannot <verb> <subject>: <reason>".
#include "plock/sys/error.hpp"

#include <cstring>

namespace plock {
namespace {

const char* verb(Operation operation) noexcept {
    switch (operation) {
    case Operation::open: return "open";
    case Operation::create: return "create";
    case Operation::lock: return "lock";
    case Operation::read: return "read";
    case Operation::write: return "write";
    case Operation::inspect: return "inspect";
    case Operation::execute: return "run";
    case Operation::signal: return "signal";
    case Operation::remove: return "remove";
    case Operation::reach: return "reach";
    case Operation::authenticate: return "authenticate to";
    case Operation::system: return "set up";
    }
    return "use";
}

std::string compose(Operation operation, const std::string& subject, int error_number,
                    const std::string& explanation) {
    std::string message = "cannot ";
    message += verb(operation);
    message += ' ';
    message += subject;
    message += ": ";
    message += explanation.empty() ? std::strerror(error_number) : explanation;
    return message;
}

}  // namespace

SystemError::SystemError(Operation operation, std::string subject, int error_number,
                         const std::string& explanation, Remedy remedy)
    : std::runtime_error(compose(operation, subject, error_number, explanation)),
      m_operation(operation),
      m_subject(std::move(subject)),
      m_error_number(error_number),
      m_remedy(remedy) {}

void throw_system_error(Operation operation, const std::string& subject, int error_number) {
    throw SystemError(operation, subject, error_number);
}

}  // namespace plock
