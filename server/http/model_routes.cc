// GET /models, /models/active, /models/{v}, /models/{v}/signature; POST /models,
// POST /models/{v}/activate, the latter through the activation gates (docs/api.md,
// docs/model-changes.md).
#include <httplib.h>

#include <algorithm>

#include "api_json.h"
#include "fetal/bundle.h"
#include "fetal/sha256.h"
#include "http/activation_gate_check.h"
#include "http/etag.h"
#include "http/model_access.h"
#include "http/query.h"
#include "http/responses.h"
#include "http/router.h"
#include "text/excerpt.h"
#include "text/storable.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

// The ETag is the bundle's own content hash (the SHA-256 it carries, docs/bundle-format.md): the
// hash the web app and `fetal-model inspect` show for a model. X-Model-Sha256 is the hash of the
// whole file, which the registry and the signature cover.
std::string ModelEtag(const storage::ModelRecord& m) {
  return "\"" +
         fetal::BundleContentHash(reinterpret_cast<const uint8_t*>(m.bundle.data()),
                                  m.bundle.size()) +
         "\"";
}

// Headers, then 304 when the client has these bytes already, else the bytes.
void SendBundle(const httplib::Request& req, httplib::Response& res, const storage::ModelRecord& m,
                const char* cache_control) {
  const std::string etag = ModelEtag(m);
  res.set_header("ETag", etag);
  res.set_header("X-Model-Version", std::to_string(m.version));
  res.set_header("X-Model-Sha256", m.sha256);
  if (!m.signature.empty()) res.set_header("X-Model-Signature", m.signature);
  res.set_header("Cache-Control", cache_control);
  if (EtagMatches(req.get_header_value("If-None-Match"), etag)) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(m.bundle, "application/octet-stream");
}

void ListModels(const Services& svc, const httplib::Request&, httplib::Response& res,
                const Caller&) {
  std::vector<storage::ModelRecord> models;
  StoreStatus s = svc.store->ListModels(&models);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  json out = json::array();
  json active = nullptr;
  for (const auto& m : models) {
    out.push_back(ModelRecordToJson(m));
    if (m.active) active = m.version;
  }
  SendJson(res, 200, json{{"models", std::move(out)}, {"active_version", active}});
}

void GetActiveModel(const Services& svc, const httplib::Request& req, httplib::Response& res,
                    const Caller&) {
  std::shared_ptr<const storage::ModelRecord> model;
  StoreStatus s = svc.registry->Active(&model);
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no model is active");
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  // Browsers must revalidate every time: the active version changes without the URL changing.
  SendBundle(req, res, *model, "no-cache");
}

// Reads the model version named in the path; on failure answers 404 (or the store's error) and
// returns false.
bool FindModelVersion(const Services& svc, const httplib::Request& req, httplib::Response& res,
                      storage::ModelRecord* model) {
  int64_t version;
  StoreStatus s = ParseId(req.matches[1], &version) ? svc.store->GetModel(version, model)
                                                    : StoreStatus::NotFound("no such version");
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no model version " + std::string(req.matches[1]));
    return false;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return false;
  }
  return true;
}

void GetModel(const Services& svc, const httplib::Request& req, httplib::Response& res,
              const Caller&) {
  storage::ModelRecord model;
  if (!FindModelVersion(svc, req, res, &model)) return;
  // A version's bytes never change once registered.
  SendBundle(req, res, model, "public, max-age=31536000, immutable");
}

void GetModelSignature(const Services& svc, const httplib::Request& req, httplib::Response& res,
                       const Caller&) {
  storage::ModelRecord model;
  if (!FindModelVersion(svc, req, res, &model)) return;
  if (model.signature.empty()) {
    SendError(res, 404, "not_found",
              "model version " + std::to_string(model.version) +
                  " was registered without a signature");
    return;
  }
  SendJson(res, 200,
           json{{"version", model.version},
                {"sha256", model.sha256},
                {"signature", model.signature},
                {"algorithm", "ECDSA P-256 with SHA-256 over the bundle bytes"},
                {"encoding",
                 "base64 of the 64-byte IEEE P1363 form (r || s), as WebCrypto verify takes"}});
}

