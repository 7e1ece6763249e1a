// Forwarding header for test files written before the fixtures moved to tests/common/: include
// "tests/common/fixtures.h" (or the one part you need) in new files instead.
#pragma once

#include "tests/common/backend.h"
#include "tests/common/compare.h"
#include "tests/common/tensor.h"
