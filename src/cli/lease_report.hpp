// What plock says while it keeps a lease on a remote lock for a command
// (LeaseKeeper's events), and the exit status of how the run ended.
#pragma once

#include <chrono>
#include <string>

#include "cli/options.hpp"
#include "plock/lease/lease_keeper.hpp"

namespace plock::cli {

class LeaseReport final : public LeaseObserver {
public:
    // `lock`: "plock:deploy on redis://10.0.0.5:6379"; `holding_details`:
    // what the debug line on the command's start adds ("fencing token 7").
    LeaseReport(std::string lock, std::string holding_details, std::chrono::milliseconds lease,
                StopPolicy stop);

    void starting_command() override;
    void renewal_failed(const std::string& error, Clock::duration stop_in) override;
    void renewed_again() override;
    void stopping_for_lease(bool lost, const std::string& why) override;
    void killing_at_lease_end() override;
    void stopping_for_time_limit() override;
    void release_failed(const std::string& error, Clock::duration expires_in) override;

    // Says how the run ended; the command's status, k_lock_lost or k_time_limit.
    int report_ending(const LeaseOutcome& outcome) const;

private:
    std::string m_lock;
    std::string m_holding_details;
    std::chrono::milliseconds m_lease;
    StopPolicy m_stop;
};

}  // namespace plock::cli
