// Calibration: from a booster's margins to probabilities, fit on out-of-fold margins by minimising
// the mean log loss (docs/training.md).
//
//   temperature     p = softmax(margin / T)                       1 parameter
//   vector scaling  p = softmax(scale_c * margin_c + bias_c)      5 parameters (bias_Normal = 0)
//
// Temperature never changes the predicted class; vector scaling can (its biases shift the class
// priors the class weights moved). Both are convex in their parameters. The model core applies
// only a temperature, so a vector scaling is folded into the trees (ApplyCalibration).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "fetal/model.h"

namespace fetal {
namespace trainer {

enum class Calibrator { kTemperature, kVectorScaling };

// "temperature" / "vector"; Parse returns false for anything else.
const char* CalibratorName(Calibrator calibrator);
bool ParseCalibrator(const std::string& name, Calibrator* out);

struct Calibration {
  Calibrator kind = Calibrator::kTemperature;
  std::array<double, kNumClasses> scale = {1, 1, 1};  // a temperature T is scale 1/T everywhere
  std::array<double, kNumClasses> bias = {0, 0, 0};
  double temperature() const { return 1 / scale[0]; }
};

// The scalar T > 0 minimizing the mean log loss of softmax(margin / T): golden-section search on
// log T over [1/20, 20] (the loss is unimodal there: convex in 1/T). n > 0.
double FitTemperature(const float* margins, const int* labels, size_t n);

// Fits `kind` on the rows `subset` (positions into margins / labels; every row if empty).
Calibration FitCalibration(Calibrator kind, const float* margins, const int* labels, size_t n,
                           const std::vector<size_t>& subset = {});

// probabilities[n * kNumClasses] of margins[n * kNumClasses].
void Calibrate(const Calibration& calibration, const float* margins, size_t n,
               float* probabilities);

// Cross-fitted calibrated probabilities: row i (in fold fold[i] of 0..folds-1) is calibrated by a
// calibration fit on the rows of the other folds, so a calibrator's extra parameters cannot
// flatter its own score.
void CrossFittedProbabilities(Calibrator kind, const float* margins, const int* labels, size_t n,
                              const std::vector<int>& fold, int folds, float* probabilities);

// Puts `calibration` into a model imported from the booster whose margins it was fit on: a
// temperature becomes model->temperature; a vector scaling multiplies the leaves and base score
// of class c by scale_c, adds bias_c to the base score and sets the temperature to 1.
void ApplyCalibration(const Calibration& calibration, Model* model);

}  // namespace trainer
}  // namespace fetal
