#include "post_market/post_market_html.h"

#include "fetal/schema.h"
#include "text/number_text.h"

namespace fetal {
namespace post_market {
namespace {

using nlohmann::json;

constexpr char kStyle[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;"
    "margin:2em auto;max-width:60em;padding:0 1em}"
    "h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.25em;border-bottom:2px solid #2b5d8a;"
    "padding-bottom:.15em;margin-top:1.8em}h3{font-size:1.05em;margin:1.2em 0 .4em}"
    "p.meta{color:#555;margin:.2em 0}table{border-collapse:collapse;margin:.4em 0 1em}"
    "th,td{border:1px solid #bbb;padding:.2em .5em;text-align:right;vertical-align:top}"
    "th{background:#eef3f8}td.t,th.t{text-align:left}code{font-size:.9em;word-break:break-all}"
    ".ok{background:#e6f4e6}.warn{background:#fff4cc}.alert{background:#f8d0d0;font-weight:bold}"
    "table.grid td{padding:.1em .3em;font-size:.8em;text-align:center}table.kv td{text-align:left}"
    "table.grid th{font-size:.75em;writing-mode:vertical-rl;transform:rotate(180deg)}"
    "@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}"
    "table{break-inside:auto}tr{break-inside:avoid}}";

std::string Esc(const json& v) {
  if (v.is_string()) return EscapeHtml(v.get<std::string>());
  if (v.is_null()) return "&ndash;";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) {
    std::string out;
    text::AppendInt(v.get<int64_t>(), &out);
    return out;
  }
  if (v.is_number()) return text::Readable(v.get<double>());
  return EscapeHtml(v.dump());
}

std::string Num(const json& v, int decimals) {
  return v.is_number() ? text::Fixed(v.get<double>(), decimals) : "&ndash;";
}

std::string Pct(const json& v) {
  return v.is_number() ? text::Fixed(v.get<double>() * 100, 1) + "&nbsp;%" : "&ndash;";
}

std::string Interval(const json& v) {
  if (!v.is_array() || v.size() != 2) return "&ndash;";
  return "[" + Num(v[0], 3) + ", " + Num(v[1], 3) + "]";
}

std::string P(const json& v) {
  if (!v.is_number()) return "&ndash;";
  const double p = v.get<double>();
  return p < 1e-4 ? "&lt;&nbsp;0.0001" : text::Fixed(p, 4);
}

std::string VerdictCell(const json& verdict, const std::string& shown = {}) {
  const std::string v = verdict.is_string() ? verdict.get<std::string>() : "";
  const std::string cls = v == "alert" ? "alert" : v == "warn" ? "warn" : v == "ok" ? "ok" : "";
  return "<td class=\"t" + (cls.empty() ? "" : " " + cls) + "\">" +
         (shown.empty() ? Esc(verdict) : shown) + "</td>";
}

class Page {
 public:
  void Raw(const std::string& s) { out_ += s; }
  void H2(const std::string& id, const std::string& title) {
    out_ += "<section id=\"" + id + "\"><h2>" + title + "</h2>\n";
  }
  void EndSection() { out_ += "</section>\n"; }
  void H3(const std::string& title) { out_ += "<h3>" + title + "</h3>\n"; }
  void Para(const std::string& html) { out_ += "<p>" + html + "</p>\n"; }
  // `head`: column titles (HTML); the first column is left-aligned text.
  void Table(const std::vector<std::string>& head, const std::string& cls = {}) {
    out_ += cls.empty() ? "<table><thead><tr>" : "<table class=\"" + cls + "\"><thead><tr>";
    for (size_t i = 0; i < head.size(); ++i) {
      out_ += i == 0 ? "<th class=\"t\">" : "<th>";
      out_ += head[i] + "</th>";
    }
    out_ += "</tr></thead><tbody>\n";
    columns_ = head.size();
    rows_ = 0;
  }
  // Cells are HTML; the first is left-aligned. A cell starting with "<td" is taken as is.
  void Row(const std::vector<std::string>& cells) {
    ++rows_;
    out_ += "<tr>";
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i].compare(0, 3, "<td") == 0) out_ += cells[i];
      else out_ += (i == 0 ? "<td class=\"t\">" : "<td>") + cells[i] + "</td>";
    }
    out_ += "</tr>\n";
  }
  void EndTable() {
    if (rows_ == 0) {
      out_ += "<tr><td class=\"t\" colspan=\"" + std::to_string(columns_) + "\">none</td></tr>\n";
    }
    out_ += "</tbody></table>\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  size_t columns_ = 0, rows_ = 0;
};

void Summary(const json& r, Page* page) {
  const json& perf = r["performance"];
  page->H2("summary", "Summary");
  page->Table({"Figure", "Value"});
  page->Row({"Exams", Esc(r["usage"]["exams"])});
  page->Row({"Model versions in use", Esc(json(r["model_versions"].size()))});
  page->Row({"Exams with an outcome",
             Esc(perf["outcomes"]["count"]) + " (" + Pct(perf["outcomes"]["share"]) + ")"});
  page->Row({"Accuracy against outcomes [95&nbsp;% CI]",
             perf["real"].is_object()
                 ? Num(perf["real"]["accuracy"], 3) + " " + Interval(perf["real"]["accuracy_ci"])
                 : "&ndash; (no outcomes)"});
  page->Row({"Estimated accuracy, label-free [95&nbsp;% CI]",
             perf["estimated"].is_object() ? Num(perf["estimated"]["accuracy"], 3) + " " +
                                                 Interval(perf["estimated"]["accuracy_ci"])
                                           : "&ndash;"});
  page->Row({"Out-of-distribution rate", Pct(r["data_quality"]["ood"]["rate"])});
  page->Row({"Client/server disagreements", Esc(r["client_server_disagreement"]["count"])});
  page->Row(
      {"Worst drift verdict (whole period and each week)", VerdictCell(r["drift"]["verdict"])});
  page->EndTable();
}

void Usage(const json& r, Page* page) {
  const json& u = r["usage"];
  page->H2("usage", "1. Usage");
  page->Para(Esc(u["note"]) + " Exams are counted on the UTC day of their exam time.");
  page->H3("By month");
  page->Table({"Month", "From", "To", "Exams"});
  for (const json& m : u["by_month"]) {
    page->Row({Esc(m["month"]), Esc(m["start"]), Esc(m["end"]), Esc(m["exams"])});
  }
  page->EndTable();
  page->H3("By submitter role");
  page->Table({"Role", "Submitters", "Exams"});
  for (const json& x : u["by_role"]) {
    page->Row({Esc(x["role"]), Esc(x["submitters"]), Esc(x["exams"])});
  }
  page->EndTable();
  page->H3("By submitter");
  page->Table({"Submitter", "Role", "Exams"});
  for (const json& x : u["by_submitter"]) {
    page->Row({Esc(x["name"]), Esc(x["role"]), Esc(x["exams"])});
  }
  page->EndTable();
  page->H3("By week (seven-day windows from the first day)");
  page->Table({"From", "To", "Exams"});
  for (const json& w : u["by_week"]) page->Row({Esc(w["start"]), Esc(w["end"]), Esc(w["exams"])});
  page->EndTable();
  page->EndSection();
}

void Models(const json& r, Page* page) {
  page->H2("models", "2. Model versions in use");
  page->Table({"Version", "Bundle SHA-256", "Registered", "Active now", "Exams", "Share",
               "First exam day", "Last exam day", "Monitoring reference"});
  for (const json& m : r["model_versions"]) {
    page->Row({Esc(m["model_version"]), "<code>" + Esc(m["sha256"]) + "</code>",
               Esc(m["registered"]), Esc(m["active_now"]), Esc(m["exams"]), Pct(m["share"]),
               Esc(m["first_exam_day"]), Esc(m["last_exam_day"]), Esc(m["reference_available"])});
  }
  page->EndTable();
  page->EndSection();
}

void Quality(const json& r, Page* page) {
  const json& q = r["data_quality"];
  page->H2("quality", "3. Data quality");
  page->Table({"Signal", "Value"});
  page->Row({"Exams with a validator warning", Pct(q["warning_share"])});
  page->Row({"Exams with a feature outside the training range", Pct(q["out_of_range_share"])});
  page->Row(
      {"Out-of-distribution rate (alert above " + Pct(r["thresholds"]["ood_rate_alert"]) + ")",
       Pct(q["ood"]["rate"])});
  page->Row({"Mean OOD distance", Num(q["ood"]["mean_distance"], 3)});
  page->Row({"FIGO rule disagreement", Pct(q["figo_disagreement_rate"])});
  page->EndTable();
  page->H3("By week");
  page->Table({"From", "To", "Exams", "Warnings", "Out of range", "OOD rate"});
  for (const json& w : q["by_week"]) {
    page->Row({Esc(w["start"]), Esc(w["end"]), Esc(w["exams"]), Pct(w["warning_share"]),
               Pct(w["out_of_range_share"]), Pct(w["ood_rate"])});
  }
  page->EndTable();
  page->EndSection();
}

void Drift(const json& r, Page* page) {
  const json& t = r["thresholds"];
  page->H2("drift", "4. Drift against the training reference");
  page->Para(
      "Each model version is compared with the monitoring reference in its own bundle. A "
      "feature warns at PSI &ge; " +
      Esc(t["psi_warn"]) + " with p &lt; " + Esc(t["feature_p_warn"]) + " and alerts at PSI &ge; " +
      Esc(t["psi_alert"]) + " or Jensen&ndash;Shannon &ge; " + Esc(t["js_alert"]) +
      " with p &lt; " + Esc(t["feature_p_alert"]) +
      "; the predicted class mix alerts at chi-square p &lt; " + Esc(t["chi2_p_alert"]) +
      ". Below " + Esc(t["min_drift_exams"]) + " exams a window's verdicts stay ok.");
  for (const json& v : r["drift"]["by_model_version"]) {
    page->H3("Model version " + Esc(v["model_version"]));
    if (!v["reference_available"].get<bool>()) {
      page->Para("This version's bundle has no monitoring reference: no drift figures.");
      continue;
    }
    const json& d = v["period"];
    page->Para("Whole period: " + Esc(d["exams"]) + " exams, verdict <b>" + Esc(d["verdict"]) +
               "</b>; predicted class mix chi-square " + Num(d["prediction"]["chi2"], 2) + ", p " +
               P(d["prediction"]["p_value"]) + " (" + Esc(d["prediction"]["verdict"]) + ").");
    page->Table({"Feature", "PSI", "Jensen&ndash;Shannon", "p", "Verdict"});
    for (const json& f : d["features"]) {
      page->Row({Esc(f["key"]), Num(f["psi"], 3), Num(f["js"], 4), P(f["p_value"]),
                 VerdictCell(f["verdict"])});
    }
    page->EndTable();
    page->Para("Verdicts per week (o ok, W warn, A alert):");
    std::vector<std::string> heads = {"Week from", "Exams", "Overall", "Class mix"};
    for (const json& f : d["features"]) heads.push_back(Esc(f["key"]));
    page->Table(heads, "grid");
    for (const json& w : v["by_week"]) {
      std::vector<std::string> cells = {Esc(w["start"]), Esc(w["exams"])};
      for (const json* verdict : {&w["verdict"], &w["prediction_verdict"]}) {
        cells.push_back(VerdictCell(*verdict));
      }
      for (const json& f : d["features"]) {
        const json& verdict = w["features"][f["key"].get<std::string>()];
        cells.push_back(VerdictCell(verdict, verdict == "alert"  ? "A"
                                             : verdict == "warn" ? "W"
                                                                 : "o"));
      }
      page->Row(cells);
    }
    page->EndTable();
  }
  page->EndSection();
}

void Disagreement(const json& r, Page* page) {
  const json& d = r["client_server_disagreement"];
  page->H2("disagreement", "5. Client/server disagreement");
  page->Para(
      "Exams whose result in the browser differed from the server's re-evaluation with the same "
      "model version: " +
      Esc(d["count"]) + " (alert at " + Esc(r["thresholds"]["disagreement_alert"]) + ").");
  page->Table({"Model version", "Disagreements"});
  for (const json& x : d["by_model_version"]) {
    page->Row({Esc(x["model_version"]), Esc(x["count"])});
  }
  page->EndTable();
  page->Table({"Browser runtime build", "Disagreements"});
  for (const json& x : d["by_runtime_build"]) {
    page->Row({x["runtime_build"].is_null() ? "(not sent)"
                                            : "<code>" + Esc(x["runtime_build"]) + "</code>",
               Esc(x["count"])});
  }
  page->EndTable();
  page->H3("By week");
  page->Table({"From", "To", "Exams", "Disagreements"});
  for (const json& w : d["by_week"]) {
    page->Row({Esc(w["start"]), Esc(w["end"]), Esc(w["exams"]), Esc(w["count"])});
  }
  page->EndTable();
  page->EndSection();
}

void PerformanceRows(const json& label, const json& exams, const json& outcomes, const json& real,
                     const json& estimated, Page* page) {
  std::vector<std::string> cells = {Esc(label), Esc(exams), Esc(outcomes["count"]),
                                    Pct(outcomes["share"])};
  cells.push_back(real.is_object() ? Num(real["accuracy"], 3) + " " + Interval(real["accuracy_ci"])
                                   : "&ndash;");
  cells.push_back(real.is_object() ? Num(real["macro_f1"], 3) : "&ndash;");
  cells.push_back(estimated.is_object()
                      ? Num(estimated["accuracy"], 3) + " " + Interval(estimated["accuracy_ci"])
                      : "&ndash;");
  page->Row(cells);
}

void Performance(const json& r, Page* page) {
  const json& p = r["performance"];
  const json& real = p["real"];
  const json& est = p["estimated"];
  page->H2("performance", "6. Performance");
  page->Para(
      "Real performance is measured on the exams that have an outcome (the clinician's final "
      "CTG reading), against the server's class. The label-free estimate (CBPE) uses the "
      "calibrated probabilities of all exams and needs no outcome. Intervals are 95&nbsp;%.");
  page->Para("Outcome coverage: " + Esc(p["outcomes"]["count"]) + " of " +
             Esc(r["usage"]["exams"]) + " exams (" + Pct(p["outcomes"]["share"]) + ").");
  page->Table({"Figure", "Real (with outcomes)", "Estimated (label-free)"});
  page->Row({"Accuracy", real.is_object() ? Num(real["accuracy"], 3) : "&ndash;",
             est.is_object() ? Num(est["accuracy"], 3) : "&ndash;"});
  page->Row({"Accuracy 95&nbsp;% interval",
             real.is_object() ? Interval(real["accuracy_ci"]) : "&ndash;",
             est.is_object() ? Interval(est["accuracy_ci"]) : "&ndash;"});
  page->Row({"Macro-F1", real.is_object() ? Num(real["macro_f1"], 3) : "&ndash;", "&ndash;"});
  for (int k = 0; k < kNumClasses; ++k) {
    page->Row({"Recall " + std::string(kClassNames[k]),
               real.is_object() ? Num(real["recall"][k], 3) : "&ndash;",
               est.is_object() ? Num(est["recall"][k], 3) : "&ndash;"});
  }
  page->Row({"Expected calibration error", real.is_object() ? Num(real["ece"], 3) : "&ndash;",
             "&ndash;"});
  page->EndTable();
  if (real.is_object()) {
    page->H3("Confusion matrix (rows: final reading; columns: the model's class)");
    std::vector<std::string> heads = {"Final reading"};
    for (auto name : kClassNames) heads.push_back(std::string(name));
    page->Table(heads);
    for (int t = 0; t < kNumClasses; ++t) {
      std::vector<std::string> cells = {std::string(kClassNames[t])};
      for (int k = 0; k < kNumClasses; ++k) cells.push_back(Esc(real["confusion"][t][k]));
      page->Row(cells);
    }
    page->EndTable();
  }
  const std::vector<std::string> heads = {"",
                                          "Exams",
                                          "Outcomes",
                                          "Coverage",
                                          "Accuracy [95&nbsp;% CI]",
                                          "Macro-F1",
                                          "Estimated accuracy [95&nbsp;% CI]"};
  page->H3("By month");
  std::vector<std::string> month_heads = heads;
  month_heads[0] = "Month";
  page->Table(month_heads);
  for (const json& m : p["by_month"]) {
    PerformanceRows(m["month"], m["exams"], m["outcomes"], m["real"], m["estimated"], page);
  }
  page->EndTable();
  page->H3("By model version");
  std::vector<std::string> version_heads = heads;
  version_heads[0] = "Version";
  page->Table(version_heads);
  for (const json& v : p["by_model_version"]) {
    PerformanceRows(v["model_version"], v["exams"], v["outcomes"], v["real"], v["estimated"], page);
  }
  page->EndTable();
  page->EndSection();
}

void Audit(const json& r, Page* page) {
  const json& a = r["audit"];
  page->H2("audit", "7. Audit chain and signature");
  page->Table({"Item", "Value"}, "kv");
  page->Row({"Audit chain head: event", Esc(a["head"]["seq"])});
  page->Row({"Head hash", "<code>" + Esc(a["head"]["hash"]) + "</code>"});
  page->Row({"Head time (the report's as-of time)", Esc(a["head"]["time"])});
  const json& cp = a["latest_checkpoint"];
  if (cp.is_object()) {
    page->Row({"Latest signed checkpoint",
               "#" + Esc(cp["id"]) + " at event " + Esc(cp["seq"]) + ", " + Esc(cp["time"])});
    page->Row({"Checkpoint hash", "<code>" + Esc(cp["hash"]) + "</code>"});
  } else {
    page->Row({"Latest signed checkpoint", "none stored"});
  }
  page->Row({"Signing key id", "<code>" + Esc(r["signing"]["key_id"]) + "</code>"});
  page->Row({"Signature", Esc(r["signing"]["algorithm"])});
  page->EndTable();
  page->Para(
      "Verify this report, its JSON and the exported records with the server's audit public key "
      "(<code>fetal-server audit-key</code>): <code>fetal-audit post-market-check DIR --pubkey "
      "audit-public.pem</code>.");
  page->EndSection();
}

}  // namespace

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderHtml(const json& r) {
  const std::string period = Esc(r["period"]["from"]) + " to " + Esc(r["period"]["to"]);
  Page page;
  page.Raw(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
      "Post-market surveillance report, " +
      period + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<header>\n");
  page.Raw(
      "<h1>Post-market surveillance report</h1>\n<p class=\"meta\">Fetal Health CTG "
      "classifier &middot; exams of " +
      period + " (" + Esc(r["period"]["days"]) + " days, UTC) &middot; as of the audit head " +
      Esc(r["as_of"]) + "</p>\n<p class=\"meta\">Format " + Esc(r["format"]) +
      " &middot; signed with key <code>" + Esc(r["signing"]["key_id"]) +
      "</code></p>\n"
      "</header>\n");
  Summary(r, &page);
  page.EndSection();
  Usage(r, &page);
  Models(r, &page);
  Quality(r, &page);
  Drift(r, &page);
  Disagreement(r, &page);
  Performance(r, &page);
  Audit(r, &page);
  page.Raw("</body>\n</html>\n");
  return page.Take();
}

}  // namespace post_market
}  // namespace fetal
