// Command-line parsing for fetal-model: "--name value", "--name=value", boolean switches and
// positional arguments. Every problem becomes one message naming the option and the verb.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fetal/status.h"

namespace fetal {
namespace cli {

struct OptionSpec {
  std::set<std::string> with_value;  // e.g. "--data"
  std::set<std::string> switches;    // e.g. "--explain"
  size_t min_positional = 0;
  size_t max_positional = 0;
};

class Args {
 public:
  // argv[0] is the verb's first argument (the verb itself already consumed).
  Status Parse(const std::string& verb, const std::vector<std::string>& argv,
               const OptionSpec& spec);
  bool help() const { return help_; }
  bool Has(const std::string& name) const { return values_.count(name) || switches_.count(name); }
  std::string Get(const std::string& name, const std::string& fallback = {}) const;
  // InvalidArgument "missing required option --data" if absent.
  Status Require(const std::string& name, std::string* value) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Typed getters: leave *value unchanged when the option is absent.
  Status GetInt(const std::string& name, long min, long max, long* value) const;
  Status GetDouble(const std::string& name, double min, double max, double* value) const;

 private:
  std::string verb_;
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
  std::vector<std::string> positional_;
};

}  // namespace cli
}  // namespace fetal