void UploadModel(const Services& svc, const httplib::Request& req, httplib::Response& res,
                 const Caller& caller) {
  bool activate = false;
  if (req.has_param("activate")) {
    const std::string a = req.get_param_value("activate");
    if (a != "true" && a != "false") {
      SendError(res, 400, "invalid_parameter",
                "query parameter activate must be true or false, got \"" + text::Excerpt(a) + "\"",
                "activate");
      return;
    }
    activate = a == "true";
  }
  std::string signature = req.get_header_value("X-Model-Signature");
  while (!signature.empty() &&
         (signature.back() == ' ' || signature.back() == '\n' || signature.back() == '\r')) {
    signature.pop_back();
  }
  const std::string sha256 = Sha256Hex(req.body.data(), req.body.size());
  auto refuse = [&](const UploadRefusal& why) {
    // Refused uploads are security-relevant; record them (best effort: the refusal stands anyway).
    storage::AuditEvent ignored;
    // The loader's message may quote the bundle: kept storable and short.
    svc.store->AppendAudit(storage::AuditEntry{caller.actor(), "model.upload", "", "refused",
                                               why.code + ": " +
                                                   text::StorableCopy(
                                                       text::Excerpt(why.message, 300)) +
                                                   " (sha256=" + sha256 + ")"},
                           &ignored);
    SendError(res, why.http_status, why.code, why.message, why.field);
  };
  std::unique_ptr<Classifier> classifier;
  UploadRefusal why;
  if (!svc.registry->CheckUpload(req.body, signature, &classifier, &why)) {
    refuse(why);
    return;
  }
  const Model& model = classifier->model();
  std::vector<storage::ModelRecord> existing;
  StoreStatus s = svc.store->ListModels(&existing);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  int64_t newest = 0;
  for (const auto& m : existing) newest = std::max(newest, m.version);
  // Activating on upload passes the same gates as activating later (a new version has no
  // shadow record yet, so under an enforced policy only the first model can be).
  storage::ActivationNote note;
  if (activate && model.model_version > newest &&
      !CheckActivationGates(svc, res, caller, model.model_version, std::nullopt, &note)) {
    return;
  }
  if (model.model_version <= newest) {
    refuse(UploadRefusal{409, "version_not_newer",
                         "the bundle says model_version " + std::to_string(model.model_version) +
                             " but the registry already holds version " + std::to_string(newest) +
                             "; an upload needs a higher version (roll back with POST "
                             "/api/v1/models/{version}/activate)",
                         "model_version"});
    return;
  }
  storage::ModelInput input;
  input.version = model.model_version;
  input.bundle = req.body;
  input.signature = signature;
  input.sha256 = sha256;
  input.metadata_json = Dump(ModelMetadata(model, req.body.size()));
  storage::ModelRecord record;
  s = svc.store->PutModel(input, caller.actor(), &record);
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "version_exists", s.message(), "model_version");
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (activate) {
    s = svc.store->ActivateModel(record.version, caller.actor(), note);
    if (!s.ok()) {
      SendStoreError(res, s);
      return;
    }
    svc.registry->InvalidateActive();
    record.active = true;
  }
  res.set_header("Location", "/api/v1/models/" + std::to_string(record.version));
  SendJson(res, 201, ModelRecordToJson(record));
}

void ActivateModel(const Services& svc, const httplib::Request& req, httplib::Response& res,
                   const Caller& caller) {
  int64_t version;
  if (!PathId(req, res, "model version", &version)) return;
  std::optional<std::string> override_reason;
  if (!ParseActivationBody(req, res, &override_reason)) return;
  // Never activate a version this server could not classify with, nor one whose stored bytes
  // do not verify now (read from the database, not the cache).
  ModelVersion loaded;
  if (!ReloadModelVersion(svc, res, version, &loaded)) return;
  storage::ActivationNote note;
  if (!CheckActivationGates(svc, res, caller, version, override_reason, &note)) return;
  StoreStatus s = svc.store->ActivateModel(version, caller.actor(), note);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  svc.registry->InvalidateActive();
  svc.shadow->Refresh();  // the version left the shadow set if it was in it
  storage::ModelRecord record;
  s = svc.store->GetModel(version, &record);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  record.active = true;
  // The gates as evaluated, so the admin sees every value the activation passed (or overrode).
  json body = ModelRecordToJson(record);
  json activation = json::parse(note.details, nullptr, false);
  if (activation.is_object()) {
    activation["outcome"] = note.outcome;
    body["activation"] = std::move(activation);
  }
  SendJson(res, 200, body);
}

}  // namespace

void AddModelRoutes(Router* router) {
  const RoleSet kAdmin = Roles(Role::kAdmin);
  router->Get("/api/v1/models", "/api/v1/models", kPublic, ListModels);
  router->Get("/api/v1/models/active", "/api/v1/models/active", kPublic, GetActiveModel);
  router->Get(R"(/api/v1/models/(\d+))", "/api/v1/models/{version}", kPublic, GetModel);
  router->Get(R"(/api/v1/models/(\d+)/signature)", "/api/v1/models/{version}/signature", kPublic,
              GetModelSignature);
  router->Post("/api/v1/models", "/api/v1/models", kAdmin, UploadModel,
               {{"activate"}, router->config().max_model_body, "application/octet-stream"});
  router->Post(R"(/api/v1/models/(\d+)/activate)", "/api/v1/models/{version}/activate", kAdmin,
               ActivateModel, {{}, 8192, "application/json"});
}

}  // namespace server
}  // namespace fetal
