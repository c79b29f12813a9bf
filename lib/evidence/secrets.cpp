#include "evidence/secrets.hpp"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace vmu::evidence {

namespace {

constexpr std::size_t kMaxEnvFile = 1u << 20;

}  // namespace

Secrets read_secrets(const nlohmann::json& record, const std::vector<std::string>& extra_keys,
                     const ext4::Image* img, std::string_view image_problem,
                     std::string_view what) {
  Secrets s;
  std::set<std::string> keys(extra_keys.begin(), extra_keys.end());
  const nlohmann::json* agent = nullptr;
  if (auto a = record.find("agent"); a != record.end() && a->is_object()) agent = &*a;
  if (agent) {
    if (auto k = agent->find("env_keys"); k != agent->end() && k->is_array())
      for (const auto& x : *k)
        if (x.is_string()) keys.insert(x.get<std::string>());
    if (auto f = agent->find("env_file"); f != agent->end() && f->is_string())
      s.env_path = f->get<std::string>();
  }
  if (s.env_path.empty()) s.env_path = "/etc/environment";
  if (img) {
    try {
      auto st = img->stat(s.env_path, ext4::Follow::yes);
      if (st && st->type == ext4::FileType::regular)
        s.env_text = img->read_file(s.env_path, kMaxEnvFile);
    } catch (const Error& e) {
      if (!keys.empty())
        throw Error(Exit::failed, "cannot_redact",
                    fmt::format("reading {} from the image to redact {}: {}; refusing to {} text "
                                "that may hold their values",
                                s.env_path, fmt::join(keys, ", "), e.what(), what));
    }
  } else if (!keys.empty()) {
    throw Error(Exit::failed, "cannot_redact",
                fmt::format("cannot read the values of {} to redact them: {}; refusing to {} text "
                            "that may hold them",
                            fmt::join(keys, ", "), image_problem, what));
  }
  s.rules = make_rules(keys, env_values(s.env_text.value_or("")));
  return s;
}

}  // namespace vmu::evidence
