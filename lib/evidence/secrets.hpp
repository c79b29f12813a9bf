// A VM's secrets, for redaction by value wherever its text leaves vmutils
// (vm-logs-archive's members, vm-wait-ready's record and stderr): the
// values of the record's agent.env_keys and of keys the operator names
// (--redact), read from the image's env file (agent.env_file, default
// /etc/environment). The values live only in memory, as RedactRules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "evidence/redact.hpp"
#include "ext4/image.hpp"

namespace vmu::evidence {

struct Secrets {
  std::string env_path;                 // the env file in the image
  std::optional<std::string> env_text;  // its text, when the image has it
  RuleSet rules;                        // rules, and keys redacted, short, absent
};

// Fail closed: when there are keys and their values cannot be read (no
// image: `image_problem` says why; the env file unreadable), throws
// Exit::failed, reason "cannot_redact", ending "refusing to `what` text that
// may hold them" — no text that may hold a secret leaves unredacted. An env
// file that is not in the image is no error: its keys are `absent`.
Secrets read_secrets(const nlohmann::json& record, const std::vector<std::string>& extra_keys,
                     const ext4::Image* img, std::string_view image_problem, std::string_view what);

}  // namespace vmu::evidence
