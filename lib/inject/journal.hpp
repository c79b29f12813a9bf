// agent-inject --persist-journal: a journald drop-in that keeps the guest's
// journal on its disk (Storage=persistent: journald creates
// /var/log/journal/<machine-id> itself, and systemd-tmpfiles gives the
// folder its group) and syncs it every second (SyncIntervalSec=1s; the
// default is 5 minutes), so the entries up to a second before a hard stop
// of the VM are in the image for vm-logs-archive to read.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vmu::inject {

inline constexpr std::string_view kJournalDropin =
    "/etc/systemd/journald.conf.d/50-vmutils-persist.conf";
inline constexpr std::string_view kJournalSyncInterval = "1s";

// The drop-in's text.
std::string journal_dropin();
// The record's agent.journal: {persistent, dropin, sync_interval}.
nlohmann::json journal_json();

}  // namespace vmu::inject
