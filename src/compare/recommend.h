// Relative energy (to fp32 BERT-base, the guide's baseline) and the
// recommendation: per task, the least energy per inference that meets the
// latency target and the energy budget.
#pragma once

#include <string>
#include <vector>

#include "compare/compare.h"

namespace ecoinfer::compare {

// Sets report.baseline and each available result's relative_energy. The
// baseline is fp32 BERT-base when measured, else the first available fp32
// result (named in report.baseline).
void set_relative_energy(CompareReport& report);

// One line per task with alternatives (text encoding, image classification):
// the pick, or why none fits. PaddleOCR's stages are not alternatives to
// each other, so they get no pick.
std::vector<std::string> recommend(const CompareReport& report);

}  // namespace ecoinfer::compare
