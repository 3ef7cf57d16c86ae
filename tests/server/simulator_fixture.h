// SimulatorFixture: the ServerFixture plus a model trained on the dataset with its monitoring
// reference, and runs of the drift simulator (tools/drift-simulator) against the server. The
// test binary defines FETAL_DRIFT_SIM_BIN and links fetal_trainer.
#pragma once

#include <functional>
#include <string>

#include "fetal/trainer/trainer.h"
#include "server_fixture.h"

namespace fetal {
namespace testing_support {

class SimulatorFixture : public ServerFixture {
 protected:
  // A model the trainer fits on the dataset (few rounds, no recipe search), with its monitoring
  // reference, as model_version `version`. `mutate`, when given, changes the training rows first
  // (a deliberately worse challenger).
  Model TrainedModel(int64_t version, int rounds = 30,
                     const std::function<void(trainer::Dataset*)>& mutate = nullptr) {
    trainer::Dataset data;
    Model m;
    EXPECT_TRUE(
        trainer::LoadDataset(std::string(FETAL_SOURCE_DIR) + "/model/data/fetal_health.csv", &data)
            .ok());
    if (mutate) mutate(&data);
    trainer::TrainParams params;
    params.rounds = rounds;
    params.inner_folds = 3;
    trainer::SearchSpace space;
    EXPECT_TRUE(trainer::SearchSpace::Named("fixed", params, &space));
    EXPECT_TRUE(
        trainer::TrainModel(data, space, params, "2026-01-01T00:00:00Z", nullptr, &m, nullptr)
            .ok());
    m.model_version = version;
    EXPECT_FALSE(m.monitoring_section.empty());
    return m;
  }

  // Registers `bytes` (signed with the fixture's key), activating it when asked.
  void Upload(const std::string& bytes, bool activate) {
    auto r = Post(std::string("/api/v1/models") + (activate ? "?activate=true" : ""), admin_, bytes,
                  "application/octet-stream", {{"X-Model-Signature", Sign(keys_, bytes)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  // Registers and activates version 2, trained by TrainedModel; writes it to model2.fhm for the
  // simulator. It has no shadow record, so the activation gates refuse it: activated past them
  // with a written reason, as an admin would.
  void UploadModelWithReference() {
    const std::string bytes = BundleBytes(TrainedModel(2));
    WriteFile(dir_ + "/model2.fhm", bytes);
    Upload(bytes, false);
    ActivatePastGates(2, "the reference model of a monitoring test, never evaluated in shadow");
  }

  // Activates registered `version` past the activation gates with a written reason, as an admin
  // would a version that was never evaluated in shadow.
  void ActivatePastGates(int64_t version, const std::string& reason) {
    auto r = Post("/api/v1/models/" + std::to_string(version) + "/activate", admin_,
                  json{{"override_reason", reason}}.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }

  // Runs the simulator with `options` (besides server, data, bundle, tokens) and returns its
  // summary.
  json Simulate(const std::string& options, const std::string& bundle = "model.fhm",
                int version = 1) {
    const std::string command =
        Quote(FETAL_DRIFT_SIM_BIN) +
        " --server http://127.0.0.1:" + std::to_string(server_.port()) + " --data " +
        Quote(std::string(FETAL_SOURCE_DIR) + "/model/data/fetal_health.csv") + " --bundle " +
        Quote(dir_ + "/" + bundle) + " --model-version " + std::to_string(version) +
        " --token nurse-a=" + clinician_ + " --token nurse-b=" + clinician2_ + " --auditor " +
        auditor_ + " " + options;
    int status = 0;
    const std::string out = RunCommand(command + " 2>" + Quote(dir_ + "/sim.err"), &status);
    EXPECT_EQ(status, 0) << out << ReadFileOrEmpty(dir_ + "/sim.err");
    return json::parse(out, nullptr, false);
  }
};

}  // namespace testing_support
}  // namespace fetal
