// `fetal-audit post-market-check DIR --pubkey PEM`: checks a post-market report directory as
// `fetal-server report` wrote it (docs/monitoring.md "Post-market report"). Every file's
// detached signature must verify with the audit key's public key; then, from records.jsonl
// alone and without any of the server's monitoring code, it recomputes the exam count, the
// exams per model version, the client/server disagreements, the outcome count and the accuracy
// against outcomes, and compares each with report.json.
//
// Thread-safety: single-threaded command.
#pragma once

#include <string>
#include <vector>

namespace fetal {
namespace audit_cli {

// Exit status: 0 everything verifies and matches, 1 a signature or a figure does not, 2 usage
// or unreadable input. Prints one line per check.
int PostMarketCheck(const std::vector<std::string>& args);

}  // namespace audit_cli
}  // namespace fetal
