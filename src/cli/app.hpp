// The command line: the table of subcommands, the split of argv at "--"
// (everything after it is the command, untouched), and parsing.
//
// A run flows: main -> split_invocation -> build_app (defines the chosen
// subcommand's options only) -> parse_command_line -> Subcommand::prepare
// (validation, no side effects) -> Subcommand::run.
#pragma once


#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"

namespace plock::cli {

// One subcommand, in its own file under commands/: its options, their
// validation into the library's request types, and its run.
class Subcommand {
public:
    virtual ~Subcommand() = default;
    // Adds the options and the help footer to `command`; parsing stores the
    // values in this object.
    virtual void define_options(CLI::App& command) = 0;
    // After parsing: sets the log level (-v, -q) and checks the options and
    // the words after "--" (UsageError). Reads the environment and
    // --password-file, but opens, creates, locks or starts nothing else: a
    // command line can be checked on its own (the fuzzer does).
    virtual void prepare(const CommandWords& words) = 0;
    // Everything that touches the system; returns the exit status.
    virtual int run() = 0;
};

// A subcommand made of three functions over its own two types: `define`
// adds the options (filled in by parsing), `validate` turns them into the
// Settings the run needs (the library's request types), `run` runs them.
template <typename Options, typename Settings>
class SubcommandOf final : public Subcommand {
public:
    using Define = void (*)(CLI::App& command, Options& options);
    using Validate = Settings (*)(const Options& options, const CommandWords& words);
    using RunSettings = int (*)(const Settings& settings);

    SubcommandOf(Define define, Validate validate, RunSettings run_settings, Options defaults = {})
        : m_define(define), m_validate(validate), m_run(run_settings), m_options(std::move(defaults)) {}

    void define_options(CLI::App& command) override { m_define(command, m_options); }
    void prepare(const CommandWords& words) override { m_settings = m_validate(m_options, words); }
    int run() override { return m_run(*m_settings); }

private:
    Define m_define;
    Validate m_validate;
    RunSettings m_run;
    Options m_options;
    std::optional<Settings> m_settings;
};

template <typename Options, typename Settings>
std::unique_ptr<Subcommand> make_subcommand(void (*define)(CLI::App&, Options&),
                                            Settings (*validate)(const Options&, const CommandWords&),
                                            int (*run)(const Settings&), Options defaults = {}) {
    return std::make_unique<SubcommandOf<Options, Settings>>(define, validate, run, std::move(defaults));
}

struct SubcommandEntry {
    const char* name;
    const char* summary;  // one line in `plock --help`
    std::unique_ptr<Subcommand> (*make)();
};

// Every subcommand, in the order `plock --help` lists them.
extern const SubcommandEntry k_subcommands[];
extern const std::size_t k_subcommand_count;

struct Invocation {
    int option_count = 0;    // argv[0 .. option_count) goes to CLI11
    CommandWords command;    // the words after the first "--"
    std::string subcommand;  // the first word that is not an option, if any
};

Invocation split_invocation(int argc, char** argv);

// The subcommand named on the command line, with its options defined.
struct ChosenSubcommand {
    std::unique_ptr<Subcommand> subcommand;  // null when none was named
    CLI::App* command = nullptr;
};

// Every subcommand is listed, but only the one named on the command line gets
// its options defined: a run pays for parsing its own options only.
// Throws UsageError for an unknown subcommand name.
ChosenSubcommand build_app(CLI::App& app, const Invocation& invocation);

// Parses the options part of argv. Returns the exit status when the run ends
// here: 0 after --help or --version, 64 after a parse error (CLI11's own codes
// would collide with the command's), with one line on stderr.
std::optional<int> parse_command_line(CLI::App& app, const Invocation& invocation, char** argv);

// After parsing: refuses arguments CLI11 left over (allow_extras), with a
// clear error for the first of them, then prepares the subcommand.
void prepare_chosen(const ChosenSubcommand& chosen, const Invocation& invocation);

// The subcommands' makers, one file each under commands/.
std::unique_ptr<Subcommand> make_exec_command();
std::unique_ptr<Subcommand> make_try_command();
std::unique_ptr<Subcommand> make_lock_command();
std::unique_ptr<Subcommand> make_unlock_command();
std::unique_ptr<Subcommand> make_sem_command();
std::unique_ptr<Subcommand> make_pidguard_command();
std::unique_ptr<Subcommand> make_redis_command();
std::unique_ptr<Subcommand> make_status_command();
std::unique_ptr<Subcommand> make_update_command();

}  // namespace plock::cli
