#include "inject/journal.hpp"

#include <fmt/format.h>

namespace vmu::inject {

std::string journal_dropin() {
  return fmt::format(
      "# Written by agent-inject --persist-journal (vmutils): keep the journal on disk\n"
      "# and sync it often, so it survives a hard stop of the VM for vm-logs-archive.\n"
      "[Journal]\n"
      "Storage=persistent\n"
      "SyncIntervalSec={}\n",
      kJournalSyncInterval);
}

nlohmann::json journal_json() {
  return {{"persistent", true},
          {"dropin", std::string(kJournalDropin)},
          {"sync_interval", std::string(kJournalSyncInterval)}};
}

}  // namespace vmu::inject
