#include "cli_args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace fetal {
namespace cli {

Status Args::Parse(const std::string& verb, const std::vector<std::string>& argv,
                   const OptionSpec& spec) {
  verb_ = verb;
  const std::string hint = " (see fetal-model " + verb + " --help)";
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg, value;
      bool inline_value = false;
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
      if (spec.switches.count(name)) {
        if (inline_value) return Status::InvalidArgument(name + " takes no value" + hint, name);
        switches_.insert(name);
        continue;
      }
      if (!spec.with_value.count(name)) {
        return Status::InvalidArgument("unknown option " + name + " for `" + verb + "`" + hint,
                                       name);
      }
      if (!inline_value) {
        if (i + 1 >= argv.size()) {
          return Status::InvalidArgument("option " + name + " needs a value" + hint, name);
        }
        value = argv[++i];
      }
      if (values_.count(name)) {
        return Status::InvalidArgument("option " + name + " given twice" + hint, name);
      }
      values_[name] = value;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      return Status::InvalidArgument("unknown option " + arg + " for `" + verb + "`" + hint, arg);
    }
    positional_.push_back(arg);
  }
  if (help_) return Status::Ok();
  if (positional_.size() < spec.min_positional) {
    return Status::InvalidArgument("`" + verb + "` needs " + std::to_string(spec.min_positional) +
                                   " file argument" + (spec.min_positional == 1 ? "" : "s") + hint);
  }
  if (positional_.size() > spec.max_positional) {
    return Status::InvalidArgument("unexpected argument \"" + positional_[spec.max_positional] +
                                   "\" for `" + verb + "`" + hint);
  }
  return Status::Ok();
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

Status Args::Require(const std::string& name, std::string* value) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) {
    return Status::InvalidArgument("missing required option " + name + " (see fetal-model " +
                                       verb_ + " --help)",
                                   name);
  }
  *value = it->second;
  return Status::Ok();
}

Status Args::GetInt(const std::string& name, long min, long max, long* value) const {
  auto it = values_.find(name);
  if (it == values_.end()) return Status::Ok();
  const std::string& text = it->second;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
    return Status::InvalidArgument(name + " must be an integer " + std::to_string(min) + ".." +
                                       std::to_string(max) + ", got \"" + text + "\"",
                                   name);
  }
  *value = v;
  return Status::Ok();
}

Status Args::GetDouble(const std::string& name, double min, double max, double* value) const {
  auto it = values_.find(name);
  if (it == values_.end()) return Status::Ok();
  const std::string& text = it->second;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < min || v > max) {
    char range[96];
    std::snprintf(range, sizeof range, "a number in [%g, %g]", min, max);
    return Status::InvalidArgument(name + " must be " + range + ", got \"" + text + "\"", name);
  }
  *value = v;
  return Status::Ok();
}

}  // namespace cli
}  // namespace fetal
