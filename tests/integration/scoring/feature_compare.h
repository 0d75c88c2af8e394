#pragma once
// Field-by-field comparison of two feature sets (SQL vs the C++ reference), with a tolerance
// for the floating-point ones (sums in a different order).
#include <gtest/gtest.h>

#include <string>

#include "fluxwatch/scoring/features.h"

namespace fluxwatch::testing {

/// Success, or a failure naming every differing field.
[[nodiscard]] ::testing::AssertionResult same_features(const scoring::Features& sql,
                                                       const scoring::Features& reference);

}  // namespace fluxwatch::testing
