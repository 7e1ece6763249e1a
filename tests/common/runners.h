// Shared test fixtures: one runner per op, on either backend. Each uploads its inputs to the
// target's memory, poisons its output (NaN, or a garbage index), runs the op through the public C
// API, and downloads the output. A failing status is a test failure, and the poisoned output (or,
// where the output shape itself was refused, an empty tensor) comes back, so later comparisons
// fail too.
#pragma once

#include <gtest/gtest.h>

#include "tests/common/backend.h"
#include "tests/common/compare.h"
#include "tests/common/geometry.h"
#include "tests/common/tensor.h"
#include "upsample/upsample.h"

namespace upsample::test {

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
inline HostTensor unpool_forward(Target r, const upsUnpoolDesc_t& desc, const HostTensor& x) {
  upsTensorDesc_t y_desc{};
  upsStatus_t status = upsUnpoolOutputDesc(&desc, &x.desc, &y_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return HostTensor();
  HostTensor y(y_desc);
  y.poison();
  Buffer bx(r.backend, x), by(r.backend, y);
  status = upsUnpoolForward(r.handle, &desc, &x.desc, bx.get(), &y_desc, by.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&y);
  return y;
}

inline HostTensor unpool_backward(Target r, const upsUnpoolDesc_t& desc, const HostTensor& dy,
                                  const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bdx(r.backend, dx);
  const upsStatus_t status = upsUnpoolBackward(r.handle, &desc, &dy.desc, bdy.get(), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Max-pooling
// ---------------------------------------------------------------------------------------------
struct Pooled {
  HostTensor y, indices;
};

// switches: the indices' dtype (I64, what upsMaxPoolOutputDesc gives, or I32).
inline Pooled max_pool_forward(Target r, const upsPoolDesc_t& desc, const HostTensor& x,
                               upsDataType_t switches = UPS_DTYPE_I64) {
  upsTensorDesc_t y_desc{}, i_desc{};
  upsStatus_t status = upsMaxPoolOutputDesc(&desc, &x.desc, &y_desc, &i_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return {};
  i_desc.dtype = switches;
  Pooled out{HostTensor(y_desc), HostTensor(i_desc)};
  out.y.poison();
  out.indices.poison();
  Buffer bx(r.backend, x), by(r.backend, out.y), bi(r.backend, out.indices);
  status = upsMaxPoolForward(r.handle, &desc, &x.desc, bx.get(), &y_desc, by.get(), &i_desc, bi.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&out.y);
  bi.download(&out.indices);
  return out;
}

inline HostTensor max_pool_backward(Target r, const upsPoolDesc_t& desc, const HostTensor& dy,
                                    const HostTensor& indices, const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bi(r.backend, indices), bdx(r.backend, dx);
  const upsStatus_t status =
      upsMaxPoolBackward(r.handle, &desc, &dy.desc, bdy.get(), &indices.desc, bi.get(), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Max-unpooling
// ---------------------------------------------------------------------------------------------
// output_size: nullptr for the default extents, else one explicit extent per spatial axis.
inline HostTensor max_unpool_forward(Target r, const upsPoolDesc_t& desc, const HostTensor& x,
                                     const HostTensor& indices, const int64_t* output_size = nullptr) {
  upsTensorDesc_t y_desc{};
  upsStatus_t status = upsMaxUnpoolOutputDesc(&desc, &x.desc, output_size, &y_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return HostTensor();
  HostTensor y(y_desc);
  y.poison();
  Buffer bx(r.backend, x), bi(r.backend, indices), by(r.backend, y);
  status = upsMaxUnpoolForward(r.handle, &desc, &x.desc, bx.get(), &indices.desc, bi.get(), &y_desc, by.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&y);
  return y;
}

inline HostTensor max_unpool_backward(Target r, const upsPoolDesc_t& desc, const HostTensor& dy,
                                      const HostTensor& indices, const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bi(r.backend, indices), bdx(r.backend, dx);
  const upsStatus_t status =
      upsMaxUnpoolBackward(r.handle, &desc, &dy.desc, bdy.get(), &indices.desc, bi.get(), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
inline HostTensor conv_forward(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& x, const HostTensor& w,
                               const HostTensor* bias = nullptr) {
  upsTensorDesc_t y_desc{};
  upsStatus_t status = upsConvTransposeOutputDesc(&conv, &x.desc, &w.desc, &y_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return HostTensor();
  HostTensor y(y_desc);
  y.poison();
  Buffer bx(r.backend, x), bw(r.backend, w), by(r.backend, y);
  Buffer bb(r.backend, bias != nullptr ? bias->bytes.size() : 0);
  if (bias != nullptr) bb.upload(*bias);
  status = upsConvTransposeForward(r.handle, &conv, &x.desc, bx.get(), &w.desc, bw.get(),
                                   bias != nullptr ? bb.get() : nullptr, &y_desc, by.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&y);
  return y;
}

inline HostTensor conv_backward_data(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& dy,
                                     const HostTensor& w, const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bw(r.backend, w), bdx(r.backend, dx);
  const upsStatus_t status =
      upsConvTransposeBackwardData(r.handle, &conv, &dy.desc, bdy.get(), &w.desc, bw.get(), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

inline HostTensor conv_backward_weight(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& x,
                                       const HostTensor& dy, const upsTensorDesc_t& dw_desc) {
  HostTensor dw(dw_desc);
  dw.poison();
  Buffer bx(r.backend, x), bdy(r.backend, dy), bdw(r.backend, dw);
  const upsStatus_t status =
      upsConvTransposeBackwardWeight(r.handle, &conv, &x.desc, bx.get(), &dy.desc, bdy.get(), &dw_desc, bdw.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdw.download(&dw);
  return dw;
}

inline HostTensor conv_backward_bias(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& dy) {
  HostTensor db(bias_desc(dy.desc.dtype, dy.desc.c));
  db.poison();
  Buffer bdy(r.backend, dy), bdb(r.backend, db);
  const upsStatus_t status = upsConvTransposeBackwardBias(r.handle, &conv, &dy.desc, bdy.get(), bdb.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdb.download(&db);
  return db;
}

}  // namespace upsample::test
