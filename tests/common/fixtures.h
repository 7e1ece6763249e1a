// The shared test fixtures, in one include: host tensors and seeds (tensor.h), comparisons and
// mismatch reports (compare.h), buffers, handles and the GPU skip (backend.h), problem
// geometries and descriptors (geometry.h), one runner per op on either backend (runners.h), and
// the bad-input table runner (bad_input.h).
#pragma once

#include "tests/common/backend.h"
#include "tests/common/bad_input.h"
#include "tests/common/cases.h"
#include "tests/common/compare.h"
#include "tests/common/geometry.h"
#include "tests/common/runners.h"
#include "tests/common/tensor.h"
